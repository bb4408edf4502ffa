// "roll back to revision N" (revision history): the preview of what it changes, and the roll back,
// saved as a new revision so the history never loses anything.
import type { Db } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import { getConnector } from './connectors.js'
import { describeDiff, diffDefinitions } from './definition-diff.js'
import { Conflict } from './errors.js'
import { impactOf, type Impact } from './impact.js'
import { getRevision } from './revision-history.js'
import { commitChange, type ChangeInput, type SavedChange } from './revisions.js'

export interface RollbackPreview {
  connector: { id: string; name: string; revision: number; version: string; kind: 'prebuilt' | 'custom' }
  target: { number: number; summary: string; authorName: string; createdAt: Date; version: string | null }
  /** What the roll back changes in the current definition. */
  changes: string[]
  impact: Impact
}

/** "roll back to revision N": what it would change and touch. Three queries. */
export async function rollbackPreview(
  db: Db,
  actor: Actor,
  connectorId: string,
  number: number,
): Promise<RollbackPreview> {
  requirePermission(actor, 'manageConnectors')
  const connector = await getConnector(db, actor, connectorId)
  const target = await getRevision(db, actor, connectorId, number)
  return {
    connector: {
      id: connector.id,
      name: connector.name,
      revision: connector.revision,
      version: connector.version,
      kind: connector.kind,
    },
    target: {
      number: target.number,
      summary: target.summary,
      authorName: target.authorName,
      createdAt: target.createdAt,
      version: target.version,
    },
    changes: describeDiff(diffDefinitions(connector.definition, target.definition)),
    impact: await impactOf(db, actor, connectorId, connector.definition, target.definition),
  }
}

/**
 * Rolls a connector back to an earlier revision: a new revision with that revision's definition (and
 * the marketplace version it was based on), so the history never loses anything.
 */
export async function rollbackConnector(
  db: Db,
  actor: Actor,
  input: ChangeInput & { number: number },
): Promise<SavedChange> {
  return commitChange(db, actor, input, async (current, tx) => {
    if (input.number >= current.revision)
      throw new Conflict(
        `Revision ${input.number} is the current revision of ${current.name}, so there is nothing to roll back.`,
      )
    const target = await getRevision(tx, actor, current.id, input.number)
    const base = target.basedOn ?? undefined
    const version = base && base.id !== current.marketplaceVersionId ? ` (back to version ${target.version})` : ''
    return {
      name: current.name,
      definition: target.definition,
      base,
      summary: `rolled back to revision ${target.number}${version}`,
      action: 'roll back',
    }
  })
}
