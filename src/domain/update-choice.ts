// The update screen's read model (help text, "updating a connector"): what a connector with an
// update available would get, and the preview of "update and keep my changes" with the choices so far.
import { eq } from 'drizzle-orm'
import { connectors, marketplaceConnectors, marketplaceVersions } from '../db/schema.js'
import type { Db } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import { checkDefinition } from './definition.js'
import { mergeDefinitions, type MergeResult, type MergeSide } from './definition-merge.js'
import { impactOf, NO_IMPACT, type Impact } from './impact.js'
import { describeDiff, diffDefinitions } from './definition-diff.js'
import { Conflict, NotFound } from './errors.js'
import { connectorOf, modifier, selectConnectorDetails, latestVersion } from './connector-queries.js'
import { hasUpdate, versionsBetween } from './versions.js'

export interface ReleaseNote {
  version: string
  releasedOn: Date
  releaseNotes: string
}

export interface UpdateChoice {
  connector: {
    id: string
    name: string
    kind: 'prebuilt' | 'custom'
    marketplaceName: string
    version: string
    revision: number
    modifiedAt: Date | null
    modifiedByName: string | null
  }
  /** The newest marketplace version when it is newer than the connector's; otherwise null (up to date, or custom). */
  newest: ReleaseNote | null
  /** Every version after the connector's up to the newest, oldest first. */
  releaseNotes: ReleaseNote[]
  modified: boolean
  /** What the company changed compared with the version the connector is based on (what overwrite loses). */
  customisations: string[]
  /** What the new version changes compared with the version the connector is based on. */
  vendorChanges: string[]
  /** The connector's instances, flows and shapes; what updating or overwriting would break is flagged. */
  impact: Impact
  /** For a modified connector: what "update and keep my changes" would do without any choice made. */
  merge: { conflicts: number; keptFromMine: string[]; problem: string | null } | null
  /** The name a connector installed alongside would get. */
  alongsideName: string
}

/** A connector with the version it is based on and the newest one: what every update screen starts from. */
async function updateRow(db: Db, actor: Actor, connectorId: string) {
  requirePermission(actor, 'manageConnectors')
  const [row] = await selectConnectorDetails(db, {
    id: connectors.id,
    name: connectors.name,
    kind: marketplaceConnectors.kind,
    marketplaceConnectorId: connectors.marketplaceConnectorId,
    marketplaceName: marketplaceConnectors.name,
    version: marketplaceVersions.version,
    baseDefinition: marketplaceVersions.definition,
    definition: connectors.definition,
    revision: connectors.revision,
    modifiedAt: connectors.modifiedAt,
    modifiedByName: modifier.name,
    latestVersion: latestVersion.version,
    latestDefinition: latestVersion.definition,
    latestReleasedOn: latestVersion.releasedOn,
    latestReleaseNotes: latestVersion.releaseNotes,
  }).where(connectorOf(actor, connectorId))
  if (!row) throw new NotFound('That connector')
  return row
}

/** The update screen: release notes, and for a modified connector its customisations. One query, or three with an update. */
export async function updateChoice(db: Db, actor: Actor, connectorId: string): Promise<UpdateChoice> {
  const row = await updateRow(db, actor, connectorId)
  const {
    baseDefinition,
    definition,
    latestVersion,
    latestDefinition,
    latestReleasedOn: _on,
    latestReleaseNotes: _notes,
    marketplaceConnectorId,
    ...connector
  } = row
  const modified = row.modifiedAt !== null
  const customisations = modified ? describeDiff(diffDefinitions(baseDefinition, definition)) : []
  if (!hasUpdate(row.kind, row.version, latestVersion) || !latestDefinition) {
    // Nothing to update to: the screen says so and lists nothing.
    return {
      connector,
      newest: null,
      releaseNotes: [],
      modified,
      customisations,
      vendorChanges: [],
      impact: NO_IMPACT,
      merge: null,
      alongsideName: '',
    }
  }
  const versions = await db
    .select({
      version: marketplaceVersions.version,
      releasedOn: marketplaceVersions.releasedOn,
      releaseNotes: marketplaceVersions.releaseNotes,
    })
    .from(marketplaceVersions)
    .where(eq(marketplaceVersions.marketplaceConnectorId, marketplaceConnectorId))
  const releaseNotes = versionsBetween(versions, row.version, latestVersion!)
  return {
    connector,
    newest: releaseNotes.at(-1) ?? null,
    releaseNotes,
    modified,
    customisations,
    vendorChanges: describeDiff(diffDefinitions(baseDefinition, latestDefinition)),
    impact: await impactOf(db, actor, row.id, definition, latestDefinition),
    merge: modified ? mergeSummary(mergeDefinitions(baseDefinition, definition, latestDefinition)) : null,
    alongsideName: `${row.marketplaceName} ${latestVersion}`,
  }
}

function mergeSummary(result: MergeResult) {
  const problem = checkDefinition(result.definition)[0]
  return {
    conflicts: result.conflicts.length,
    keptFromMine: result.keptFromMine,
    problem:
      problem && result.conflicts.length === 0
        ? `the merged definition is not valid at ${problem.path}: ${problem.message}`
        : null,
  }
}

export interface MergePreview {
  connector: UpdateChoice['connector']
  newest: ReleaseNote
  merge: MergeResult
  /** The first reason the merged definition cannot be saved (only once every conflict is answered). */
  problem: string | null
  /** What applying would change compared with the connector's current definition. */
  changes: string[]
  impact: Impact
}

/**
 * "update and keep my changes": the three-way merge of the version the connector is based on (base),
 * its current definition (mine) and the newest version (theirs), with the admin's choices so far.
 * Conflicts without a choice preview as theirs. Two queries.
 */
export async function mergePreview(
  db: Db,
  actor: Actor,
  connectorId: string,
  choices: Record<string, MergeSide> = {},
): Promise<MergePreview> {
  const row = await updateRow(db, actor, connectorId)
  const {
    baseDefinition,
    definition,
    latestVersion,
    latestDefinition,
    latestReleasedOn,
    latestReleaseNotes,
    marketplaceConnectorId: _m,
    ...connector
  } = row
  if (!hasUpdate(row.kind, row.version, latestVersion) || !latestDefinition)
    throw new Conflict(`${row.name} has no update to take.`)
  const merge = mergeDefinitions(baseDefinition, definition, latestDefinition, choices)
  const problem = merge.unresolved.length ? null : checkDefinition(merge.definition)[0]
  return {
    connector,
    newest: { version: latestVersion!, releasedOn: latestReleasedOn!, releaseNotes: latestReleaseNotes! },
    merge,
    problem: problem
      ? `The merged definition is not valid at ${problem.path}: ${problem.message}. Choose differently, or overwrite or install alongside instead.`
      : null,
    changes: describeDiff(diffDefinitions(definition, merge.definition)),
    impact: await impactOf(db, actor, connectorId, definition, merge.definition),
  }
}
