// Vendor updates (help text, "updating a connector"): update in place, overwrite, update and keep my
// changes; each one transaction, once per form submission, audited. The screen's read: update-choice.ts.
import { and, count, eq, sql, type SQL } from 'drizzle-orm'
import { connectorRevisions, connectors, instances, marketplaceVersions } from '../db/schema.js'
import type { Db, Queryable, Tx } from '../db/client.js'
import type { Actor } from './actor.js'
import { runCommand, type Done } from './command.js'
import { revisionConflict } from './connectors.js'
import { checkDefinition, type ConnectorDefinition } from './definition.js'
import { mergeDefinitions, type MergeSide } from './definition-merge.js'
import { describeDiff, diffDefinitions, isUnchanged } from './definition-diff.js'
import { Conflict, Invalid, NotFound } from './errors.js'
import { connectorOf, lockConnector, selectConnectors, type LockedConnector } from './connector-queries.js'
import { hasUpdate, versionsBetween } from './versions.js'
import { pick, plural } from './words.js'

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

/** The marketplace version where `where` holds, with what moving a connector to it needs. */
export async function marketplaceVersion(q: Queryable, where: SQL) {
  const [found] = await q
    .select({
      id: marketplaceVersions.id,
      version: marketplaceVersions.version,
      definition: marketplaceVersions.definition,
    })
    .from(marketplaceVersions)
    .where(where)
  return found
}

/** The marketplace version to move to: the one chosen, which must be newer than the connector's. */
export async function targetVersion(tx: Tx, connector: LockedConnector, version: string) {
  if (connector.kind !== 'prebuilt')
    throw new Conflict('Custom connectors never get vendor updates: whoever built them manages them.')
  const target = await marketplaceVersion(
    tx,
    and(
      eq(marketplaceVersions.marketplaceConnectorId, connector.marketplaceConnectorId),
      eq(marketplaceVersions.version, version),
    )!,
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
export async function moveToVersion(
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
