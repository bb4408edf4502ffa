// Installing connectors from the marketplace: install (another copy gets a free name), and what
// install alongside and the builder share with it.
import { and, count, eq, like, lte, or, sql } from 'drizzle-orm'
import { connectorRevisions, connectors, marketplaceConnectors, marketplaceVersions } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import type { ConnectorDefinition } from './definition.js'
import type { Actor } from './actor.js'
import type { AuditEntry } from './audit.js'
import { runCommand } from './command.js'
import { lockConnectorNames } from './locks.js'
import { NotFound } from './errors.js'
import { visibleTo } from './marketplace.js'
import { versionLabel } from './versions.js'

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
  const [copies] = await tx
    .select({ n: count() })
    .from(connectors)
    .where(
      and(
        eq(connectors.companyId, actor.companyId),
        eq(connectors.marketplaceConnectorId, marketplaceConnectorId),
        upTo ? lte(connectors.installedAt, upTo) : undefined,
      ),
    )
  return copies!.n
}

/**
 * `wanted` when no connector of the company is called that (whatever the case), else the first free
 * of "wanted (2)", "wanted (3)", … Call it under lockConnectorNames (locks.ts). Cases are compared by the
 * database's lower(), as the unique index does.
 */
export async function freeConnectorName(tx: Tx, actor: Actor, wanted: string): Promise<string> {
  const taken = await tx
    .select({ name: sql<string>`lower(${connectors.name})`, wanted: sql<string>`lower(${wanted})` })
    .from(connectors)
    .where(
      and(
        eq(connectors.companyId, actor.companyId),
        or(
          eq(sql`lower(${connectors.name})`, sql`lower(${wanted})`),
          like(sql`lower(${connectors.name})`, sql`lower(${`${wanted.replace(/[\\%_]/g, (c) => `\\${c}`)} (%)`})`),
        ),
      ),
    )
  const names = new Set(taken.map((t) => t.name))
  const lower = taken[0]?.wanted
  if (!lower || !names.has(lower)) return wanted
  for (let n = 2; ; n++) if (!names.has(`${lower} (${n})`)) return `${wanted} (${n})`
}

/** A marketplace version to install, the name wanted for it and the summary of its first revision. */
export interface VersionToInstall {
  marketplaceConnectorId: string
  versionId: string
  definition: ConnectorDefinition
  name: string
  summary: string
}

/**
 * Installs a marketplace version as a new connector of the company, at revision 1: named as wanted,
 * or the first free of "name (2)", "name (3)", … when a connector has that name.
 * What install, install alongside and the builder's complete share.
 */
export async function installMarketplaceVersion(tx: Tx, actor: Actor, version: VersionToInstall) {
  await lockConnectorNames(tx, actor)
  const name = await freeConnectorName(tx, actor, version.name)
  const [connector] = await tx
    .insert(connectors)
    .values({
      companyId: actor.companyId,
      marketplaceConnectorId: version.marketplaceConnectorId,
      marketplaceVersionId: version.versionId,
      name,
      definition: version.definition,
      installedBy: actor.id,
    })
    .returning({ id: connectors.id })
  await tx.insert(connectorRevisions).values({
    connectorId: connector!.id,
    number: 1,
    authorId: actor.id,
    definition: version.definition,
    marketplaceVersionId: version.versionId,
    summary: version.summary,
  })
  return { id: connector!.id, name }
}

/** The audit entry of installing a connector from the marketplace. */
export const installEntry = (
  connector: { id: string; name: string },
  entry: { id: string; kind: string; version: string },
): AuditEntry => ({
  action: 'install',
  subjectType: 'connector',
  subjectId: connector.id,
  summary: `installed ${connector.name} (${entry.kind}, ${versionLabel(entry.version)})`,
  details: { marketplaceConnectorId: entry.id, version: entry.version },
})

/** What installed a connector before: the answer to the same install form sent again. */
async function earlierInstall(tx: Tx, actor: Actor, connectorId: string): Promise<InstalledConnector | null> {
  const [done] = await tx
    .select({
      id: connectors.id,
      name: connectors.name,
      version: marketplaceVersions.version,
      installedAt: connectors.installedAt,
      marketplaceConnectorId: connectors.marketplaceConnectorId,
      marketplaceName: marketplaceConnectors.name,
    })
    .from(connectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))
  if (!done) return null
  const copies = await copiesOf(tx, actor, done.marketplaceConnectorId, done.installedAt)
  return { id: done.id, name: done.name, version: done.version, marketplaceName: done.marketplaceName, copies }
}

/**
 * Installs a marketplace connector from its latest version. Installing one that is already
 * installed installs another copy, numbered so the two can be told apart: "HubSpot", "HubSpot (2)", …
 * the first name no connector of the company has.
 */
export async function installConnector(
  db: Db,
  actor: Actor,
  input: { marketplaceConnectorId: string; submission?: string | undefined },
): Promise<InstalledConnector> {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: input.submission,
    replay: async (tx, earlier) => (earlier.resultId ? earlierInstall(tx, actor, earlier.resultId) : null),
    run: async (tx) => {
      const [entry] = await tx
        .select({
          id: marketplaceConnectors.id,
          name: marketplaceConnectors.name,
          kind: marketplaceConnectors.kind,
          versionId: marketplaceVersions.id,
          version: marketplaceVersions.version,
          definition: marketplaceVersions.definition,
        })
        .from(marketplaceConnectors)
        .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, marketplaceConnectors.latestVersionId))
        .where(and(eq(marketplaceConnectors.id, input.marketplaceConnectorId), visibleTo(actor)))
      if (!entry) throw new NotFound('That marketplace connector')
      const connector = await installMarketplaceVersion(tx, actor, {
        marketplaceConnectorId: entry.id,
        versionId: entry.versionId,
        definition: entry.definition,
        name: entry.name,
        summary: `installed ${versionLabel(entry.version)} from the marketplace`,
      })
      // Still under the names' lock: no other install of it in between.
      const copies = await copiesOf(tx, actor, entry.id)
      return {
        result: { ...connector, version: entry.version, marketplaceName: entry.name, copies },
        resultId: connector.id,
        audit: installEntry(connector, entry),
      }
    },
  })
}
