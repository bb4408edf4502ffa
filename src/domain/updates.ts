// Vendor updates (help text, "updating a connector"). A prebuilt connector whose marketplace entry
// has a newer version shows "update available". Not modified: it is updated in place and its
// instances keep working with it. Modified: the admin chooses to overwrite (customisations gone from
// the connector, kept in its revision history) or to install the new version alongside. Each runs in
// one transaction, once per form submission, and is recorded in the audit log.
import { and, count, eq, sql } from 'drizzle-orm'
import { connectorRevisions, connectors, instances, marketplaceConnectors, marketplaceVersions } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import { runCommand, type Done } from './command.js'
import { installMarketplaceVersion, revisionConflict } from './connectors.js'
import { checkDefinition, type ConnectorDefinition } from './definition.js'
import { mergeDefinitions, type MergeResult, type MergeSide } from './definition-merge.js'
import { impactOf, NO_IMPACT, type Impact } from './impact.js'
import { describeDiff, diffDefinitions, isUnchanged } from './definition-diff.js'
import { Conflict, Invalid, NotFound } from './errors.js'
import {
  connectorOf,
  lockConnector,
  modifier,
  selectConnectorDetails,
  selectConnectors,
  latestVersion,
  type LockedConnector,
} from './connector-queries.js'
import { hasUpdate, versionsBetween } from './versions.js'
import { pick, plural } from './words.js'

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

export interface VersionChoice {
  connectorId: string
  /** The revision the admin's screen showed: a change saved meanwhile is not silently lost. */
  revision: number
  /** The marketplace version the admin chose (the newest one the screen showed). */
  version: string
  submission?: string | undefined
}

/** `from` is null when answering a form submitted before (the work was done then). */
export interface UpdatedConnector {
  id: string
  name: string
  from: string | null
  to: string
  instanceCount: number
}

/** The marketplace version to move to: the one chosen, which must be newer than the connector's. */
async function targetVersion(tx: Tx, connector: LockedConnector, version: string) {
  if (connector.kind !== 'prebuilt')
    throw new Conflict('Custom connectors never get vendor updates: whoever built them manages them.')
  const [target] = await tx
    .select({
      id: marketplaceVersions.id,
      version: marketplaceVersions.version,
      definition: marketplaceVersions.definition,
    })
    .from(marketplaceVersions)
    .where(
      and(
        eq(marketplaceVersions.marketplaceConnectorId, connector.marketplaceConnectorId),
        eq(marketplaceVersions.version, version),
      ),
    )
  if (!target) throw new NotFound(`Version ${version} of ${connector.marketplaceName}`)
  if (!hasUpdate(connector.kind, connector.version, target.version)) {
    throw new Conflict(
      `${connector.name} is already at version ${connector.version}, so there is nothing to update to ${version}.`,
    )
  }
  return target
}

async function instanceCount(tx: Tx, actor: Actor, connectorId: string): Promise<number> {
  const [row] = await tx
    .select({ n: count() })
    .from(instances)
    .where(and(eq(instances.companyId, actor.companyId), eq(instances.connectorId, connectorId)))
  return row!.n
}

/** The result of an update or overwrite submitted before (a double click answers the same). */
async function earlierUpdate(tx: Tx, actor: Actor, connectorId: string): Promise<UpdatedConnector> {
  const [row] = await selectConnectors(tx, {
    id: connectors.id,
    name: connectors.name,
    to: marketplaceVersions.version,
  }).where(connectorOf(actor, connectorId))
  if (!row) throw new NotFound('That connector')
  return { ...row, from: null, instanceCount: await instanceCount(tx, actor, connectorId) }
}

/**
 * Moves the locked connector to a marketplace version: same id, so instances stay attached. Its
 * definition becomes the version's, or `merged` (the version's with the company's changes kept on
 * top), in which case it stays modified by the actor.
 */
