// Process flows: only what connector housekeeping needs (their connection shapes: connection-shapes.ts).
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import { connectionShapes, connectors, instances, processFlows, users } from '../db/schema.js'
import type { Db, Tx, Queryable } from '../db/client.js'
import { violates } from '../db/errors.js'
import { requirePermission, type Actor } from './actor.js'
import type { AuditEntry } from './audit.js'
import type { EndpointSpec } from './definition.js'
import { EditConflict, Invalid, NotFound } from './errors.js'
import { runCommand, type Done } from './command.js'
import type { EditForm } from './edit-form.js'
import { lockFlows } from './locks.js'
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
  const rows = await db
    .select({
      id: processFlows.id,
      name: processFlows.name,
      enabled: processFlows.enabled,
      shapeCount: sql<number>`cast(count(${connectionShapes.id}) as integer)`,
      instanceNames: sql<
        string[]
      >`coalesce(array_agg(distinct ${instances.name}) filter (where ${instances.name} is not null), '{}')`,
      total: sql<number>`cast(count(*) over () as integer)`,
    })
    .from(processFlows)
    .leftJoin(connectionShapes, eq(connectionShapes.processFlowId, processFlows.id))
    .leftJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .where(eq(processFlows.companyId, actor.companyId))
    .groupBy(processFlows.id)
    .orderBy(asc(sql`lower(${processFlows.name})`), asc(processFlows.id))
    .limit(FLOWS_PAGE_SIZE)
    .offset((query.page - 1) * FLOWS_PAGE_SIZE)
  return pageOf(rows, query.page, FLOWS_PAGE_SIZE)
}

function checkFlowName(name: string) {
  const trimmed = name.trim()
  if (!trimmed) throw new Invalid({ name: 'Enter a name for the process flow.' })
  if (trimmed.length > LIMITS.processFlowName) throw new Invalid({ name: tooLongMessage(LIMITS.processFlowName) })
  return trimmed
}

function nameTaken(error: unknown, name: string): never {
  if (violates(error, 'process_flows_company_name_unique'))
    throw new Invalid({ name: `A process flow called "${name}" already exists.` })
  throw error
}

/** Creates a process flow, once per form submission (a double submit answers with the flow made first). */
export async function createFlow(db: Db, actor: Actor, input: { name: string; submission?: string | undefined }) {
  requirePermission(actor, 'manageInstances')
  const name = checkFlowName(input.name)
  return runCommand(db, actor, {
    permission: 'manageInstances',
    submission: input.submission,
    replay: async (tx, earlier) => {
      const [done] = earlier.resultId
        ? await tx
            .select({ id: processFlows.id, name: processFlows.name })
            .from(processFlows)
            .where(and(eq(processFlows.id, earlier.resultId), eq(processFlows.companyId, actor.companyId)))
        : []
      return done ?? null
    },
    run: async (tx) => {
      const [flow] = await tx
        .insert(processFlows)
        .values({ companyId: actor.companyId, name, updatedBy: actor.id })
        .returning({ id: processFlows.id })
        .catch((error: unknown) => nameTaken(error, name))
      const audit: AuditEntry = {
        action: 'create process flow',
        subjectType: 'process flow',
        subjectId: flow!.id,
        summary: `created process flow ${name}`,
      }
      return { result: { id: flow!.id, name }, resultId: flow!.id, audit }
    },
  })
}

const updater = alias(users, 'updater')

/** The flow row locked for the rest of the transaction (alone, then read with who changed it last). */
export async function lockFlow(tx: Tx, actor: Actor, id: string) {
  const [locked] = await lockFlows(tx, actor, eq(processFlows.id, id))
  if (!locked) throw new NotFound('That process flow')
  const [flow] = await tx
    .select({
      id: processFlows.id,
      name: processFlows.name,
      enabled: processFlows.enabled,
      version: processFlows.version,
      updatedByName: updater.name,
    })
    .from(processFlows)
    .leftJoin(updater, eq(updater.id, processFlows.updatedBy))
    .where(eq(processFlows.id, locked.id))
  return flow!
}

export type LockedFlow = Awaited<ReturnType<typeof lockFlow>>

