// The migrate page: the old connectors' instances, the process flows using them, earlier batches.
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm'
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
import type { Db } from '../../db/client.js'
import { requirePermission, type Actor } from '../actor.js'
import { groupBy } from '../group-by.js'
import { connectorAndSiblings } from './siblings.js'

export interface PickableInstance {
  id: string
  name: string
  /** Moved by a batch that is not undone, and its copy still exists: not pickable again. */
  movedTo: { batchId: string; instanceId: string; name: string } | null
  flows: { id: string; name: string; enabled: boolean; shapeCount: number }[]
}

export interface BatchSummary {
  id: string
  createdAt: Date
  createdByName: string
  fromName: string
  instanceCount: number
  shapeCount: number
  undoneAt: Date | null
}

export interface MigrationPicker {
  connector: { id: string; name: string; version: string; marketplaceName: string }
  /** The other connectors of the company installed from the same marketplace connector, `from` first. */
  groups: { connector: { id: string; name: string; version: string }; instances: PickableInstance[] }[]
  batches: BatchSummary[]
  defaultSuffix: string
}

const BATCHES_SHOWN = 50

const copy = alias(instances, 'copy')

/** The migrate page of the new connector. Five queries, however many instances and flows. */
export async function migrationPicker(
  db: Db,
  actor: Actor,
  connectorId: string,
  fromId?: string,
): Promise<MigrationPicker> {
  requirePermission(actor, 'manageInstances')
  const { connector, siblings } = await connectorAndSiblings(db, actor, connectorId)
  const siblingIds = siblings.map((s) => s.id)
  const notUndone = db
    .select({ id: migrationBatches.id })
    .from(migrationBatches)
    .where(
      and(
        eq(migrationBatches.toConnectorId, connectorId),
        eq(migrationBatches.companyId, actor.companyId),
        isNull(migrationBatches.undoneAt),
      ),
    )
  const [rows, uses, batches] =
    siblingIds.length === 0
      ? [[], [], await batchesOf(db, actor, connectorId)]
      : await Promise.all([
          db
            .select({
              id: instances.id,
              name: instances.name,
              connectorId: instances.connectorId,
              batchId: migrationInstances.batchId,
              copyId: copy.id,
              copyName: copy.name,
            })
            .from(instances)
            .leftJoin(
              migrationInstances,
              and(eq(migrationInstances.fromInstanceId, instances.id), inArray(migrationInstances.batchId, notUndone)),
            )
            .leftJoin(copy, eq(copy.id, migrationInstances.createdInstanceId))
            .where(and(eq(instances.companyId, actor.companyId), inArray(instances.connectorId, siblingIds)))
            .orderBy(asc(sql`lower(${instances.name})`), asc(instances.id)),
          db
            .select({
              instanceId: connectionShapes.instanceId,
              id: processFlows.id,
              name: processFlows.name,
              enabled: processFlows.enabled,
              shapeCount: sql<number>`cast(count(*) as integer)`,
            })
            .from(connectionShapes)
            .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
            .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
            .where(and(eq(connectionShapes.companyId, actor.companyId), inArray(instances.connectorId, siblingIds)))
            .groupBy(connectionShapes.instanceId, processFlows.id)
            .orderBy(asc(sql`lower(${processFlows.name})`), asc(processFlows.id)),
          batchesOf(db, actor, connectorId),
        ])
  const flowsOf = groupBy(uses, (u) => u.instanceId)
  const byInstance = groupBy(rows, (r) => r.id)
  const pickable = [...byInstance.values()].map((group): PickableInstance & { connectorId: string } => {
    const moved = group.find((r) => r.copyId)
    return {
      id: group[0]!.id,
      name: group[0]!.name,
      connectorId: group[0]!.connectorId,
      movedTo: moved ? { batchId: moved.batchId!, instanceId: moved.copyId!, name: moved.copyName! } : null,
      flows: (flowsOf.get(group[0]!.id) ?? []).map(({ instanceId: _instanceId, ...flow }) => flow),
    }
  })
  const ordered = [...siblings.filter((s) => s.id === fromId), ...siblings.filter((s) => s.id !== fromId)]
  return {
    connector: {
      id: connector.id,
      name: connector.name,
      version: connector.version,
      marketplaceName: connector.marketplaceName,
    },
    groups: ordered.map((s) => ({
      connector: { id: s.id, name: s.name, version: s.version },
      instances: pickable.filter((i) => i.connectorId === s.id).map(({ connectorId: _, ...i }) => i),
    })),
    batches,
    defaultSuffix: ` (${connector.version})`,
  }
}

const creator = alias(users, 'creator')
const fromConnector = alias(connectors, 'from_connector')

async function batchesOf(db: Db, actor: Actor, connectorId: string): Promise<BatchSummary[]> {
  return db
    .select({
      id: migrationBatches.id,
      createdAt: migrationBatches.createdAt,
      createdByName: creator.name,
      fromName: fromConnector.name,
      instanceCount: sql<number>`(select cast(count(*) as integer) from ${migrationInstances} where ${migrationInstances.batchId} = ${migrationBatches.id})`,
      shapeCount: sql<number>`(select cast(count(*) as integer) from ${migrationShapes} where ${migrationShapes.batchId} = ${migrationBatches.id})`,
      undoneAt: migrationBatches.undoneAt,
    })
    .from(migrationBatches)
    .innerJoin(creator, eq(creator.id, migrationBatches.createdBy))
    .innerJoin(fromConnector, eq(fromConnector.id, migrationBatches.fromConnectorId))
    .where(and(eq(migrationBatches.toConnectorId, connectorId), eq(migrationBatches.companyId, actor.companyId)))
    .orderBy(desc(migrationBatches.createdAt), desc(migrationBatches.id))
    .limit(BATCHES_SHOWN)
}