async function moveToVersion(
  tx: Tx,
  actor: Actor,
  connector: LockedConnector,
  target: { id: string; definition: ConnectorDefinition },
  summary: string,
  merged?: ConnectorDefinition,
) {
  const definition = merged ?? target.definition
  const modified = merged && !isUnchanged(diffDefinitions(target.definition, merged))
  const [saved] = await tx
    .update(connectors)
    .set({
      definition,
      marketplaceVersionId: target.id,
      revision: sql`${connectors.revision} + 1`,
      modifiedAt: modified ? sql`now()` : null,
      modifiedBy: modified ? actor.id : null,
    })
    .where(
      and(
        eq(connectors.id, connector.id),
        eq(connectors.companyId, actor.companyId),
        eq(connectors.revision, connector.revision),
      ),
    )
    .returning({ revision: connectors.revision })
  if (!saved) throw await revisionConflict(tx, connector.id)
  await tx.insert(connectorRevisions).values({
    connectorId: connector.id,
    number: saved.revision,
    authorId: actor.id,
    summary,
    definition,
    marketplaceVersionId: target.id,
  })
  return saved.revision
}

type Target = Awaited<ReturnType<typeof targetVersion>>

/**
 * What update, overwrite and merge share: the connector locked at the revision the form showed, the
 * version chosen; a form sent again answers with what the connector is now.
 */
function moveCommand<R>(
  db: Db,
  actor: Actor,
  input: VersionChoice,
  replay: (earlier: UpdatedConnector) => R,
  move: (tx: Tx, connector: LockedConnector, target: Target) => Promise<Done<R>>,
): Promise<R> {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: input.submission,
    replay: async (tx) => replay(await earlierUpdate(tx, actor, input.connectorId)),
    run: async (tx) => {
      const connector = await lockConnector(tx, actor, input.connectorId)
      // The revision first: a request that lost a race to the same update learns that, not "nothing to update".
      if (connector.revision !== input.revision) throw await revisionConflict(tx, connector.id)
      return move(tx, connector, await targetVersion(tx, connector, input.version))
    },
  })
}

/** "update available" on a connector that is not modified: updated in place to the chosen version. */
export async function updateConnector(db: Db, actor: Actor, input: VersionChoice): Promise<UpdatedConnector> {
  return moveCommand(
    db,
    actor,
    input,
    (earlier) => earlier,
    async (tx, connector, target) => {
      if (connector.modifiedAt) {
        throw new Conflict(
          `${connector.name} has been modified, so it is not updated in place: choose whether to overwrite it or to install version ${target.version} alongside it.`,
        )
      }
      const releaseNotes = await notesBetween(tx, connector, target.version)
      const revision = await moveToVersion(
        tx,
        actor,
        connector,
        target,
        `updated from version ${connector.version} to ${target.version}`,
      )
      const instanceTotal = await instanceCount(tx, actor, connector.id)
      return {
        result: {
          id: connector.id,
          name: connector.name,
          from: connector.version,
          to: target.version,
          instanceCount: instanceTotal,
        },
        resultId: connector.id,
        audit: {
          action: 'update',
          subjectType: 'connector',
          subjectId: connector.id,
          summary: `updated ${connector.name} in place from version ${connector.version} to ${target.version}${instanceTotal ? `; ${pick(instanceTotal, 'its instance keeps', `its ${instanceTotal} instances keep`)} working with it` : ''}`,
          details: {
            from: connector.version,
            to: target.version,
            revision,
            releaseNotes,
            changes: describeDiff(diffDefinitions(connector.definition, target.definition)),
          },
        },
      }
    },
  )
}

async function notesBetween(
  tx: Tx,
  connector: LockedConnector,
  target: string,
): Promise<{ version: string; releaseNotes: string }[]> {
  const versions = await tx
    .select({ version: marketplaceVersions.version, releaseNotes: marketplaceVersions.releaseNotes })
    .from(marketplaceVersions)
    .where(eq(marketplaceVersions.marketplaceConnectorId, connector.marketplaceConnectorId))
  return versionsBetween(versions, connector.version, target)
}

export type OverwrittenConnector = UpdatedConnector & { customisations: string[]; lastCustomisedRevision: number }

/**
 * "overwrite": the definition becomes the chosen version's. The customisations are gone from the
 * connector but stay in its revision history; the connector keeps its id, so instances stay attached.
 */
