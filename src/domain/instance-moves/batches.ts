// A batch of moves: what it did and whether it can still be undone (the undo itself: undo.ts).
import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm'
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
import type { Db, Queryable } from '../../db/client.js'
import { requirePermission, type Actor } from '../actor.js'
import type { ConnectorDefinition } from '../definition.js'
import { NotFound } from '../errors.js'
import { isId } from '../ids.js'
import { plural } from '../words.js'

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
