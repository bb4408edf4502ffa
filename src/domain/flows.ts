// Process flows and their connection shapes: only what connector housekeeping needs.
import { and, asc, desc, eq, gt, gte, inArray, lt, max, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import { auditEvents, connectionShapes, connectors, instances, processFlows, users } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { FOREIGN_KEY_VIOLATION, pgErrorCode, violates } from '../db/errors.js'
import { requirePermission, type Actor } from './actor.js'
import { recordEvent } from './audit.js'
import type { EndpointSpec } from './definition.js'
import { Conflict, EditConflict, Invalid, NotFound } from './errors.js'
import { claimSubmission, completeSubmission } from './connectors.js'
import type { EditForm } from './edit-form.js'
import { groupBy } from './group-by.js'
import { pageOf, type Page } from './pagination.js'
import { isId } from './ids.js'
import { LIMITS, tooLongMessage } from './limits.js'

export const FLOWS_PAGE_SIZE = 25

export interface FlowSummary {
  id: string
  name: string
  enabled: boolean
  shapeCount: number
  instanceNames: string[]
}

/** The process flows list: name, status, number of shapes and the instances they use. One query. */
export async function listFlows(db: Db, actor: Actor, query: { page: number }): Promise<Page<FlowSummary>> {
  const rows = await db.select({
    id: processFlows.id,
    name: processFlows.name,
    enabled: processFlows.enabled,
    shapeCount: sql<number>`cast(count(${connectionShapes.id}) as integer)`,
    instanceNames: sql<string[]>`coalesce(array_agg(distinct ${instances.name}) filter (where ${instances.name} is not null), '{}')`,
    total: sql<number>`cast(count(*) over () as integer)`,
  }).from(processFlows)
    .leftJoin(connectionShapes, eq(connectionShapes.processFlowId, processFlows.id))
    .leftJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .where(eq(processFlows.companyId, actor.companyId))
    .groupBy(processFlows.id)
    .orderBy(asc(sql`lower(${processFlows.name})`), asc(processFlows.id))
    .limit(FLOWS_PAGE_SIZE).offset((query.page - 1) * FLOWS_PAGE_SIZE)
  return pageOf(rows, query.page, FLOWS_PAGE_SIZE)
}

function checkFlowName(name: string) {
  const trimmed = name.trim()
  if (!trimmed) throw new Invalid({ name: 'Enter a name for the process flow.' })
  if (trimmed.length > LIMITS.processFlowName) throw new Invalid({ name: tooLongMessage(LIMITS.processFlowName) })
  return trimmed
}

function nameTaken(error: unknown, name: string): never {
  if (violates(error, 'process_flows_company_name_unique')) throw new Invalid({ name: `A process flow called "${name}" already exists.` })
  throw error
}

/** Creates a process flow, once per form submission (a double submit answers with the flow made first). */
export async function createFlow(db: Db, actor: Actor, input: { name: string; submission?: string | undefined }) {
  requirePermission(actor, 'manageInstances')
  const name = checkFlowName(input.name)
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, input.submission)
    if (earlier?.resultId) {
      const [done] = await tx.select({ id: processFlows.id, name: processFlows.name }).from(processFlows)
        .where(and(eq(processFlows.id, earlier.resultId), eq(processFlows.companyId, actor.companyId)))
      if (done) return done
    }
    const [flow] = await tx.insert(processFlows).values({ companyId: actor.companyId, name, updatedBy: actor.id })
      .returning({ id: processFlows.id }).catch((error: unknown) => nameTaken(error, name))
    await recordEvent(tx, actor, { action: 'create process flow', subjectType: 'process flow', subjectId: flow!.id, summary: `created process flow ${name}` })
    await completeSubmission(tx, actor, input.submission, flow!.id)
    return { id: flow!.id, name }
  })
}

const updater = alias(users, 'updater')

/** The flow row locked for the rest of the transaction (alone, then read with who changed it last). */
async function lockFlow(tx: Tx, actor: Actor, id: string) {
  const [locked] = await tx.select({ id: processFlows.id }).from(processFlows)
    .where(and(eq(processFlows.id, id), eq(processFlows.companyId, actor.companyId))).for('update')
  if (!locked) throw new NotFound('That process flow')
  const [flow] = await tx.select({
    id: processFlows.id, name: processFlows.name, enabled: processFlows.enabled, version: processFlows.version, updatedByName: updater.name,
  }).from(processFlows).leftJoin(updater, eq(updater.id, processFlows.updatedBy)).where(eq(processFlows.id, locked.id))
  return flow!
}

