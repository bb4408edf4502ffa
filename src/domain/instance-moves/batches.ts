// A batch of moves: what it did, whether it can still be undone, and undo.
import { and, asc, eq, inArray, isNotNull, notInArray, or, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import {
  connectionShapes,
  connectors,
  instances,
  migrationBatches,
  migrationInstances,
  migrationShapes,
  processFlows,
  users,
} from '../../db/schema.js'
import type { Db, Queryable, Tx } from '../../db/client.js'
import { requirePermission, type Actor } from '../actor.js'
import type { AuditEntry } from '../audit.js'
import { runCommand, type Done } from '../command.js'
import type { ConnectorDefinition } from '../definition.js'
import { NotFound } from '../errors.js'
import { touchFlows } from '../flows.js'
import { isId } from '../ids.js'
import { lockFlows, lockInstances, lockMigrationBatch, lockShapes } from '../locks.js'
import { groupBy } from '../group-by.js'
import { plural } from '../words.js'

/** "undid the migration of 2 instances from Shopify to Shopify 2.2.0: 3 connection shapes pointed back, 2 created instances removed" */
const undoneSummary = (instanceCount: number, shapeCount: number, fromName: string, toName: string) =>
  `undid the migration of ${plural(instanceCount, 'instance')} from ${fromName} to ${toName}: ` +
  `${plural(shapeCount, 'connection shape')} pointed back, ${plural(instanceCount, 'created instance')} removed`

/** "migrated 2 instances from Shopify to Shopify 2.2.0; 3 connection shapes repointed" */
export const migratedSummary = (instanceCount: number, shapeCount: number, fromName: string, toName: string) =>
  `migrated ${plural(instanceCount, 'instance')} from ${fromName} to ${toName}; ${plural(shapeCount, 'connection shape')} repointed`

/** Why a batch cannot be undone (any more). */
export type UndoBlocker =
  | { kind: 'undone'; at: Date; byName: string }
  | { kind: 'instance removed'; name: string }
  | { kind: 'instance changed'; name: string; instanceId: string; at: Date }
  | { kind: 'instance used'; name: string; instanceId: string; flowId: string; flowName: string }
  | { kind: 'old instance removed'; name: string }
  | { kind: 'shape removed'; flowName: string }
  | {
      kind: 'shape repointed'
      flowId: string
      flowName: string
      position: number
      instanceName: string
      endpointName: string
    }

export interface MigrationBatchView {
  id: string
  createdAt: Date
  createdByName: string
  undoneAt: Date | null
  undoneByName: string | null
  from: { id: string; name: string }
  to: { id: string; name: string }
  instances: {
    name: string
    /** The copy, while it exists. */
    createdId: string | null
    fromId: string | null
    fromName: string | null
    changedAt: Date | null
  }[]
  shapes: {
    shapeId: string | null
    flowId: string | null
    flowName: string
    enabled: boolean | null
    position: number | null
    from: { instanceId: string; instanceName: string | null; endpointKey: string; endpointName: string }
    to: { instanceId: string; instanceName: string; endpointKey: string; endpointName: string }
    /** Where the shape points now, when not where the batch left it. */
    now: { instanceName: string; endpointName: string } | null
  }[]
  /** Empty when it can be undone. */
  blockers: UndoBlocker[]
}

const fromInstance = alias(instances, 'from_instance')
const current = alias(instances, 'current_instance')
const currentConnector = alias(connectors, 'current_connector')
const copy = alias(instances, 'copy')
const creator = alias(users, 'creator')
const undoer = alias(users, 'undoer')
const fromConnector = alias(connectors, 'from_connector')
const toConnector = alias(connectors, 'to_connector')

const endpointName = (definition: ConnectorDefinition | null | undefined, key: string) =>
  definition?.endpoints.find((e) => e.key === key)?.name ?? key

/** A batch of the connector with the current state of what it created and repointed. Four queries. */
export async function loadBatch(
  q: Queryable,
  actor: Actor,
  connectorId: string,
  batchId: string,
): Promise<MigrationBatchView> {
  if (!isId(connectorId) || !isId(batchId)) throw new NotFound('That migration')
  const [batch] = await q
    .select({
      id: migrationBatches.id,
      createdAt: migrationBatches.createdAt,
      createdByName: creator.name,
      undoneAt: migrationBatches.undoneAt,
      undoneByName: undoer.name,
      fromId: fromConnector.id,
      fromName: fromConnector.name,
      fromDefinition: fromConnector.definition,
      toId: toConnector.id,
      toName: toConnector.name,
      toDefinition: toConnector.definition,
    })
    .from(migrationBatches)
    .innerJoin(creator, eq(creator.id, migrationBatches.createdBy))
    .leftJoin(undoer, eq(undoer.id, migrationBatches.undoneBy))
    .innerJoin(fromConnector, eq(fromConnector.id, migrationBatches.fromConnectorId))
    .innerJoin(toConnector, eq(toConnector.id, migrationBatches.toConnectorId))
    .where(
      and(
        eq(migrationBatches.id, batchId),
        eq(migrationBatches.companyId, actor.companyId),
        eq(migrationBatches.toConnectorId, connectorId),
      ),
    )
  if (!batch) throw new NotFound('That migration')
  // One after the other: this also runs inside the undo transaction.
  const made = await q
    .select({
      name: migrationInstances.name,
      createdId: copy.id,
      copyName: copy.name,
      copyUpdatedAt: copy.updatedAt,
      unchanged: sql<boolean>`${copy.updatedAt} = ${migrationInstances.createdUpdatedAt}`,
      fromId: fromInstance.id,
      fromName: fromInstance.name,
    })
    .from(migrationInstances)
    .leftJoin(copy, eq(copy.id, migrationInstances.createdInstanceId))
    .leftJoin(fromInstance, eq(fromInstance.id, migrationInstances.fromInstanceId))
    .where(eq(migrationInstances.batchId, batchId))
    .orderBy(asc(sql`lower(${migrationInstances.name})`))
  const moved = await q
    .select({
      shapeId: connectionShapes.id,
      flowId: processFlows.id,
      flowName: sql<string>`coalesce(${processFlows.name}, ${migrationShapes.processFlowName})`,
      enabled: processFlows.enabled,
      position: connectionShapes.position,
      fromInstanceId: migrationShapes.fromInstanceId,
      fromInstanceName: fromInstance.name,
      fromEndpointKey: migrationShapes.fromEndpointKey,
      toInstanceId: migrationShapes.toInstanceId,
      toEndpointKey: migrationShapes.toEndpointKey,
      nowInstanceId: connectionShapes.instanceId,
      nowInstanceName: current.name,
      nowEndpointKey: connectionShapes.endpointKey,
      nowDefinition: currentConnector.definition,
    })
    .from(migrationShapes)
    .leftJoin(connectionShapes, eq(connectionShapes.id, migrationShapes.shapeId))
    .leftJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .leftJoin(fromInstance, eq(fromInstance.id, migrationShapes.fromInstanceId))
    .leftJoin(current, eq(current.id, connectionShapes.instanceId))
    .leftJoin(currentConnector, eq(currentConnector.id, current.connectorId))
    .where(eq(migrationShapes.batchId, batchId))
    .orderBy(
      asc(sql`lower(coalesce(${processFlows.name}, ${migrationShapes.processFlowName}))`),
      asc(connectionShapes.position),
    )
  const copies = made.filter((m) => m.createdId).map((m) => m.createdId!)
  const recordedShapes = moved.filter((m) => m.shapeId).map((m) => m.shapeId!)
  const otherUses =
    copies.length === 0
      ? []
      : await q
          .select({ instanceId: connectionShapes.instanceId, flowId: processFlows.id, flowName: processFlows.name })
          .from(connectionShapes)
          .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
          .where(
            and(
              eq(connectionShapes.companyId, actor.companyId),
              inArray(connectionShapes.instanceId, copies),
              notInArray(connectionShapes.id, recordedShapes),
            ),
          )
          .orderBy(asc(sql`lower(${processFlows.name})`))
  // A copy removed since (by undo, say) is named through the instance it was copied from.
  const copyName = new Map<string, string>()
  for (const m of made) {
    if (m.createdId) copyName.set(m.createdId, m.name)
  }
  const copyOfOld = new Map(made.filter((m) => m.fromId).map((m) => [m.fromId!, m.name]))
  const nameOfCopy = (toInstanceId: string, fromInstanceId: string) =>
    copyName.get(toInstanceId) ??
    copyOfOld.get(fromInstanceId) ??
    (made.length === 1 ? made[0]!.name : 'a copy removed since')

  const view: MigrationBatchView = {
    id: batch.id,
    createdAt: batch.createdAt,
    createdByName: batch.createdByName,
    undoneAt: batch.undoneAt,
    undoneByName: batch.undoneByName,
    from: { id: batch.fromId, name: batch.fromName },
    to: { id: batch.toId, name: batch.toName },
    instances: made.map((m) => ({
      name: m.copyName ?? m.name,
      createdId: m.createdId,
      fromId: m.fromId,
      fromName: m.fromName,
      changedAt: m.createdId && !m.unchanged ? m.copyUpdatedAt : null,
    })),
    shapes: moved.map((m) => {
      const pointsBack = m.nowInstanceId === m.fromInstanceId && m.nowEndpointKey === m.fromEndpointKey
      const unchanged = m.nowInstanceId === m.toInstanceId && m.nowEndpointKey === m.toEndpointKey
      const showNow = m.shapeId && !unchanged && !(batch.undoneAt && pointsBack)
      return {
        shapeId: m.shapeId,
        flowId: m.flowId,
        flowName: m.flowName,
        enabled: m.enabled,
        position: m.position,
        from: {
          instanceId: m.fromInstanceId,
          instanceName: m.fromInstanceName,
          endpointKey: m.fromEndpointKey,
          endpointName: endpointName(batch.fromDefinition, m.fromEndpointKey),
        },
        to: {
          instanceId: m.toInstanceId,
          instanceName: nameOfCopy(m.toInstanceId, m.fromInstanceId),
          endpointKey: m.toEndpointKey,
          endpointName: endpointName(batch.toDefinition, m.toEndpointKey),
        },
        now: showNow
          ? { instanceName: m.nowInstanceName ?? '', endpointName: endpointName(m.nowDefinition, m.nowEndpointKey!) }
          : null,
      }
    }),
    blockers: [],
  }
  view.blockers = undoBlockers(
    view,
    batch.undoneAt ? null : otherUses.map((u) => ({ ...u, name: copyName.get(u.instanceId) ?? '' })),
  )
  return view
}

/** Why the batch cannot be undone: it was, or something else changed what it created or repointed since. */
export function undoBlockers(
  batch: MigrationBatchView,
  otherUses: { instanceId: string; name: string; flowId: string; flowName: string }[] | null,
): UndoBlocker[] {
  if (batch.undoneAt) return [{ kind: 'undone', at: batch.undoneAt, byName: batch.undoneByName ?? 'somebody' }]
  const blockers: UndoBlocker[] = []
  for (const made of batch.instances) {
    if (!made.createdId) blockers.push({ kind: 'instance removed', name: made.name })
    else if (made.changedAt)
      blockers.push({ kind: 'instance changed', name: made.name, instanceId: made.createdId, at: made.changedAt })
    if (!made.fromId) blockers.push({ kind: 'old instance removed', name: made.name })
  }
  const seen = new Set<string>()
  for (const use of otherUses ?? []) {
    if (seen.has(`${use.instanceId} ${use.flowId}`)) continue
    seen.add(`${use.instanceId} ${use.flowId}`)
    blockers.push({ kind: 'instance used', ...use })
  }
  for (const shape of batch.shapes) {
    if (!shape.shapeId) blockers.push({ kind: 'shape removed', flowName: shape.flowName })
    else if (shape.now) {
      blockers.push({
        kind: 'shape repointed',
        flowId: shape.flowId!,
        flowName: shape.flowName,
        position: shape.position!,
        ...shape.now,
      })
    }
  }
  return blockers
}

/** A migration batch of the connector: what it did and whether it can still be undone. */
export async function getMigrationBatch(
  db: Db,
  actor: Actor,
  connectorId: string,
  batchId: string,
): Promise<MigrationBatchView> {
  requirePermission(actor, 'manageInstances')
  return loadBatch(db, actor, connectorId, batchId)
}

export type UndoResult = { undone: true; summary: string } | { undone: false; blockers: UndoBlocker[] }

/**
 * Undo: points the shapes back and removes the copies, in one transaction with the rows locked, if
 * nothing else changed them since. Otherwise nothing changes and the result says why.
 */
export async function undoMigration(
  db: Db,
  actor: Actor,
  input: { connectorId: string; batchId: string; submission?: string | undefined },
): Promise<UndoResult> {
  const { connectorId, batchId } = input
  requirePermission(actor, 'manageInstances')
  if (!isId(connectorId) || !isId(batchId)) throw new NotFound('That migration')
  return runCommand<UndoResult>(db, actor, {
    permission: 'manageInstances',
    submission: input.submission,
    replay: async (tx, earlier) => {
      if (earlier.resultId !== batchId) return null
      const done = await loadBatch(tx, actor, connectorId, batchId)
      return {
        undone: true,
        summary: undoneSummary(done.instances.length, done.shapes.length, done.from.name, done.to.name),
      }
    },
    run: (tx) => undo(tx, actor, connectorId, batchId),
  })
}

/** The undo itself: the batch and what it touched locked in the one lock order (locks.ts), then checked. */
async function undo(tx: Tx, actor: Actor, connectorId: string, batchId: string): Promise<Done<UndoResult>> {
  const [locked] = await lockMigrationBatch(
    tx,
    actor,
    and(eq(migrationBatches.id, batchId), eq(migrationBatches.toConnectorId, connectorId)),
  )
  if (!locked) throw new NotFound('That migration')
  const recordedShapes = tx
    .select({ id: migrationShapes.shapeId })
    .from(migrationShapes)
    .where(eq(migrationShapes.batchId, batchId))
  await lockFlows(
    tx,
    actor,
    inArray(
      processFlows.id,
      tx
        .select({ id: connectionShapes.processFlowId })
        .from(connectionShapes)
        .where(inArray(connectionShapes.id, recordedShapes)),
    ),
  )
  await lockInstances(
    tx,
    actor,
    or(
      inArray(
        instances.id,
        tx
          .select({ id: migrationInstances.createdInstanceId })
          .from(migrationInstances)
          .where(and(eq(migrationInstances.batchId, batchId), isNotNull(migrationInstances.createdInstanceId))),
      ),
      inArray(
        instances.id,
        tx
          .select({ id: migrationInstances.fromInstanceId })
          .from(migrationInstances)
          .where(and(eq(migrationInstances.batchId, batchId), isNotNull(migrationInstances.fromInstanceId))),
      ),
      inArray(
        instances.id,
        tx
          .select({ id: migrationShapes.fromInstanceId })
          .from(migrationShapes)
          .where(eq(migrationShapes.batchId, batchId)),
      ),
    ),
  )
  await lockShapes(tx, actor, inArray(connectionShapes.id, recordedShapes))

  const batch = await loadBatch(tx, actor, connectorId, batchId)
  if (batch.blockers.length) return { result: { undone: false, blockers: batch.blockers } }
  for (const group of groupBy(batch.shapes, (s) => `${s.from.instanceId} ${s.from.endpointKey}`).values()) {
    await tx
      .update(connectionShapes)
      .set({ instanceId: group[0]!.from.instanceId, endpointKey: group[0]!.from.endpointKey })
      .where(
        and(
          eq(connectionShapes.companyId, actor.companyId),
          inArray(
            connectionShapes.id,
            group.map((s) => s.shapeId!),
          ),
        ),
      )
  }
  await touchFlows(tx, actor, [...new Set(batch.shapes.map((s) => s.flowId!))])
  const copies = batch.instances.map((i) => i.createdId!)
  await tx.delete(instances).where(and(eq(instances.companyId, actor.companyId), inArray(instances.id, copies)))
  await tx
    .update(migrationBatches)
    .set({ undoneAt: sql`now()`, undoneBy: actor.id })
    .where(eq(migrationBatches.id, batchId))
  const summary = undoneSummary(batch.instances.length, batch.shapes.length, batch.from.name, batch.to.name)
  const audit: AuditEntry[] = [
    {
      action: 'undo migration',
      subjectType: 'migration batch',
      subjectId: batchId,
      summary,
      details: {
        fromConnectorId: batch.from.id,
        toConnectorId: batch.to.id,
        removedInstances: copies,
        shapes: batch.shapes.map((s) => s.shapeId),
      },
    },
    ...batch.instances.map((i): AuditEntry => ({
      action: 'remove instance',
      subjectType: 'instance',
      subjectId: i.createdId,
      summary: `removed instance ${i.name} of ${batch.to.name} (undoing a migration)`,
      details: { migrationBatchId: batchId },
    })),
    ...batch.shapes.map((s): AuditEntry => ({
      action: 'reconfigure connection shape',
      subjectType: 'connection shape',
      subjectId: s.shapeId,
      summary: `reconfigured a connection shape of ${s.flowName} back to ${s.from.instanceName ?? s.from.instanceId}, ${s.from.endpointName} (undoing a migration)`,
      details: { processFlowId: s.flowId, instanceId: s.from.instanceId, migrationBatchId: batchId },
    })),
  ]
  return { result: { undone: true, summary }, resultId: batchId, audit }
}
