// Reads of installed connectors shared by the screens and commands: a connector with the
// marketplace connector it came from and the marketplace versions it is based on, written once.
import { and, eq } from 'drizzle-orm'
import { alias, type PgSelectBase, type SelectedFields } from 'drizzle-orm/pg-core'
import type { JoinNullability } from 'drizzle-orm/query-builders/select.types'
import { connectors, marketplaceConnectors, marketplaceVersions, users } from '../db/schema.js'
import type { Queryable, Tx } from '../db/client.js'
import type { Actor } from './actor.js'
import { NotFound } from './errors.js'
import { lockConnectors } from './locks.js'

/** The newest published version of a connector's marketplace connector (joined by selectConnectorDetails). */
export const latestVersion = alias(marketplaceVersions, 'latest')
/** Who installed a connector, and who last modified it (joined by selectConnectorDetails). */
export const installer = alias(users, 'installer')
export const modifier = alias(users, 'modifier')

/**
 * Connectors joined with their marketplace connector (`marketplaceConnectors`) and the marketplace
 * version each is based on (`marketplaceVersions`). Add the `where` (always the actor's company).
 */
export function selectConnectors<Fields extends SelectedFields>(db: Queryable, fields: Fields) {
  return joined<Fields, typeof withVersions>(withVersions(db, fields))
}

function withVersions(db: Queryable, fields: SelectedFields) {
  return db
    .select(fields)
    .from(connectors)
    .$dynamic()
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
}

type NullabilityOf<Build extends (...args: never[]) => { _: { nullabilityMap: unknown } }> =
  ReturnType<Build>['_']['nullabilityMap']

/** A query built with any selected fields, typed with the caller's (Drizzle cannot infer joins over a generic selection). */
function joined<Fields extends SelectedFields, Build extends (...args: never[]) => { _: { nullabilityMap: unknown } }>(
  query: ReturnType<Build>,
) {
  return query as PgSelectBase<
    'connectors',
    Fields,
    'partial',
    NullabilityOf<Build> & Record<string, JoinNullability>,
    true
  >
}

/** selectConnectors, also with the newest version (`latestVersion`, null for none), `installer` and `modifier` (null when unmodified). */
export function selectConnectorDetails<Fields extends SelectedFields>(db: Queryable, fields: Fields) {
  return joined<Fields, typeof withDetails>(withDetails(db, fields))
}

function withDetails(db: Queryable, fields: SelectedFields) {
  return withVersions(db, fields)
    .leftJoin(latestVersion, eq(latestVersion.id, marketplaceConnectors.latestVersionId))
    .innerJoin(installer, eq(installer.id, connectors.installedBy))
    .leftJoin(modifier, eq(modifier.id, connectors.modifiedBy))
}

/** A connector of the actor's company, as the where clause of the reads above. */
export function connectorOf(actor: Pick<Actor, 'companyId'>, id: string) {
  return and(eq(connectors.id, id), eq(connectors.companyId, actor.companyId))
}

/**
 * A connector row locked for the rest of the transaction, with what updates and saves need. The row
 * is locked alone, then read: a lock taken through a join makes PostgreSQL re-check the join after
 * waiting against the joined rows as they were, so a connector moved to another version meanwhile
 * would seem gone (a 404 instead of the conflict the waiting request should report).
 */
export async function lockConnector(tx: Tx, actor: Actor, id: string) {
  // Locked alone, then read (the order is in locks.ts): a connector moved to another version meanwhile
  // would otherwise seem gone (a 404 instead of the conflict the waiting request should report).
  const [locked] = await lockConnectors(tx, connectorOf(actor, id))
  if (!locked) throw new NotFound('That connector')
  const [row] = await selectConnectors(tx, {
    id: connectors.id,
    name: connectors.name,
    definition: connectors.definition,
    revision: connectors.revision,
    modifiedAt: connectors.modifiedAt,
    modifiedBy: connectors.modifiedBy,
    marketplaceConnectorId: connectors.marketplaceConnectorId,
    marketplaceVersionId: connectors.marketplaceVersionId,
    kind: marketplaceConnectors.kind,
    marketplaceName: marketplaceConnectors.name,
    version: marketplaceVersions.version,
    baseDefinition: marketplaceVersions.definition,
  }).where(eq(connectors.id, locked.id))
  return row!
}

export type LockedConnector = Awaited<ReturnType<typeof lockConnector>>
