// The marketplace: the vendor's prebuilt connectors and this company's custom ones.
import { and, asc, eq, ilike, or, sql, type SQL } from 'drizzle-orm'
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core'
import semver from 'semver'
import { connectors, marketplaceConnectors, marketplaceVersions } from '../db/schema.js'
import type { Db } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import type { Actor } from './actor.js'
import type { SystemType } from './definition.js'
import { ManifestError, type ConnectorManifest } from '../marketplace/manifest.js'
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

export interface MarketplaceQuery { q?: string; type?: SystemType; page: number }

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
const marketplacePageQuery = (filters: { type: boolean; search: boolean }) => preparedQuery((db) => {
  const companyId = sql.placeholder('companyId')
  const filtered = (entry: EntryColumns) => and(
    filters.type ? eq(entry.systemType, sql.placeholder('type')) : undefined,
    filters.search ? ilike(sql`(${entry.name} || ' ' || ${entry.description})`, sql.placeholder('pattern')) : undefined,
  )
  const visible = (entry: EntryColumns) => or(eq(entry.kind, 'prebuilt'), eq(entry.companyId, companyId))
  const byName = (entry: { id: AnyPgColumn; name: AnyPgColumn }) => [asc(sql`lower(${entry.name})`), asc(entry.id)]

  let matches, onPage, total
  if (filters.search) {
    matches = db.$with('matches').as(db.select({ id: marketplaceConnectors.id, name: marketplaceConnectors.name })
      .from(marketplaceConnectors).where(and(visible(marketplaceConnectors), filtered(marketplaceConnectors))))
    onPage = db.select({ id: matches.id }).from(matches).orderBy(...byName(matches))
      .limit(constantLimit(MARKETPLACE_PAGE_SIZE)).offset(sql.placeholder('offset')).as('on_page')
    total = sql<number>`(select cast(count(*) as integer) from ${matches})`
  } else {
    onPage = db.select({ id: marketplaceConnectors.id }).from(marketplaceConnectors)
      .where(and(visible(marketplaceConnectors), filtered(marketplaceConnectors))).orderBy(...byName(marketplaceConnectors))
      .limit(constantLimit(MARKETPLACE_PAGE_SIZE)).offset(sql.placeholder('offset')).as('on_page')
    total = sql<number>`(select cast(count(*) as integer) from ${marketplaceConnectors} ${prebuiltCounted}
        where ${and(eq(prebuiltCounted.kind, 'prebuilt'), filtered(prebuiltCounted))})
      + (select cast(count(*) as integer) from ${marketplaceConnectors} ${customCounted}
        where ${and(eq(customCounted.companyId, companyId), filtered(customCounted))})`
  }
  return (matches ? db.with(matches) : db).select({
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
  }).from(onPage)
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

export async function browseMarketplace(db: Db, actor: Actor, query: MarketplaceQuery): Promise<Page<MarketplaceEntry>> {
  const q = query.q?.trim()
  const pageQuery = q ? (query.type ? marketplacePage.searchByType : marketplacePage.search) : (query.type ? marketplacePage.byType : marketplacePage.all)
  const rows = await pageQuery(db).execute({
    companyId: actor.companyId, type: query.type, pattern: q ? containsPattern(q) : undefined,
    offset: (query.page - 1) * MARKETPLACE_PAGE_SIZE,
  })
  const page = pageOf(rows, query.page, MARKETPLACE_PAGE_SIZE)
  return { ...page, rows: page.rows.map(({ installed: [installedCount, installedId], ...entry }) => ({ ...entry, installedCount, installedId })) }
}

/**
 * Publishes a manifest's versions that the marketplace does not have yet, oldest first, in one
 * transaction. A version not newer than the latest published one is refused, naming the file.
 */
export async function publishManifest(db: Db, file: string, manifest: ConnectorManifest): Promise<string[]> {
  return db.transaction(async (tx) => {
    const values = {
      key: manifest.key, kind: 'prebuilt' as const, name: manifest.name, description: manifest.description,
      systemType: manifest.systemType, colour: manifest.colour,
    }
    const [entry] = await tx.insert(marketplaceConnectors).values(values)
      .onConflictDoUpdate({
        target: marketplaceConnectors.key,
        targetWhere: sql`${marketplaceConnectors.kind} = 'prebuilt'`,
        set: { name: values.name, description: values.description, systemType: values.systemType, colour: values.colour },
      })
      .returning({ id: marketplaceConnectors.id })
    const published = await tx.select({ id: marketplaceVersions.id, version: marketplaceVersions.version })
      .from(marketplaceVersions).where(eq(marketplaceVersions.marketplaceConnectorId, entry!.id))
    const known = new Set(published.map((v) => v.version))
    let latest = published.map((v) => v.version).sort(semver.rcompare)[0]
    const added: string[] = []
    let latestId: string | undefined
    for (const [i, version] of manifest.versions.entries()) {
      if (known.has(version.version)) continue
      if (latest && !semver.gt(version.version, latest)) {
        throw new ManifestError(file, `/versions/${i}/version`, `${version.version} is not newer than ${latest}, the latest version of ${manifest.name} in the marketplace`)
      }
      const [row] = await tx.insert(marketplaceVersions).values({
        marketplaceConnectorId: entry!.id,
        version: version.version,
        releaseNotes: version.releaseNotes,
        definition: version.definition,
        releasedOn: new Date(`${version.releasedOn}T00:00:00Z`),
      }).returning({ id: marketplaceVersions.id })
      latest = version.version
      latestId = row!.id
      added.push(version.version)
    }
    if (latestId) {
      await tx.update(marketplaceConnectors).set({ latestVersionId: latestId }).where(eq(marketplaceConnectors.id, entry!.id))
    }
    return added
  })
}

/** Brings the marketplace up to date with the catalogue's manifests (at start and from the CLI). */
export async function publishCatalogue(db: Db, manifests: { file: string; manifest: ConnectorManifest }[]): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {}
  for (const { file, manifest } of manifests) {
    const added = await publishManifest(db, file, manifest)
    if (added.length) result[manifest.key] = added
  }
  return result
}
