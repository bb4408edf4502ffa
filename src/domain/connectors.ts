// Installed connectors: install from the marketplace, list, read.
import { and, asc, count, desc, eq, ilike, like, lt, lte, or, sql } from 'drizzle-orm'
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core'
import { hasUpdate, versionLabel } from './versions.js'
import {
  companies, connectionShapes, connectorRevisions, connectors, formSubmissions, instances, marketplaceConnectors, marketplaceVersions, users,
} from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import { requirePermission, type Actor } from './actor.js'
import { recordEvent } from './audit.js'
import { NotFound, RevisionConflict } from './errors.js'
import type { EditForm } from './edit-form.js'
import type { RemovalResult } from './removal.js'
import { retryOnceIfViolated } from '../db/errors.js'
import { visibleTo } from './marketplace.js'
import { constantLimit, containsPattern, pageOf, type Page } from './pagination.js'
import { connectorOf, installer, latestVersion, modifier, selectConnectorDetails, selectConnectors } from './connector-queries.js'

export const CONNECTORS_PAGE_SIZE = 20

/**
 * Claims a form's one-time key inside the transaction. Returns the earlier result when the same
 * form was already submitted (a double click, a resent request), or null when this is the first.
 */
export async function claimSubmission(tx: Tx, actor: Actor, key: string | undefined): Promise<{ resultId: string | null } | null> {
  if (!key) return null
  const claimed = await tx.insert(formSubmissions).values({ companyId: actor.companyId, key })
    .onConflictDoNothing().returning({ key: formSubmissions.key })
  if (claimed.length) return null
  const [earlier] = await tx.select({ resultId: formSubmissions.resultId }).from(formSubmissions)
    .where(and(eq(formSubmissions.companyId, actor.companyId), eq(formSubmissions.key, key)))
  return { resultId: earlier?.resultId ?? null }
}

export async function completeSubmission(tx: Tx, actor: Actor, key: string | undefined, resultId: string): Promise<void> {
  if (!key) return
  await tx.update(formSubmissions).set({ resultId })
    .where(and(eq(formSubmissions.companyId, actor.companyId), eq(formSubmissions.key, key)))
}

/** The conflict to throw when the connector is no longer at the revision a form was based on. */
export async function revisionConflict(tx: Tx, connectorId: string): Promise<RevisionConflict> {
  const [last] = await tx.select({ number: connectorRevisions.number, authorName: users.name })
    .from(connectorRevisions).innerJoin(users, eq(users.id, connectorRevisions.authorId))
    .where(eq(connectorRevisions.connectorId, connectorId))
    .orderBy(desc(connectorRevisions.number)).limit(1)
  return new RevisionConflict(last?.authorName ?? 'Somebody', last?.number ?? 0)
}


export interface InstalledConnector {
  id: string
  name: string
  version: string
  /** The marketplace connector it is a copy of, and how many copies of it the company has now. */
  marketplaceName: string
  copies: number
}

/** How many of the company's connectors come from one marketplace connector, installed up to a moment. */
async function copiesOf(tx: Tx, actor: Actor, marketplaceConnectorId: string, upTo?: Date): Promise<number> {
  const [copies] = await tx.select({ n: count() }).from(connectors).where(and(
    eq(connectors.companyId, actor.companyId), eq(connectors.marketplaceConnectorId, marketplaceConnectorId),
    upTo ? lte(connectors.installedAt, upTo) : undefined,
  ))
  return copies!.n
}


/**
 * Names of a company's connectors are unique, whatever the case (a unique index). Everything that
 * names a connector (install, install alongside, the builder's complete, a rename) takes this lock
 * first, so a name found free under it is still free when inserted: one after the other, no retries.
 * It is the company's row, FOR NO KEY UPDATE, which does not block inserts that reference the company.
 * Lock order: a connector's row (lockConnector) before this.
 */
export async function lockConnectorNames(tx: Tx, actor: Actor): Promise<void> {
  await tx.select({ id: companies.id }).from(companies).where(eq(companies.id, actor.companyId)).for('no key update')
}

/**
 * `wanted` when no connector of the company is called that (whatever the case), else the first free
 * of "wanted (2)", "wanted (3)", … Call it under lockConnectorNames. Cases are compared by the
 * database's lower(), as the unique index does.
 */