type LockedFlow = Awaited<ReturnType<typeof lockFlow>>

interface FlowChange<T> {
  /** The change, the flow locked and at the form's version. */
  change(tx: Tx, flow: LockedFlow): Promise<T>
  /** The answer to the same form submitted before, from what it recorded (`resultId`). */
  replay(tx: Tx, resultId: string | null): Promise<T>
  /** What the submission records; the flow's id by default. */
  resultId?(result: T): string
}

/**
 * A change of a process flow or its connection shapes, from a form read at `form.version`: in one
 * transaction, once per submission (a double submit answers like the first), refused with an
 * EditConflict when the flow changed since the form was shown. The flow's version goes up by one.
 */
async function changeFlow<T>(db: Db, actor: Actor, id: string, form: EditForm, how: FlowChange<T>): Promise<T> {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, form.submission)
    if (earlier) return how.replay(tx, earlier.resultId)
    const flow = await lockFlow(tx, actor, id)
    if (flow.version !== form.version) throw new EditConflict('process flow', flow.updatedByName)
    const result = await how.change(tx, flow)
    await tx.update(processFlows).set({ version: sql`${processFlows.version} + 1`, updatedBy: actor.id, updatedAt: sql`now()` })
      .where(eq(processFlows.id, id))
    await completeSubmission(tx, actor, form.submission, how.resultId?.(result) ?? id)
    return result
  })
}

const nothingToAnswer = async () => undefined

/** What a flow is now: the answer to a form submitted before. */
async function currentFlow(tx: Tx, actor: Actor, id: string) {
  const [flow] = await tx.select({ id: processFlows.id, name: processFlows.name, enabled: processFlows.enabled }).from(processFlows)
    .where(and(eq(processFlows.id, id), eq(processFlows.companyId, actor.companyId)))
  if (!flow) throw new NotFound('That process flow')
  return flow
}

/**
 * Marks process flows changed by something else than their own forms (a migration repointing their
 * connection shapes): a form shown before is then refused instead of acting on what is gone.
 */
export async function touchFlows(tx: Tx, actor: Actor, ids: string[]) {
  if (ids.length === 0) return
  await tx.update(processFlows).set({ version: sql`${processFlows.version} + 1`, updatedBy: actor.id, updatedAt: sql`now()` })
    .where(and(eq(processFlows.companyId, actor.companyId), inArray(processFlows.id, ids)))
}

export async function renameFlow(db: Db, actor: Actor, id: string, input: { name: string } & EditForm) {
  requirePermission(actor, 'manageInstances')
  const name = checkFlowName(input.name)
  return changeFlow(db, actor, id, input, {
    replay: (tx) => currentFlow(tx, actor, id),
    change: async (tx, flow) => {
      await tx.update(processFlows).set({ name }).where(eq(processFlows.id, id))
        .catch((error: unknown) => nameTaken(error, name))
      await recordEvent(tx, actor, { action: 'rename process flow', subjectType: 'process flow', subjectId: id, summary: `renamed process flow ${flow.name} to ${name}` })
      return { id, name, enabled: flow.enabled }
    },
  })
}

export async function setFlowEnabled(db: Db, actor: Actor, id: string, input: { enabled: boolean } & EditForm) {
  const { enabled } = input
  return changeFlow(db, actor, id, input, {
    replay: (tx) => currentFlow(tx, actor, id),
    change: async (tx, flow) => {
      await tx.update(processFlows).set({ enabled }).where(eq(processFlows.id, id))
      await recordEvent(tx, actor, {
        action: enabled ? 'enable process flow' : 'disable process flow', subjectType: 'process flow', subjectId: id,
        summary: `${enabled ? 'enabled' : 'disabled'} process flow ${flow.name}`,
      })
      return { id, name: flow.name, enabled }
    },
  })
}

