// Process flows and their connection shapes: only what connector housekeeping needs.
import { and, asc, desc, eq, gt, gte, lt, max, sql } from 'drizzle-orm'
import { auditEvents, connectionShapes, connectors, instances, processFlows } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { FOREIGN_KEY_VIOLATION, pgErrorCode, violates } from '../db/errors.js'
import { requirePermission, type Actor } from './actor.js'
import { recordEvent } from './audit.js'
import type { EndpointSpec } from './definition.js'
import { Conflict, Invalid, NotFound } from './errors.js'
import { groupBy, pageOf, type Page } from './pagination.js'
import { isId } from './ids.js'

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
  if (trimmed.length > 120) throw new Invalid({ name: 'Use at most 120 characters.' })
  return trimmed
}

function nameTaken(error: unknown, name: string): never {
  if (violates(error, 'process_flows_company_name_unique')) throw new Invalid({ name: `A process flow called "${name}" already exists.` })
  throw error
}

export async function createFlow(db: Db, actor: Actor, input: { name: string }) {
  requirePermission(actor, 'manageInstances')
  const name = checkFlowName(input.name)
  return db.transaction(async (tx) => {
    const [flow] = await tx.insert(processFlows).values({ companyId: actor.companyId, name })
      .returning({ id: processFlows.id }).catch((error: unknown) => nameTaken(error, name))
    await recordEvent(tx, actor, { action: 'create process flow', subjectType: 'process flow', subjectId: flow!.id, summary: `created process flow ${name}` })
    return { id: flow!.id, name }
  })
}

async function lockFlow(tx: Tx, actor: Actor, id: string) {
  const [flow] = await tx.select().from(processFlows)
    .where(and(eq(processFlows.id, id), eq(processFlows.companyId, actor.companyId))).for('update')
  if (!flow) throw new NotFound('That process flow')
  return flow
}

export async function renameFlow(db: Db, actor: Actor, id: string, input: { name: string }) {
  requirePermission(actor, 'manageInstances')
  const name = checkFlowName(input.name)
  return db.transaction(async (tx) => {
    const flow = await lockFlow(tx, actor, id)
    await tx.update(processFlows).set({ name, updatedAt: sql`now()` }).where(eq(processFlows.id, id))
      .catch((error: unknown) => nameTaken(error, name))
    await recordEvent(tx, actor, { action: 'rename process flow', subjectType: 'process flow', subjectId: id, summary: `renamed process flow ${flow.name} to ${name}` })
    return { id, name }
  })
}

export async function setFlowEnabled(db: Db, actor: Actor, id: string, enabled: boolean) {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const flow = await lockFlow(tx, actor, id)
    await tx.update(processFlows).set({ enabled, updatedAt: sql`now()` }).where(eq(processFlows.id, id))
    await recordEvent(tx, actor, {
      action: enabled ? 'enable process flow' : 'disable process flow', subjectType: 'process flow', subjectId: id,
      summary: `${enabled ? 'enabled' : 'disabled'} process flow ${flow.name}`,
    })
    return { id, name: flow.name, enabled }
  })
}

export async function removeFlow(db: Db, actor: Actor, id: string) {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const flow = await lockFlow(tx, actor, id)
    await tx.delete(processFlows).where(eq(processFlows.id, id))
    await recordEvent(tx, actor, { action: 'remove process flow', subjectType: 'process flow', subjectId: id, summary: `removed process flow ${flow.name} and its connection shapes` })
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

export async function addShape(db: Db, actor: Actor, flowId: string, input: { instanceId: string; endpointKey: string }) {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const flow = await lockFlow(tx, actor, flowId)
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
  })
}

async function lockShape(tx: Tx, actor: Actor, flowId: string, shapeId: string) {
  const flow = await lockFlow(tx, actor, flowId)
  const [shape] = await tx.select().from(connectionShapes)
    .where(and(eq(connectionShapes.id, shapeId), eq(connectionShapes.processFlowId, flowId)))
  if (!shape) throw new NotFound('That connection shape')
  return { flow, shape }
}

/** Points a shape at another instance (and endpoint). */
export async function reconfigureShape(db: Db, actor: Actor, flowId: string, shapeId: string, input: { instanceId: string; endpointKey: string }) {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const { flow } = await lockShape(tx, actor, flowId, shapeId)
    const { instance, endpoint } = await checkShapeTarget(tx, actor, input)
    await tx.update(connectionShapes).set({ instanceId: instance.id, endpointKey: endpoint.key })
      .where(eq(connectionShapes.id, shapeId)).catch(instanceGone)
    await recordEvent(tx, actor, {
      action: 'reconfigure connection shape', subjectType: 'connection shape', subjectId: shapeId,
      summary: `reconfigured a connection shape of ${flow.name} to ${instance.name}, ${endpoint.name}`, details: { processFlowId: flowId, instanceId: instance.id },
    })
  })
}

/** What the audit log keeps of a removed connection shape: enough to put it back where it was. */
interface RemovedShape { processFlowId: string; instanceId: string; instanceName?: string; endpointKey?: string; position?: number }

/** Removes a connection shape; the audit entry keeps where it was, so restoreShape can put it back. */
export async function removeShape(db: Db, actor: Actor, flowId: string, shapeId: string) {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const { flow, shape } = await lockShape(tx, actor, flowId, shapeId)
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
    return { restored: true, position }
  })
}

/** Swaps a shape with its neighbour above or below. */
export async function moveShape(db: Db, actor: Actor, flowId: string, shapeId: string, direction: 'up' | 'down') {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const { flow, shape } = await lockShape(tx, actor, flowId, shapeId)
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
  })
}
