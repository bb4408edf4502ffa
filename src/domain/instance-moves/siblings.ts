// The connectors a move is between: the new one and the company's other connectors of the same
// marketplace connector.
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import { connectors, marketplaceConnectors, marketplaceVersions } from '../../db/schema.js'
import type { Queryable } from '../../db/client.js'
import type { Actor } from '../actor.js'
import { NotFound } from '../errors.js'
import { isId } from '../ids.js'
import { lockConnectors } from '../locks.js'

/**
 * The connector and the company's other connectors of the same marketplace connector (by name).
 * With `lock`, all of them are locked (locks.ts), then read: their definitions
 * and instance names decide the plan.
 */
export async function connectorAndSiblings(db: Queryable, actor: Actor, connectorId: string, lock = false) {
  if (!isId(connectorId)) throw new NotFound('That connector')
  const sameMarketplaceConnector = and(
    eq(connectors.companyId, actor.companyId),
    inArray(
      connectors.marketplaceConnectorId,
      db
        .select({ id: connectors.marketplaceConnectorId })
        .from(connectors)
        .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId))),
    ),
  )
  if (lock) await lockConnectors(db, sameMarketplaceConnector)
  const rows = await db
    .select({
      id: connectors.id,
      name: connectors.name,
      version: marketplaceVersions.version,
      revision: connectors.revision,
      definition: connectors.definition,
      marketplaceName: marketplaceConnectors.name,
    })
    .from(connectors)
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .where(sameMarketplaceConnector)
    .orderBy(asc(sql`lower(${connectors.name})`), asc(connectors.id))
  const connector = rows.find((r) => r.id === connectorId)
  if (!connector) throw new NotFound('That connector')
  return { connector, siblings: rows.filter((r) => r.id !== connectorId) }
}