/** Removes a process flow and its connection shapes, unless it changed since the prompt was shown. */
export async function removeFlow(db: Db, actor: Actor, id: string, form: EditForm) {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, form.submission)
    if (earlier) {
      const [there] = await tx.select({ id: processFlows.id }).from(processFlows).where(and(eq(processFlows.id, id), eq(processFlows.companyId, actor.companyId)))
      if (!there) return { removed: true as const, name: '' }
    }
    const flow = await lockFlow(tx, actor, id)
    if (flow.version !== form.version) throw new EditConflict('process flow', flow.updatedByName)
    await tx.delete(processFlows).where(eq(processFlows.id, id))
    await recordEvent(tx, actor, { action: 'remove process flow', subjectType: 'process flow', subjectId: id, summary: `removed process flow ${flow.name} and its connection shapes` })
    await completeSubmission(tx, actor, form.submission, id)
    return { removed: true as const, name: flow.name }
  })
}

export interface ShapeView {
  id: string
  position: number
  instanceId: string
  instanceName: string
  connectorId: string
  connectorName: string
  endpointKey: string
  /** Null when the connector no longer has that endpoint (e.g. after an update removed it). */
  endpoint: EndpointSpec | null
}

/** A process flow with its connection shapes in order. Two queries. */
export async function getFlow(db: Db, actor: Actor, id: string) {
  const [flow] = await db.select().from(processFlows).where(and(eq(processFlows.id, id), eq(processFlows.companyId, actor.companyId)))
  if (!flow) throw new NotFound('That process flow')
  const rows = await db.select({
    id: connectionShapes.id, position: connectionShapes.position, instanceId: instances.id, instanceName: instances.name,
    connectorId: connectors.id, connectorName: connectors.name, endpointKey: connectionShapes.endpointKey,
    endpoint: sql<EndpointSpec | null>`(select e from jsonb_array_elements(${connectors.definition}->'endpoints') e where e->>'key' = ${connectionShapes.endpointKey} limit 1)`,
  }).from(connectionShapes)
    .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .where(eq(connectionShapes.processFlowId, id))
    .orderBy(asc(connectionShapes.position))
  return { ...flow, shapes: rows as ShapeView[] }
}

export interface InstanceChoice { id: string; name: string; connectorId: string; connectorName: string }

/** Every instance of the company, grouped by connector, for the shape picker. */
export async function instanceChoices(db: Db, actor: Actor): Promise<{ connectorName: string; instances: InstanceChoice[] }[]> {
  const rows = await db.select({ id: instances.id, name: instances.name, connectorId: connectors.id, connectorName: connectors.name })
    .from(instances).innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .where(eq(instances.companyId, actor.companyId))
    .orderBy(asc(sql`lower(${connectors.name})`), asc(connectors.id), asc(sql`lower(${instances.name})`))
  return [...groupBy(rows, (r) => r.connectorId).values()].map((group) => ({ connectorName: group[0]!.connectorName, instances: group }))
}

/** An instance of the company and its connector's endpoints, or NotFound. */
export async function instanceWithEndpoints(db: Db | Tx, actor: Actor, instanceId: string) {
  if (!isId(instanceId)) return null
  const [row] = await db.select({ id: instances.id, name: instances.name, connectorName: connectors.name, definition: connectors.definition })
    .from(instances).innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .where(and(eq(instances.id, instanceId), eq(instances.companyId, actor.companyId)))
  if (!row) return null
  return { id: row.id, name: row.name, connectorName: row.connectorName, endpoints: row.definition.endpoints }
}

async function checkShapeTarget(tx: Tx, actor: Actor, input: { instanceId: string; endpointKey: string }) {
  const instance = input.instanceId ? await instanceWithEndpoints(tx, actor, input.instanceId) : null
  if (!instance) throw new Invalid({ instance: 'Choose one of your instances.' })
  const endpoint = instance.endpoints.find((e) => e.key === input.endpointKey)
  if (!endpoint) throw new Invalid({ endpoint: `Choose one of the endpoints of ${instance.connectorName}.` })
  return { instance, endpoint }
}

function instanceGone(error: unknown): never {
  if (pgErrorCode(error) === FOREIGN_KEY_VIOLATION) throw new Invalid({ instance: 'That instance was just removed. Choose another one.' })
  throw error
}