export interface FlowChange<T> {
  /** The change, the flow locked and at the form's version: its answer and audit entry. */
  change(tx: Tx, flow: LockedFlow): Promise<Omit<Done<T>, 'resultId'>>
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
export async function changeFlow<T>(db: Db, actor: Actor, id: string, form: EditForm, how: FlowChange<T>): Promise<T> {
  return runCommand(db, actor, {
    permission: 'manageInstances',
    submission: form.submission,
    replay: (tx, earlier) => how.replay(tx, earlier.resultId),
    run: async (tx) => {
      const flow = await lockFlow(tx, actor, id)
      if (flow.version !== form.version) throw new EditConflict('process flow', flow.updatedByName)
      const done = await how.change(tx, flow)
      await tx
        .update(processFlows)
        .set({ version: sql`${processFlows.version} + 1`, updatedBy: actor.id, updatedAt: sql`now()` })
        .where(eq(processFlows.id, id))
      return { ...done, resultId: how.resultId?.(done.result) ?? id }
    },
  })
}

export const nothingToAnswer = async () => undefined

/** What a flow is now: the answer to a form submitted before. */
async function currentFlow(tx: Tx, actor: Actor, id: string) {
  const [flow] = await tx
    .select({ id: processFlows.id, name: processFlows.name, enabled: processFlows.enabled })
    .from(processFlows)
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
  await tx
    .update(processFlows)
    .set({ version: sql`${processFlows.version} + 1`, updatedBy: actor.id, updatedAt: sql`now()` })
    .where(and(eq(processFlows.companyId, actor.companyId), inArray(processFlows.id, ids)))
}

export async function renameFlow(db: Db, actor: Actor, id: string, input: { name: string } & EditForm) {
  requirePermission(actor, 'manageInstances')
  const name = checkFlowName(input.name)
  return changeFlow(db, actor, id, input, {
    replay: (tx) => currentFlow(tx, actor, id),
    change: async (tx, flow) => {
      await tx
        .update(processFlows)
        .set({ name })
        .where(eq(processFlows.id, id))
        .catch((error: unknown) => nameTaken(error, name))
      return {
        result: { id, name, enabled: flow.enabled },
        audit: {
          action: 'rename process flow',
          subjectType: 'process flow',
          subjectId: id,
          summary: `renamed process flow ${flow.name} to ${name}`,
        },
      }
    },
  })
}

export async function setFlowEnabled(db: Db, actor: Actor, id: string, input: { enabled: boolean } & EditForm) {
  const { enabled } = input
  return changeFlow(db, actor, id, input, {
    replay: (tx) => currentFlow(tx, actor, id),
    change: async (tx, flow) => {
      await tx.update(processFlows).set({ enabled }).where(eq(processFlows.id, id))
      return {
        result: { id, name: flow.name, enabled },
        audit: {
          action: enabled ? 'enable process flow' : 'disable process flow',
          subjectType: 'process flow',
          subjectId: id,
          summary: `${enabled ? 'enabled' : 'disabled'} process flow ${flow.name}`,
        },
      }
    },
  })
}

/** Removes a process flow and its connection shapes, unless it changed since the prompt was shown. */
export async function removeFlow(db: Db, actor: Actor, id: string, form: EditForm) {
  return runCommand(db, actor, {
    permission: 'manageInstances',
    submission: form.submission,
    replay: async (tx) => {
      const [there] = await tx
        .select({ id: processFlows.id })
        .from(processFlows)
        .where(and(eq(processFlows.id, id), eq(processFlows.companyId, actor.companyId)))
      return there ? null : { removed: true as const, name: '' }
    },
    run: async (tx) => {
      const flow = await lockFlow(tx, actor, id)
      if (flow.version !== form.version) throw new EditConflict('process flow', flow.updatedByName)
      await tx.delete(processFlows).where(eq(processFlows.id, id))
      const audit: AuditEntry = {
        action: 'remove process flow',
        subjectType: 'process flow',
        subjectId: id,
        summary: `removed process flow ${flow.name} and its connection shapes`,
      }
      return { result: { removed: true as const, name: flow.name }, resultId: id, audit }
    },
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
  const [flow] = await db
    .select()
    .from(processFlows)
    .where(and(eq(processFlows.id, id), eq(processFlows.companyId, actor.companyId)))
  if (!flow) throw new NotFound('That process flow')
  const rows = await db
    .select({
      id: connectionShapes.id,
      position: connectionShapes.position,
      instanceId: instances.id,
      instanceName: instances.name,
      connectorId: connectors.id,
      connectorName: connectors.name,
      endpointKey: connectionShapes.endpointKey,
      endpoint: sql<EndpointSpec | null>`(select e from jsonb_array_elements(${connectors.definition}->'endpoints') e where e->>'key' = ${connectionShapes.endpointKey} limit 1)`,
    })
    .from(connectionShapes)
    .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .where(eq(connectionShapes.processFlowId, id))
    .orderBy(asc(connectionShapes.position))
  return { ...flow, shapes: rows as ShapeView[] }
}

/** An instance of the company and its connector's endpoints, or NotFound. */
export async function instanceWithEndpoints(db: Queryable, actor: Actor, instanceId: string) {
  if (!isId(instanceId)) return null
  const [row] = await db
    .select({
      id: instances.id,
      name: instances.name,
      connectorName: connectors.name,
      definition: connectors.definition,
    })
    .from(instances)
    .innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .where(and(eq(instances.id, instanceId), eq(instances.companyId, actor.companyId)))
  if (!row) return null
  return { id: row.id, name: row.name, connectorName: row.connectorName, endpoints: row.definition.endpoints }
}