export async function freeConnectorName(tx: Tx, actor: Actor, wanted: string): Promise<string> {
  const taken = await tx.select({ name: sql<string>`lower(${connectors.name})`, wanted: sql<string>`lower(${wanted})` }).from(connectors)
    .where(and(eq(connectors.companyId, actor.companyId), or(
      eq(sql`lower(${connectors.name})`, sql`lower(${wanted})`),
      like(sql`lower(${connectors.name})`, sql`lower(${`${wanted.replace(/[\\%_]/g, (c) => `\\${c}`)} (%)`})`),
    )))
  const names = new Set(taken.map((t) => t.name))
  const lower = taken[0]?.wanted
  if (!lower || !names.has(lower)) return wanted
  for (let n = 2; ; n++) if (!names.has(`${lower} (${n})`)) return `${wanted} (${n})`
}

/**
 * Installs a marketplace connector from its latest version. Installing one that is already
 * installed installs another copy, numbered so the two can be told apart: "HubSpot", "HubSpot (2)", …
 * the first name no connector of the company has.
 */
export async function installConnector(db: Db, actor: Actor, marketplaceConnectorId: string, submissionKey?: string): Promise<InstalledConnector> {
  requirePermission(actor, 'manageConnectors')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, submissionKey)
    if (earlier?.resultId) {
      const [done] = await tx.select({
        id: connectors.id, name: connectors.name, version: marketplaceVersions.version, installedAt: connectors.installedAt,
        marketplaceConnectorId: connectors.marketplaceConnectorId, marketplaceName: marketplaceConnectors.name,
      }).from(connectors)
        .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
        .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
        .where(and(eq(connectors.id, earlier.resultId), eq(connectors.companyId, actor.companyId)))
      if (done) {
        const copies = await copiesOf(tx, actor, done.marketplaceConnectorId, done.installedAt)
        return { id: done.id, name: done.name, version: done.version, marketplaceName: done.marketplaceName, copies }
      }
    }
    const [entry] = await tx.select({
      id: marketplaceConnectors.id, name: marketplaceConnectors.name, kind: marketplaceConnectors.kind,
      versionId: marketplaceVersions.id, version: marketplaceVersions.version, definition: marketplaceVersions.definition,
    }).from(marketplaceConnectors)
      .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, marketplaceConnectors.latestVersionId))
      .where(and(eq(marketplaceConnectors.id, marketplaceConnectorId), visibleTo(actor)))
    if (!entry) throw new NotFound('That marketplace connector')
    await lockConnectorNames(tx, actor)
    const before = await copiesOf(tx, actor, entry.id)
    const name = await freeConnectorName(tx, actor, entry.name)
    const [connector] = await tx.insert(connectors).values({
      companyId: actor.companyId,
      marketplaceConnectorId: entry.id,
      marketplaceVersionId: entry.versionId,
      name,
      definition: entry.definition,
      installedBy: actor.id,
    }).returning({ id: connectors.id })
    await tx.insert(connectorRevisions).values({
      connectorId: connector!.id, number: 1, authorId: actor.id, definition: entry.definition, marketplaceVersionId: entry.versionId,
      summary: `installed ${versionLabel(entry.version)} from the marketplace`,
    })
    await recordEvent(tx, actor, {
      action: 'install', subjectType: 'connector', subjectId: connector!.id,
      summary: `installed ${name} (${entry.kind}, ${versionLabel(entry.version)})`,
      details: { marketplaceConnectorId: entry.id, version: entry.version },
    })
    await completeSubmission(tx, actor, submissionKey, connector!.id)
    return { id: connector!.id, name, version: entry.version, marketplaceName: entry.name, copies: before + 1 }
  })
}

export interface ConnectorSummary {
  id: string
  name: string
  kind: 'prebuilt' | 'custom'
  version: string
  latestVersion: string | null
  installedAt: Date
  installedByName: string
  modifiedAt: Date | null
  modifiedByName: string | null
  /** A prebuilt connector whose marketplace entry has a newer version (custom ones never do). */
  updateAvailable: boolean
}

export interface InstanceSummary { id: string; connectorId: string; name: string; authMethodKey: string; flowCount: number }

export type ConnectorListItem = ConnectorSummary & { marketplaceName: string; instances: InstanceSummary[] }

/** The manage connectors list: `q` filters by name, `installedFrom` to the copies of one marketplace connector. */
export interface ConnectorListQuery { q?: string; installedFrom?: string; page: number }

const counted = alias(connectors, 'counted')
const sibling = alias(connectors, 'sibling')
const siblingVersion = alias(marketplaceVersions, 'sibling_version')

