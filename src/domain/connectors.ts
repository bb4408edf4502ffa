// Installed connectors: the manage connectors list, one connector, removal. Installing: connector-install.ts.
import { and, asc, count, desc, eq, ilike, lt, or, sql, type SQL } from 'drizzle-orm'
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core'
import { hasUpdate, versionLabel } from './versions.js'
import {
  connectionShapes,
  connectorRevisions,
  connectors,
  instances,
  marketplaceConnectors,
  marketplaceVersions,
  users,
} from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import type { Actor } from './actor.js'
import { runCommand } from './command.js'
import { lockConnectors } from './locks.js'
import { NotFound, RevisionConflict } from './errors.js'
import type { EditForm } from './edit-form.js'
import type { RemovalResult } from './removal.js'
import { retryOnceIfViolated } from '../db/errors.js'
import { constantLimit, containsPattern, pageOf, type Page } from './pagination.js'
import {
  connectorOf,
  installer,
  latestVersion,
  modifier,
  selectConnectorDetails,
  selectConnectors,
} from './connector-queries.js'

export const CONNECTORS_PAGE_SIZE = 20
/** Instances shown under each connector on the manage connectors page; the rest are a link away. */
export const INSTANCES_SHOWN = 3

/** The conflict to throw when the connector is no longer at the revision a form was based on. */
export async function revisionConflict(tx: Tx, connectorId: string): Promise<RevisionConflict> {
  const [last] = await tx
    .select({ number: connectorRevisions.number, authorName: users.name })
    .from(connectorRevisions)
    .innerJoin(users, eq(users.id, connectorRevisions.authorId))
    .where(eq(connectorRevisions.connectorId, connectorId))
    .orderBy(desc(connectorRevisions.number))
    .limit(1)
  return new RevisionConflict(last?.authorName ?? 'Somebody', last?.number ?? 0)
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

export interface InstanceSummary {
  id: string
  connectorId: string
  name: string
  authMethodKey: string
  flowCount: number
}

/** `instances`: the first INSTANCES_SHOWN by name; `instanceCount`: all of them. */
export type ConnectorListItem = ConnectorSummary & {
  marketplaceName: string
  instances: InstanceSummary[]
  instanceCount: number
}

/** The manage connectors list: `q` filters by name, `installedFrom` to the copies of one marketplace connector. */
export interface ConnectorListQuery {
  q?: string
  installedFrom?: string
  page: number
}

const counted = alias(connectors, 'counted')
const sibling = alias(connectors, 'sibling')
const pending = alias(connectors, 'pending')

/** How many process flows use an instance (through their connection shapes). */
const flowsUsing = (instanceId: AnyPgColumn | SQL) =>
  sql<number>`(select cast(count(distinct ${connectionShapes.processFlowId}) as integer) from ${connectionShapes} where ${connectionShapes.instanceId} = ${instanceId})`
const siblingVersion = alias(marketplaceVersions, 'sibling_version')

/**
 * The manage connectors page in one query, whatever the number of connectors: the page's ids from
 * the (company, name) index, then only those rows joined, each with its instances aggregated.
 * Built once per database for each combination of filters (name, marketplace connector).
 */
const connectorPageQuery = (filters: { name: boolean; installedFrom: boolean }) =>
  preparedQuery((db) => {
    const matching = (table: { companyId: AnyPgColumn; name: AnyPgColumn; marketplaceConnectorId: AnyPgColumn }) =>
      and(
        eq(table.companyId, sql.placeholder('companyId')),
        filters.name ? ilike(table.name, sql.placeholder('pattern')) : undefined,
        filters.installedFrom ? eq(table.marketplaceConnectorId, sql.placeholder('installedFrom')) : undefined,
      )
    const onPage = db
      .select({ id: connectors.id })
      .from(connectors)
      .where(matching(connectors))
      .orderBy(asc(sql`lower(${connectors.name})`), asc(connectors.id))
      .limit(constantLimit(CONNECTORS_PAGE_SIZE))
      .offset(sql.placeholder('offset'))
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
      // [id, name, authentication method, process flows using it] per instance shown: half the database's work of json_build_object.
      instances: sql<[string, string, string, number][]>`(
      select coalesce(json_agg(json_build_array(shown.id, shown.name, shown.auth_method_key,
        ${flowsUsing(sql`shown.id`)}
      ) order by lower(shown.name), shown.id), '[]')
      from (select ${instances.id} as id, ${instances.name} as name, ${instances.authMethodKey} as auth_method_key from ${instances}
        where ${instances.connectorId} = ${connectors.id} and ${instances.companyId} = ${connectors.companyId}
        order by lower(${instances.name}), ${instances.id} limit ${sql.raw(String(INSTANCES_SHOWN))}) shown)`,
      instanceCount: sql<number>`(select cast(count(*) as integer) from ${instances} where ${instances.connectorId} = ${connectors.id} and ${instances.companyId} = ${connectors.companyId})`,
      total: sql<number>`(select cast(count(*) as integer) from ${connectors} ${counted} where ${matching(counted)})`,
      // Of the whole company, whatever the filter: the "N updates available" link to the updates screen.
      // Counted on the partial index of connectors whose update is pending (kept by the database).
      updatesPending: sql<number>`(select cast(count(*) as integer) from ${connectors} ${pending}
        where ${pending.companyId} = ${sql.placeholder('companyId')} and ${pending.updatePending})`,
    })
      .innerJoin(onPage, eq(onPage.id, connectors.id))
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
export async function listConnectors(
  db: Db,
  actor: Actor,
  query: ConnectorListQuery,
): Promise<Page<ConnectorListItem> & { updatesPending: number }> {
  const q = query.q?.trim()
  const from = query.installedFrom
  const pageQuery = q
    ? from
      ? connectorPage.filteredFrom
      : connectorPage.filtered
    : from
      ? connectorPage.from
      : connectorPage.all
  const rows = await pageQuery(db).execute({
    companyId: actor.companyId,
    pattern: q ? containsPattern(q) : undefined,
    installedFrom: from,
    offset: (query.page - 1) * CONNECTORS_PAGE_SIZE,
  })
  const page = pageOf(rows, query.page, CONNECTORS_PAGE_SIZE)
  return {
    ...page,
    updatesPending: rows[0]?.updatesPending ?? 0,
    rows: page.rows.map((c) => ({
      ...c,
      updateAvailable: hasUpdate(c.kind, c.version, c.latestVersion),
      instances: c.instances.map(([id, name, authMethodKey, flowCount]) => ({
        id,
        connectorId: c.id,
        name,
        authMethodKey,
        flowCount,
      })),
    })),
  }
}

/** Every instance of one connector of the actor's company, by name (the manage connectors page shows the first few). */
export async function listInstancesOfConnector(db: Db, actor: Actor, connectorId: string) {
  const [connector] = await db
    .select({ id: connectors.id, name: connectors.name })
    .from(connectors)
    .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))
  if (!connector) throw new NotFound('That connector')
  const rows = await db
    .select({
      id: instances.id,
      name: instances.name,
      authMethodKey: instances.authMethodKey,
      flowCount: flowsUsing(instances.id),
    })
    .from(instances)
    .where(and(eq(instances.connectorId, connector.id), eq(instances.companyId, actor.companyId)))
    .orderBy(asc(sql`lower(${instances.name})`), asc(instances.id))
  return { connector, instances: rows.map((i): InstanceSummary => ({ ...i, connectorId: connector.id })) }
}

