// What every step of the connector settings reads.
import type { Db } from '../db/client.js'
import type { Actor } from './actor.js'
import { getConnector } from './connectors.js'
import { hasUpdate } from './versions.js'

/** What every step of the connector settings shows: the connector and whether an update is waiting. One query. */
export async function connectorSettings(db: Db, actor: Actor, id: string) {
  const connector = await getConnector(db, actor, id)
  return { connector, updateAvailable: hasUpdate(connector.kind, connector.version, connector.latestVersion) }
}