/** Adds a connection shape at the end of the flow; once per form submission. */
export async function addShape(db: Db, actor: Actor, flowId: string, input: { instanceId: string; endpointKey: string } & EditForm): Promise<{ id: string | null }> {
  return changeFlow(db, actor, flowId, input, {
    // The shape added first, unless it was removed since.
    replay: async (tx, resultId) => {
      const [shape] = resultId ? await tx.select({ id: connectionShapes.id }).from(connectionShapes)
        .where(and(eq(connectionShapes.id, resultId), eq(connectionShapes.processFlowId, flowId))) : []
      return { id: shape?.id ?? null }
    },
    change: async (tx, flow) => {
      const { instance, endpoint } = await checkShapeTarget(tx, actor, input)
      const [last] = await tx.select({ position: max(connectionShapes.position) }).from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId))
      const [shape] = await tx.insert(connectionShapes).values({
        companyId: actor.companyId, processFlowId: flowId, instanceId: instance.id, endpointKey: endpoint.key,
        position: (last?.position ?? -1) + 1,
      }).returning({ id: connectionShapes.id }).catch(instanceGone)
      await recordEvent(tx, actor, {
        action: 'add connection shape', subjectType: 'connection shape', subjectId: shape!.id,
        summary: `added a connection shape to ${flow.name}: ${instance.name}, ${endpoint.name}`, details: { processFlowId: flowId, instanceId: instance.id },
      })
      return { id: shape!.id }
    },
    resultId: (shape) => shape.id!,
  })
}

/** A shape of the flow (the flow is locked, so its shapes hold still). */
async function shapeOf(tx: Tx, flowId: string, shapeId: string) {
  const [shape] = await tx.select().from(connectionShapes)
    .where(and(eq(connectionShapes.id, shapeId), eq(connectionShapes.processFlowId, flowId)))
  if (!shape) throw new NotFound('That connection shape')
  return shape
}

/** Points a shape at another instance (and endpoint). */
export async function reconfigureShape(db: Db, actor: Actor, flowId: string, shapeId: string, input: { instanceId: string; endpointKey: string } & EditForm) {
  return changeFlow(db, actor, flowId, input, {
    replay: nothingToAnswer,
    change: async (tx, flow) => {
      await shapeOf(tx, flowId, shapeId)
      const { instance, endpoint } = await checkShapeTarget(tx, actor, input)
      await tx.update(connectionShapes).set({ instanceId: instance.id, endpointKey: endpoint.key })
        .where(eq(connectionShapes.id, shapeId)).catch(instanceGone)
      await recordEvent(tx, actor, {
        action: 'reconfigure connection shape', subjectType: 'connection shape', subjectId: shapeId,
        summary: `reconfigured a connection shape of ${flow.name} to ${instance.name}, ${endpoint.name}`, details: { processFlowId: flowId, instanceId: instance.id },
      })
    },
  })
}

/** What the audit log keeps of a removed connection shape: enough to put it back where it was. */
interface RemovedShape { processFlowId: string; instanceId: string; instanceName?: string; endpointKey?: string; position?: number }

/**
 * Removes a connection shape; the audit entry keeps where it was, so restoreShape can put it back.
 * Answers what was removed, or undefined for a form submitted before.
 */
export async function removeShape(db: Db, actor: Actor, flowId: string, shapeId: string, form: EditForm) {
  return changeFlow<{ flowName: string; position: number; instanceName: string } | undefined>(db, actor, flowId, form, {
    replay: nothingToAnswer,
    change: async (tx, flow) => {
      const shape = await shapeOf(tx, flowId, shapeId)
      const [instance] = await tx.select({ name: instances.name }).from(instances).where(eq(instances.id, shape.instanceId))
      await tx.delete(connectionShapes).where(eq(connectionShapes.id, shapeId))
      await tx.update(connectionShapes).set({ position: sql`${connectionShapes.position} - 1` })
        .where(and(eq(connectionShapes.processFlowId, flowId), gt(connectionShapes.position, shape.position)))
      const details: RemovedShape = {
        processFlowId: flowId, instanceId: shape.instanceId, instanceName: instance?.name ?? '', endpointKey: shape.endpointKey, position: shape.position,
      }
      await recordEvent(tx, actor, {
        action: 'remove connection shape', subjectType: 'connection shape', subjectId: shapeId,
        summary: `removed connection shape ${shape.position + 1} (${details.instanceName}, ${shape.endpointKey}) from ${flow.name}`, details: { ...details },
      })
      return { flowName: flow.name, position: shape.position, instanceName: details.instanceName! }
    },
  })
}

/**
 * Puts a removed connection shape back (the undo after removing it): the same shape, instance,
 * endpoint and position (or the end, if the flow has fewer shapes now). Refused with the reason when
 * its instance or endpoint is gone; a shape already back is left as it is.
 */
