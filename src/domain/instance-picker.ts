// Picking an instance among thousands (a connection shape's instance, the instances to move in
// stages): a search on the name and one page of results at a time, never the whole list.
import { and, asc, eq, sql, type SQL } from 'drizzle-orm'
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core'
import { connectors, instances } from '../db/schema.js'
import type { Queryable } from '../db/client.js'
import type { Actor } from './actor.js'
import { constantLimit, containsPattern, pageOf, type Page } from './pagination.js'

export const INSTANCE_PICKER_PAGE_SIZE = 20

export interface InstanceOption {
  id: string
  name: string
  connectorId: string
  connectorName: string
}

export interface InstanceSearch {
  /** Part of the name, any case; empty: every instance. */
  q: string
  page: number
  /** Only the instances of this connector (moving instances in stages); absent: the whole company's. */
  connectorId?: string | undefined
}

const counted = alias(instances, 'counted')

/** The same expression as the indexes on (company_id | connector_id, lower(name), id) and the trigram index. */
type InstanceColumns = { companyId: AnyPgColumn; connectorId: AnyPgColumn; name: AnyPgColumn }

const lowerName = (table: InstanceColumns) => sql`lower(${table.name})`

function matching(table: InstanceColumns, actor: Actor, search: InstanceSearch): SQL | undefined {
  const q = search.q.trim()
  return and(
    eq(table.companyId, actor.companyId),
    search.connectorId ? eq(table.connectorId, search.connectorId) : undefined,
    q ? sql`${lowerName(table)} like lower(${containsPattern(q)})` : undefined,
  )
}

/**
 * One page of the company's instances whose name contains the search, by name, with how many match
 * in all. One query: the page's ids from the (company or connector, lower(name), id) index, then
 * only those rows joined to their connector; the count from the same index.
 */
export async function findInstances(
  db: Queryable,
  actor: Actor,
  search: InstanceSearch,
): Promise<Page<InstanceOption>> {
  const onPage = db
    .select({ id: instances.id })
    .from(instances)
    .where(matching(instances, actor, search))
    .orderBy(asc(lowerName(instances)), asc(instances.id))
    .limit(constantLimit(INSTANCE_PICKER_PAGE_SIZE))
    .offset((search.page - 1) * INSTANCE_PICKER_PAGE_SIZE)
    .as('on_page')
  const rows = await db
    .select({
      id: instances.id,
      name: instances.name,
      connectorId: connectors.id,
      connectorName: connectors.name,
      total: sql<number>`(select cast(count(*) as integer) from ${instances} ${counted} where ${matching(counted, actor, search)})`,
    })
    .from(instances)
    .innerJoin(onPage, eq(onPage.id, instances.id))
    .innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .orderBy(asc(lowerName(instances)), asc(instances.id))
  return pageOf(rows, search.page, INSTANCE_PICKER_PAGE_SIZE)
}
