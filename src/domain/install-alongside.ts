// "install" the new version alongside (help text, "updating a connector"): a second connector based
// on the chosen marketplace version, the modified one left as it is with its instances.
import { and, eq } from 'drizzle-orm'
import { connectors, marketplaceVersions } from '../db/schema.js'
import type { Db } from '../db/client.js'
import type { Actor } from './actor.js'
import { runCommand } from './command.js'
import { installMarketplaceVersion } from './connector-install.js'
import { lockConnector } from './connector-queries.js'
import { targetVersion, type VersionChoice } from './updates.js'

export interface InstalledAlongside {
  id: string
  name: string
  version: string
  previousId: string
  previousName: string
}

/**
 * "install" the new version alongside: a second connector, named after the version so both can be
 * told apart, based on the chosen version, with no instances. The existing one is not touched.
 */
export async function installVersionAlongside(
  db: Db,
  actor: Actor,
  input: Omit<VersionChoice, 'revision'>,
): Promise<InstalledAlongside> {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: input.submission,
    replay: async (tx, earlier) => {
      if (!earlier.resultId) return null
      const connector = await lockConnector(tx, actor, input.connectorId)
      const [done] = await tx
        .select({ id: connectors.id, name: connectors.name, version: marketplaceVersions.version })
        .from(connectors)
        .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
        .where(and(eq(connectors.id, earlier.resultId), eq(connectors.companyId, actor.companyId)))
      return done ? { ...done, previousId: connector.id, previousName: connector.name } : null
    },
    run: async (tx) => {
      const connector = await lockConnector(tx, actor, input.connectorId)
      const target = await targetVersion(tx, connector, input.version)
      // "Shopify 2.2.0", or "Shopify 2.2.0 (2)" when that name is taken, …
      const installed = await installMarketplaceVersion(tx, actor, {
        marketplaceConnectorId: connector.marketplaceConnectorId,
        versionId: target.id,
        definition: target.definition,
        name: `${connector.marketplaceName} ${target.version}`,
        summary: `installed version ${target.version} from the marketplace alongside ${connector.name} (version ${connector.version})`,
      })
      return {
        result: { ...installed, version: target.version, previousId: connector.id, previousName: connector.name },
        resultId: installed.id,
        audit: {
          action: 'install alongside',
          subjectType: 'connector',
          subjectId: installed.id,
          summary: `installed ${installed.name} (version ${target.version}) alongside ${connector.name} (version ${connector.version}), which keeps its instances`,
          details: {
            alongside: connector.id,
            alongsideName: connector.name,
            version: target.version,
            previousVersion: connector.version,
          },
        },
      }
    },
  })
}