export async function restoreShape(db: Db, actor: Actor, flowId: string, shapeId: string): Promise<{ restored: boolean; position: number }> {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const flow = await lockFlow(tx, actor, flowId)
    const [existing] = await tx.select({ position: connectionShapes.position }).from(connectionShapes)
      .where(and(eq(connectionShapes.id, shapeId), eq(connectionShapes.companyId, actor.companyId)))
    const [removal] = await tx.select({ details: auditEvents.details }).from(auditEvents)
      .where(and(
        eq(auditEvents.companyId, actor.companyId), eq(auditEvents.subjectId, shapeId), eq(auditEvents.action, 'remove connection shape'),
        sql`${auditEvents.details}->>'processFlowId' = ${flowId}`,
      ))
      .orderBy(desc(auditEvents.id)).limit(1)
    if (!removal) throw new NotFound('That connection shape')
    if (existing) return { restored: false, position: existing.position }
    const removed = removal.details as unknown as RemovedShape
    if (removed.endpointKey === undefined || removed.position === undefined) {
      throw new Conflict('This connection shape was removed before removals could be undone, so it cannot be put back. Add it again instead.')
    }
    const instance = await instanceWithEndpoints(tx, actor, removed.instanceId)
    const instanceWord = removed.instanceName ? `its instance ${removed.instanceName}` : 'its instance'
    if (!instance) throw new Conflict(`The connection shape cannot be put back: ${instanceWord} was removed since. Add a connection shape with another instance instead.`)
    const endpoint = instance.endpoints.find((e) => e.key === removed.endpointKey)
    if (!endpoint) throw new Conflict(`The connection shape cannot be put back: ${instance.connectorName} no longer has the endpoint ${removed.endpointKey}. Add a connection shape with another endpoint instead.`)
    const [count] = await tx.select({ n: sql<number>`cast(count(*) as integer)` }).from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId))
    const position = Math.min(removed.position, count!.n)
    await tx.update(connectionShapes).set({ position: sql`${connectionShapes.position} + 1` })
      .where(and(eq(connectionShapes.processFlowId, flowId), gte(connectionShapes.position, position)))
    await tx.insert(connectionShapes).values({
      id: shapeId, companyId: actor.companyId, processFlowId: flowId, instanceId: instance.id, endpointKey: endpoint.key, position,
    }).catch((error: unknown) => {
      if (pgErrorCode(error) === FOREIGN_KEY_VIOLATION) throw new Conflict(`The connection shape cannot be put back: its instance ${instance.name} was just removed.`)
      throw error
    })
    await recordEvent(tx, actor, {
      action: 'restore connection shape', subjectType: 'connection shape', subjectId: shapeId,
      summary: `put back connection shape ${position + 1} (${instance.name}, ${endpoint.name}) in ${flow.name}`, details: { processFlowId: flowId, instanceId: instance.id, endpointKey: endpoint.key, position },
    })
    // Forms of the flow shown before the undo are now out of date, as after any change to it.
    await touchFlows(tx, actor, [flowId])
    return { restored: true, position }
  })
}

/** Swaps a shape with its neighbour above or below. */
export async function moveShape(db: Db, actor: Actor, flowId: string, shapeId: string, input: { direction: 'up' | 'down' } & EditForm) {
  const { direction } = input
  return changeFlow(db, actor, flowId, input, {
    replay: nothingToAnswer,
    change: async (tx, flow) => {
      const shape = await shapeOf(tx, flowId, shapeId)
      const [neighbour] = await tx.select().from(connectionShapes).where(and(
        eq(connectionShapes.processFlowId, flowId),
        direction === 'up' ? lt(connectionShapes.position, shape.position) : gt(connectionShapes.position, shape.position),
      )).orderBy(direction === 'up' ? desc(connectionShapes.position) : asc(connectionShapes.position)).limit(1)
      if (!neighbour) return
      await tx.update(connectionShapes).set({ position: neighbour.position }).where(eq(connectionShapes.id, shape.id))
      await tx.update(connectionShapes).set({ position: shape.position }).where(eq(connectionShapes.id, neighbour.id))
      await recordEvent(tx, actor, {
        action: 'move connection shape', subjectType: 'connection shape', subjectId: shapeId,
        summary: `moved a connection shape of ${flow.name} ${direction}`, details: { processFlowId: flowId },
      })
    },
  })
}