/**
 * The manage connectors page in one query, whatever the number of connectors: the page's ids from
 * the (company, name) index, then only those rows joined, each with its instances aggregated.
 * Built once per database for each combination of filters (name, marketplace connector).
 */
const connectorPageQuery = (filters: { name: boolean; installedFrom: boolean }) => preparedQuery((db) => {
  const matching = (table: { companyId: AnyPgColumn; name: AnyPgColumn; marketplaceConnectorId: AnyPgColumn }) => and(
    eq(table.companyId, sql.placeholder('companyId')),
    filters.name ? ilike(table.name, sql.placeholder('pattern')) : undefined,
    filters.installedFrom ? eq(table.marketplaceConnectorId, sql.placeholder('installedFrom')) : undefined,
  )
  const onPage = db.select({ id: connectors.id }).from(connectors).where(matching(connectors))
    .orderBy(asc(sql`lower(${connectors.name})`), asc(connectors.id))
    .limit(constantLimit(CONNECTORS_PAGE_SIZE)).offset(sql.placeholder('offset'))
    .as('on_page')
  return selectConnectorDetails(db, {
    id: connectors.id,
    name: connectors.name,
    kind: marketplaceConnectors.kind,
    marketplaceName: marketplaceConnectors.name,
    version: marketplaceVersions.version,
    latestVersion: latestVersion.version,
    installedAt: connectors.installedAt,
    installedByName: installer.name,
    modifiedAt: connectors.modifiedAt,
    modifiedByName: modifier.name,
    // [id, name, authentication method, process flows using it] per instance: half the database's work of json_build_object.
    instances: sql<[string, string, string, number][]>`(
      select coalesce(json_agg(json_build_array(${instances.id}, ${instances.name}, ${instances.authMethodKey},
        (select count(distinct ${connectionShapes.processFlowId}) from ${connectionShapes} where ${connectionShapes.instanceId} = ${instances.id})
      ) order by lower(${instances.name}), ${instances.id}), '[]')
      from ${instances} where ${instances.connectorId} = ${connectors.id} and ${instances.companyId} = ${connectors.companyId})`,
    total: sql<number>`(select cast(count(*) as integer) from ${connectors} ${counted} where ${matching(counted)})`,
  }).innerJoin(onPage, eq(onPage.id, connectors.id))
    .orderBy(asc(sql`lower(${connectors.name})`), asc(connectors.id))
    .prepare(`connector_page${filters.name ? '_filtered' : ''}${filters.installedFrom ? '_from' : ''}`)
})
const connectorPage = {
  all: connectorPageQuery({ name: false, installedFrom: false }),
  filtered: connectorPageQuery({ name: true, installedFrom: false }),
  from: connectorPageQuery({ name: false, installedFrom: true }),
  filteredFrom: connectorPageQuery({ name: true, installedFrom: true }),
}

/** The manage connectors page: one page of connectors with their instances. One query. */
export async function listConnectors(db: Db, actor: Actor, query: ConnectorListQuery): Promise<Page<ConnectorListItem>> {
  const q = query.q?.trim()
  const from = query.installedFrom
  const pageQuery = q ? (from ? connectorPage.filteredFrom : connectorPage.filtered) : (from ? connectorPage.from : connectorPage.all)
  const rows = await pageQuery(db).execute({
    companyId: actor.companyId, pattern: q ? containsPattern(q) : undefined, installedFrom: from, offset: (query.page - 1) * CONNECTORS_PAGE_SIZE,
  })
  const page = pageOf(rows, query.page, CONNECTORS_PAGE_SIZE)
  return {
    ...page,
    rows: page.rows.map((c) => ({
      ...c,
      updateAvailable: hasUpdate(c.kind, c.version, c.latestVersion),
      instances: c.instances.map(([id, name, authMethodKey, flowCount]) => ({ id, connectorId: c.id, name, authMethodKey, flowCount })),
    })),
  }
}

/** The page of the manage connectors list a connector stands on, so a redirect can show it. */
export async function pageOfConnector(db: Db, actor: Actor, connector: { id: string; name: string }): Promise<number> {
  const [before] = await db.select({ n: count() }).from(connectors).where(and(
    eq(connectors.companyId, actor.companyId),
    or(
      lt(sql`lower(${connectors.name})`, connector.name.toLowerCase()),
      and(eq(sql`lower(${connectors.name})`, connector.name.toLowerCase()), lt(connectors.id, connector.id)),
    ),
  ))
  return Math.floor(before!.n / CONNECTORS_PAGE_SIZE) + 1
}

