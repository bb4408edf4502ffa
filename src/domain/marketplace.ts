// The marketplace as a company sees it: the vendor's prebuilt connectors and its own custom ones.
// The vendor publishes to it with src/marketplace/publishing.ts.
import { and, asc, eq, ilike, or, sql, type SQL } from 'drizzle-orm'
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core'
import { connectors, marketplaceConnectors, marketplaceVersions } from '../db/schema.js'
import type { Db } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import type { Actor } from './actor.js'
import type { SystemType } from './enums.js'
import { constantLimit, containsPattern, pageOf, type Page } from './pagination.js'

export const MARKETPLACE_PAGE_SIZE = 24

export interface MarketplaceEntry {
  id: string
  key: string
  kind: 'prebuilt' | 'custom'
  name: string
  description: string
  systemType: string
  colour: string
  version: string | null
  releasedOn: Date | null
  /** How many connectors of the viewer's company are installed from it, and one of them. */
  installedCount: number
  installedId: string | null
}

/** Prebuilt entries for everyone, custom entries only for the company that built them. */
export function visibleTo(actor: Pick<Actor, 'companyId'>): SQL {
  return or(eq(marketplaceConnectors.kind, 'prebuilt'), eq(marketplaceConnectors.companyId, actor.companyId))!
}

export interface MarketplaceQuery {
  q?: string
  type?: SystemType
  page: number
}

const installedCopy = alias(connectors, 'installed_copy')
const prebuiltCounted = alias(marketplaceConnectors, 'prebuilt_counted')
const customCounted = alias(marketplaceConnectors, 'custom_counted')
type EntryColumns = Record<'kind' | 'companyId' | 'systemType' | 'name' | 'description', AnyPgColumn>

/**
 * One page of the marketplace in one query, built once per database for each combination of
 * filters. Browsing walks the name index for the page's ids and counts prebuilt entries and the
 * company's custom ones (two disjoint sets) from indexes. A search finds its matches once, through
 * the trigram index, and takes both the page and the count from them. Each entry on the page says
 * how many of the company's connectors are installed from it (the marketplace connector index).
 */
const marketplacePageQuery = (filters: { type: boolean; search: boolean }) =>
  preparedQuery((db) => {
    const companyId = sql.placeholder('companyId')
    const filtered = (entry: EntryColumns) =>
      and(
        filters.type ? eq(entry.systemType, sql.placeholder('type')) : undefined,
        filters.search
          ? ilike(sql`(${entry.name} || ' ' || ${entry.description})`, sql.placeholder('pattern'))
          : undefined,
      )
    const visible = (entry: EntryColumns) => or(eq(entry.kind, 'prebuilt'), eq(entry.companyId, companyId))
    const byName = (entry: { id: AnyPgColumn; name: AnyPgColumn }) => [asc(sql`lower(${entry.name})`), asc(entry.id)]

    let matches, onPage, total
    if (filters.search) {
      matches = db.$with('matches').as(
        db
          .select({ id: marketplaceConnectors.id, name: marketplaceConnectors.name })
          .from(marketplaceConnectors)
          .where(and(visible(marketplaceConnectors), filtered(marketplaceConnectors))),
      )
      onPage = db
        .select({ id: matches.id })
        .from(matches)
        .orderBy(...byName(matches))
        .limit(constantLimit(MARKETPLACE_PAGE_SIZE))
        .offset(sql.placeholder('offset'))
        .as('on_page')
      total = sql<number>`(select cast(count(*) as integer) from ${matches})`
    } else {
      onPage = db
        .select({ id: marketplaceConnectors.id })
        .from(marketplaceConnectors)
        .where(and(visible(marketplaceConnectors), filtered(marketplaceConnectors)))
        .orderBy(...byName(marketplaceConnectors))
        .limit(constantLimit(MARKETPLACE_PAGE_SIZE))
        .offset(sql.placeholder('offset'))
        .as('on_page')
      total = sql<number>`(select cast(count(*) as integer) from ${marketplaceConnectors} ${prebuiltCounted}
        where ${and(eq(prebuiltCounted.kind, 'prebuilt'), filtered(prebuiltCounted))})
      + (select cast(count(*) as integer) from ${marketplaceConnectors} ${customCounted}
        where ${and(eq(customCounted.companyId, companyId), filtered(customCounted))})`
    }
    return (matches ? db.with(matches) : db)
      .select({
        id: marketplaceConnectors.id,
        key: marketplaceConnectors.key,
        kind: marketplaceConnectors.kind,
        name: marketplaceConnectors.name,
        description: marketplaceConnectors.description,
        systemType: marketplaceConnectors.systemType,
        colour: marketplaceConnectors.colour,
        version: marketplaceVersions.version,
        releasedOn: marketplaceVersions.releasedOn,
        installed: sql<[number, string | null]>`(select json_build_array(count(*), (array_agg(${installedCopy.id}))[1])
      from ${connectors} ${installedCopy}
      where ${installedCopy.marketplaceConnectorId} = ${marketplaceConnectors.id} and ${installedCopy.companyId} = ${companyId})`,
        total,
      })
      .from(onPage)
      .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, onPage.id))
      .leftJoin(marketplaceVersions, eq(marketplaceVersions.id, marketplaceConnectors.latestVersionId))
      .orderBy(asc(sql`lower(${marketplaceConnectors.name})`), asc(marketplaceConnectors.id))
      .prepare(`marketplace_page${filters.type ? '_by_type' : ''}${filters.search ? '_search' : ''}`)
  })
const marketplacePage = {
  all: marketplacePageQuery({ type: false, search: false }),
  byType: marketplacePageQuery({ type: true, search: false }),
  search: marketplacePageQuery({ type: false, search: true }),
  searchByType: marketplacePageQuery({ type: true, search: true }),
}

export async function browseMarketplace(
  db: Db,
  actor: Actor,
  query: MarketplaceQuery,
): Promise<Page<MarketplaceEntry>> {
  const q = query.q?.trim()
  const pageQuery = q
    ? query.type
      ? marketplacePage.searchByType
      : marketplacePage.search
    : query.type
      ? marketplacePage.byType
      : marketplacePage.all
  const rows = await pageQuery(db).execute({
    companyId: actor.companyId,
    type: query.type,
    pattern: q ? containsPattern(q) : undefined,
    offset: (query.page - 1) * MARKETPLACE_PAGE_SIZE,
  })
  const page = pageOf(rows, query.page, MARKETPLACE_PAGE_SIZE)
  return {
    ...page,
    rows: page.rows.map(({ installed: [installedCount, installedId], ...entry }) => ({
      ...entry,
      installedCount,
      installedId,
    })),
  }
}