export async function overwriteWithVersion(db: Db, actor: Actor, input: VersionChoice): Promise<OverwrittenConnector> {
  const replay = (earlier: UpdatedConnector) => ({
    ...earlier,
    customisations: [],
    lastCustomisedRevision: input.revision,
  })
  return moveCommand<OverwrittenConnector>(db, actor, input, replay, async (tx, connector, target) => {
    const customisations = describeDiff(diffDefinitions(connector.baseDefinition, connector.definition))
    const lost = customisations.length
      ? `; customisations removed (see revision ${connector.revision}): ${customisations.join('; ')}`
      : ''
    const revision = await moveToVersion(
      tx,
      actor,
      connector,
      target,
      `overwritten with version ${target.version} (was ${connector.version})${lost}`,
    )
    return {
      result: {
        id: connector.id,
        name: connector.name,
        from: connector.version,
        to: target.version,
        instanceCount: await instanceCount(tx, actor, connector.id),
        customisations,
        lastCustomisedRevision: connector.revision,
      },
      resultId: connector.id,
      audit: {
        action: 'overwrite',
        subjectType: 'connector',
        subjectId: connector.id,
        summary: `overwrote ${connector.name} with version ${target.version} (was ${connector.version}); customisations removed: ${customisations.join('; ') || 'none'}`,
        details: {
          from: connector.version,
          to: target.version,
          revision,
          customisations,
          customisedRevision: connector.revision,
        },
      },
    }
  })
}

export interface MergeChoice extends VersionChoice {
  /** The admin's pick per conflict id: keep mine, or take theirs. */
  choices: Record<string, MergeSide>
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

export type MergedConnector = UpdatedConnector & { kept: string[]; conflicts: number }

/** The form field of a conflict's choice. */
export const choiceField = (conflictId: string) => `choice.${conflictId}`

/**
 * Applies "update and keep my changes": a new revision based on the chosen version whose definition
 * is the merge, every conflict answered. One transaction, once per form submission.
 */
export async function mergeWithVersion(db: Db, actor: Actor, input: MergeChoice): Promise<MergedConnector> {
  return moveCommand<MergedConnector>(
    db,
    actor,
    input,
    (earlier) => ({ ...earlier, kept: [], conflicts: 0 }),
    async (tx, connector, target) => {
      const merge = mergeDefinitions(connector.baseDefinition, connector.definition, target.definition, input.choices)
      if (merge.unresolved.length) {
        throw new Invalid(
          Object.fromEntries(
            merge.unresolved.map((id) => [choiceField(id), 'Choose mine or theirs for this conflict.']),
          ),
        )
      }
      const problem = checkDefinition(merge.definition)[0]
      if (problem)
        throw new Invalid({
          '': `The merged definition is not valid at ${problem.path}: ${problem.message}. Choose differently, or overwrite or install alongside instead.`,
        })
      const picks = merge.conflicts.map((c) => `${c.where}: ${input.choices[c.id] === 'mine' ? 'mine' : 'theirs'}`)
      const summary = [
        `updated from version ${connector.version} to ${target.version}, keeping your changes`,
        merge.keptFromMine.length ? `kept: ${merge.keptFromMine.join('; ')}` : '',
        picks.length ? `conflicts resolved: ${picks.join('; ')}` : '',
      ]
        .filter(Boolean)
        .join('; ')
      const revision = await moveToVersion(tx, actor, connector, target, summary, merge.definition)
      const instanceTotal = await instanceCount(tx, actor, connector.id)
      return {
        result: {
          id: connector.id,
          name: connector.name,
          from: connector.version,
          to: target.version,
          instanceCount: instanceTotal,
          kept: merge.keptFromMine,
          conflicts: merge.conflicts.length,
        },
        resultId: connector.id,
        audit: {
          action: 'merge update',
          subjectType: 'connector',
          subjectId: connector.id,
          summary: `updated ${connector.name} from version ${connector.version} to ${target.version} keeping its customisations${merge.conflicts.length ? ` (${plural(merge.conflicts.length, 'conflict')} resolved)` : ''}`,
          details: {
            from: connector.version,
            to: target.version,
            revision,
            kept: merge.keptFromMine,
            conflicts: picks,
            changes: describeDiff(diffDefinitions(connector.definition, merge.definition)),
          },
        },
      }
    },
  )
}

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