/** One connector of the actor's company, or NotFound (also for another company's id). */
export async function getConnector(db: Db, actor: Actor, id: string) {
  const [row] = await selectConnectorDetails(db, {
    id: connectors.id,
    name: connectors.name,
    kind: marketplaceConnectors.kind,
    marketplaceConnectorId: connectors.marketplaceConnectorId,
    marketplaceName: marketplaceConnectors.name,
    systemType: marketplaceConnectors.systemType,
    version: marketplaceVersions.version,
    marketplaceVersionId: connectors.marketplaceVersionId,
    latestVersion: latestVersion.version,
    latestVersionId: marketplaceConnectors.latestVersionId,
    definition: connectors.definition,
    revision: connectors.revision,
    installedAt: connectors.installedAt,
    installedByName: installer.name,
    modifiedAt: connectors.modifiedAt,
    modifiedByName: modifier.name,
    instanceCount: sql<number>`(select cast(count(*) as integer) from ${instances} where ${instances.connectorId} = ${connectors.id} and ${instances.companyId} = ${connectors.companyId})`,
    /** Other connectors of the company installed from the same marketplace connector (instances can move between them): [id, name, version, instances]. */
    siblingRows: sql<[string, string, string, number][]>`(select coalesce(json_agg(json_build_array(${sibling.id}, ${sibling.name}, ${siblingVersion.version},
        (select count(*) from ${instances} where ${instances.connectorId} = ${sibling.id} and ${instances.companyId} = ${sibling.companyId})
      ) order by lower(${sibling.name}), ${sibling.id}), '[]')
      from ${connectors} ${sibling} inner join ${marketplaceVersions} ${siblingVersion} on ${siblingVersion.id} = ${sibling.marketplaceVersionId}
      where ${sibling.companyId} = ${connectors.companyId} and ${sibling.marketplaceConnectorId} = ${connectors.marketplaceConnectorId} and ${sibling.id} <> ${connectors.id})`,
  }).where(connectorOf(actor, id))
  if (!row) throw new NotFound('That connector')
  const { siblingRows, ...connector } = row
  const siblings = siblingRows.map(([id, name, version, instanceCount]) => ({ id, name, version, instanceCount }))
  return { ...connector, siblings, siblingCount: siblings.length }
}

export interface InstanceOfConnector { id: string; name: string }

/**
 * Removes a connector unless it has instances (help text: "If any instances are found for this
 * connector, the delete operation is cancelled"). The check and the delete are one transaction, and
 * the foreign key from instances refuses the delete if an instance slipped in between.
 */
export async function removeConnector(db: Db, actor: Actor, id: string, form: EditForm): Promise<RemovalResult<InstanceOfConnector>> {
  requirePermission(actor, 'manageConnectors')
  const attempt = () => db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, form.submission)
    // The row alone is locked, then read (see lockConnector): an update meanwhile must not make it seem gone.
    const [locked] = await tx.select({ id: connectors.id }).from(connectors)
      .where(and(eq(connectors.id, id), eq(connectors.companyId, actor.companyId))).for('update')
    if (!locked && earlier) return { removed: true as const, name: '' }
    if (!locked) throw new NotFound('That connector')
    const [connector] = await selectConnectors(tx, { name: connectors.name, version: marketplaceVersions.version, revision: connectors.revision })
      .where(eq(connectors.id, locked.id)) as [{ name: string; version: string; revision: number }]
    // The prompt showed this revision: a change saved since is looked at before removing.
    if (connector.revision !== form.version) throw await revisionConflict(tx, id)
    const blockers = await tx.select({ id: instances.id, name: instances.name }).from(instances)
      .where(and(eq(instances.connectorId, id), eq(instances.companyId, actor.companyId)))
      .orderBy(asc(sql`lower(${instances.name})`))
    if (blockers.length) return { removed: false as const, name: connector.name, blockers }
    await tx.delete(connectors).where(eq(connectors.id, id))
    await recordEvent(tx, actor, {
      action: 'remove', subjectType: 'connector', subjectId: id,
      summary: `removed connector ${connector.name} (${versionLabel(connector.version)}) and its revision history`,
    })
    await completeSubmission(tx, actor, form.submission, id)
    return { removed: true as const, name: connector.name }
  })
  return retryOnceIfViolated('instances_connector_fk', attempt)
}