/** The page of the manage connectors list a connector stands on, so a redirect can show it. */
export async function pageOfConnector(db: Db, actor: Actor, connector: { id: string; name: string }): Promise<number> {
  const [before] = await db
    .select({ n: count() })
    .from(connectors)
    .where(
      and(
        eq(connectors.companyId, actor.companyId),
        or(
          lt(sql`lower(${connectors.name})`, connector.name.toLowerCase()),
          and(eq(sql`lower(${connectors.name})`, connector.name.toLowerCase()), lt(connectors.id, connector.id)),
        ),
      ),
    )
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
    // The revision that made it modified: saved in the same transaction, so at the same now().
    modifiedRevision: sql<
      number | null
    >`(select max(${connectorRevisions.number}) from ${connectorRevisions} where ${connectorRevisions.connectorId} = ${connectors.id} and ${connectorRevisions.createdAt} = ${connectors.modifiedAt})`,
    instanceCount: sql<number>`(select cast(count(*) as integer) from ${instances} where ${instances.connectorId} = ${connectors.id} and ${instances.companyId} = ${connectors.companyId})`,
    /** Other connectors of the company installed from the same marketplace connector (instances can move between them): [id, name, version, instances]. */
    siblingRows: sql<
      [string, string, string, number][]
    >`(select coalesce(json_agg(json_build_array(${sibling.id}, ${sibling.name}, ${siblingVersion.version},
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

export interface InstanceOfConnector {
  id: string
  name: string
}

/**
 * Removes a connector unless it has instances (help text: "If any instances are found for this
 * connector, the delete operation is cancelled"). The check and the delete are one transaction, and
 * the foreign key from instances refuses the delete if an instance slipped in between.
 */
export async function removeConnector(
  db: Db,
  actor: Actor,
  id: string,
  form: EditForm,
): Promise<RemovalResult<InstanceOfConnector>> {
  return retryOnceIfViolated('instances_connector_fk', () =>
    runCommand<RemovalResult<InstanceOfConnector>>(db, actor, {
      permission: 'manageConnectors',
      submission: form.submission,
      run: async (tx, earlier) => {
        // The row alone is locked, then read (see lockConnector): an update meanwhile must not make it seem gone.
        const [locked] = await lockConnectors(tx, and(eq(connectors.id, id), eq(connectors.companyId, actor.companyId)))
        if (!locked && earlier) return { result: { removed: true as const, name: '' } }
        if (!locked) throw new NotFound('That connector')
        const [connector] = (await selectConnectors(tx, {
          name: connectors.name,
          version: marketplaceVersions.version,
          revision: connectors.revision,
        }).where(eq(connectors.id, locked.id))) as [{ name: string; version: string; revision: number }]
        // The prompt showed this revision: a change saved since is looked at before removing.
        if (connector.revision !== form.version) throw await revisionConflict(tx, id)
        const blockers = await tx
          .select({ id: instances.id, name: instances.name })
          .from(instances)
          .where(and(eq(instances.connectorId, id), eq(instances.companyId, actor.companyId)))
          .orderBy(asc(sql`lower(${instances.name})`))
        if (blockers.length) return { result: { removed: false as const, name: connector.name, blockers } }
        await tx.delete(connectors).where(eq(connectors.id, id))
        return {
          result: { removed: true as const, name: connector.name },
          resultId: id,
          audit: {
            action: 'remove',
            subjectType: 'connector',
            subjectId: id,
            summary: `removed connector ${connector.name} (${versionLabel(connector.version)}) and its revision history`,
          },
        }
      },
    }),
  )
}
