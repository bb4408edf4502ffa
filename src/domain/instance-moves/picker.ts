// The migrate page: the old connectors' instances (searched, a page at a time), the process flows
// using them, earlier batches.
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
import { findInstances } from '../instance-picker.js'
import { isId } from '../ids.js'
import type { Page } from '../pagination.js'

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

export interface PickerGroup {
  connector: { id: string; name: string; version: string }
  /**
   * One page of the connector's instances matching the search (moved ones too, marked); null for
   * the old connectors other than the one moved from (a link makes one of them that one).
   */
  results: Page<PickableInstance> | null
  /** Picked on another page or before another search: listed (and checked) above the results. */
  picked: PickableInstance[]
  /** Of all the connector's instances: how many there are, and how many can still be moved. */
  instanceCount: number
  pickableCount: number
}

export interface MigrationPicker {
  connector: { id: string; name: string; version: string; marketplaceName: string }
  /** The other connectors of the company installed from the same marketplace connector, `from` first. */
  groups: PickerGroup[]
  batches: BatchSummary[]
  defaultSuffix: string
}

/** What the picker shows of the old connector `fromId` (the others: their first page). */
export interface PickerView {
  fromId?: string | undefined
  q?: string
  page?: number
  /** Instances already picked: kept, whatever the page and search. */
  picked?: string[]
}

const BATCHES_SHOWN = 50

const copy = alias(instances, 'copy')

/**
 * The migrate page of the new connector: per old connector, one page of its instances (searched by
 * name) with the process flows using each. A few queries per old connector, however many instances.
 */
export async function migrationPicker(
  db: Db,
  actor: Actor,
  connectorId: string,
  view: PickerView = {},
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
  const fromId = siblings.some((s) => s.id === view.fromId) ? view.fromId : siblings[0]?.id
  // Only the old connector moved from is searched and paged (one query); the others are counted.
  const fromPage = fromId
    ? await findInstances(db, actor, { q: view.q ?? '', page: view.page ?? 1, connectorId: fromId })
    : null
  const shownIds = [...new Set([...(fromPage?.rows ?? []).map((r) => r.id), ...(view.picked ?? []).filter(isId)])]
  const [rows, uses, counts, batches] =
    siblingIds.length === 0
      ? [[], [], [], await batchesOf(db, actor, connectorId)]
      : await Promise.all([
          shownIds.length === 0
            ? []
            : db
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
                  and(
                    eq(migrationInstances.fromInstanceId, instances.id),
                    inArray(migrationInstances.batchId, notUndone),
                  ),
                )
                .leftJoin(copy, eq(copy.id, migrationInstances.createdInstanceId))
                .where(
                  and(
                    eq(instances.companyId, actor.companyId),
                    inArray(instances.connectorId, siblingIds),
                    inArray(instances.id, shownIds),
                  ),
                )
                .orderBy(asc(sql`lower(${instances.name})`), asc(instances.id)),
          shownIds.length === 0
            ? []
            : db
                .select({
                  instanceId: connectionShapes.instanceId,
                  id: processFlows.id,
                  name: processFlows.name,
                  enabled: processFlows.enabled,
                  shapeCount: sql<number>`cast(count(*) as integer)`,
                })
                .from(connectionShapes)
                .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
                .where(
                  and(eq(connectionShapes.companyId, actor.companyId), inArray(connectionShapes.instanceId, shownIds)),
                )
                .groupBy(connectionShapes.instanceId, processFlows.id)
                .orderBy(asc(sql`lower(${processFlows.name})`), asc(processFlows.id)),
          // How many instances each old connector has, and how many of them were moved (their copy still here).
          db
            .select({
              connectorId: instances.connectorId,
              total: sql<number>`cast(count(*) as integer)`,
              moved: sql<number>`cast(count(*) filter (where exists (
                select 1 from migration_instances mi inner join instances moved_copy on moved_copy.id = mi.created_instance_id
                where mi.from_instance_id = instances.id and mi.batch_id in ${notUndone})) as integer)`,
            })
            .from(instances)
            .where(and(eq(instances.companyId, actor.companyId), inArray(instances.connectorId, siblingIds)))
            .groupBy(instances.connectorId),
          batchesOf(db, actor, connectorId),
        ])
  const flowsOf = groupBy(uses, (u) => u.instanceId)
  const details = new Map(
    [...groupBy(rows, (r) => r.id).values()].map((group): [string, PickableInstance & { connectorId: string }] => {
      const moved = group.find((r) => r.copyId)
      return [
        group[0]!.id,
        {
          id: group[0]!.id,
          name: group[0]!.name,
          connectorId: group[0]!.connectorId,
          movedTo: moved ? { batchId: moved.batchId!, instanceId: moved.copyId!, name: moved.copyName! } : null,
          flows: (flowsOf.get(group[0]!.id) ?? []).map(({ instanceId: _instanceId, ...flow }) => flow),
        },
      ]
    }),
  )
  const pickable = (id: string): PickableInstance | undefined => {
    const found = details.get(id)
    if (!found) return undefined
    const { connectorId: _, ...instance } = found
    return instance
  }
  const ordered = [...siblings.filter((s) => s.id === fromId), ...siblings.filter((s) => s.id !== fromId)]
  return {
    connector: {
      id: connector.id,
      name: connector.name,
      version: connector.version,
      marketplaceName: connector.marketplaceName,
    },
    groups: ordered.map((s) => {
      const results = s.id === fromId ? fromPage : null
      const onPage = new Set(results?.rows.map((r) => r.id))
      const count = counts.find((c) => c.connectorId === s.id)
      return {
        connector: { id: s.id, name: s.name, version: s.version },
        results: results && { ...results, rows: results.rows.flatMap((r) => pickable(r.id) ?? []) },
        picked:
          s.id === fromId
            ? (view.picked ?? []).flatMap((id) => {
                const instance = details.get(id)
                return instance && instance.connectorId === s.id && !onPage.has(id) && !instance.movedTo
                  ? (pickable(id) ?? [])
                  : []
              })
            : [],
        instanceCount: count?.total ?? 0,
        pickableCount: (count?.total ?? 0) - (count?.moved ?? 0),
      }
    }),
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
