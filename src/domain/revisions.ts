// Modifying a connector: every save is a revision (number, author, time, a one-line summary, the
// whole definition). The revision number is the optimistic lock: a form says which revision it was
// based on, and a save based on an older one is refused with a RevisionConflict, nothing lost.
import { and, desc, eq, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import {
  connectionShapes, connectorRevisions, connectors, instances, marketplaceConnectors, marketplaceVersions, processFlows, users,
} from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import { recordEvent } from './audit.js'
import { claimSubmission, completeSubmission, getConnector } from './connectors.js'
import { checkDefinition, type ConnectorDefinition } from './definition.js'
import { applyEdit, type DefinitionEdit } from './definition-edit.js'
import { describeDiff, diffDefinitions, isUnchanged, summariseDiff } from './definition-diff.js'
import { Conflict, Invalid, NotFound, RevisionConflict } from './errors.js'
import { impactOf, type Impact } from './impact.js'
import { hasUpdate } from './versions.js'
import { listOf, pick, plural } from './words.js'

/** A connector row locked for the rest of the transaction, with what updates and saves need. */
export async function lockConnector(tx: Tx, actor: Actor, id: string) {
  const [row] = await tx.select({
    id: connectors.id,
    name: connectors.name,
    definition: connectors.definition,
    revision: connectors.revision,
    modifiedAt: connectors.modifiedAt,
    marketplaceConnectorId: connectors.marketplaceConnectorId,
    marketplaceVersionId: connectors.marketplaceVersionId,
    kind: marketplaceConnectors.kind,
    marketplaceName: marketplaceConnectors.name,
    version: marketplaceVersions.version,
    baseDefinition: marketplaceVersions.definition,
  }).from(connectors)
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .where(and(eq(connectors.id, id), eq(connectors.companyId, actor.companyId)))
    .for('update', { of: connectors })
  if (!row) throw new NotFound('That connector')
  return row
}

export type LockedConnector = Awaited<ReturnType<typeof lockConnector>>

/** The conflict to throw when the connector is no longer at the revision a form was based on. */
export async function revisionConflict(tx: Tx, connectorId: string): Promise<RevisionConflict> {
  const [last] = await tx.select({ number: connectorRevisions.number, authorName: users.name })
    .from(connectorRevisions).innerJoin(users, eq(users.id, connectorRevisions.authorId))
    .where(eq(connectorRevisions.connectorId, connectorId))
    .orderBy(desc(connectorRevisions.number)).limit(1)
  return new RevisionConflict(last?.authorName ?? 'Somebody', last?.number ?? 0)
}

export interface SavedChange {
  connectorId: string
  name: string
  /** The connector's revision after the save (unchanged when there was nothing to save). */
  revision: number
  summary: string
  changed: boolean
}

interface ChangeInput {
  connectorId: string
  /** The revision the form was based on. */
  revision: number
  submission?: string | undefined
}

interface Next {
  name: string
  definition: ConnectorDefinition
  summary?: string | undefined
  /** A roll back: the marketplace version the definition is based on again. */
  base?: { id: string; definition: ConnectorDefinition } | undefined
  /** The audit log's action; "modify" by default. */
  action?: string
}

type Change = (current: LockedConnector, tx: Tx) => Promise<Next>

/** Saves a change as the next revision, in one transaction, once per form submission. */
async function commitChange(db: Db, actor: Actor, input: ChangeInput, change: Change): Promise<SavedChange> {
  requirePermission(actor, 'manageConnectors')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, input.submission)
    if (earlier) return earlierChange(tx, actor, input.connectorId, earlier.resultId)
    const current = await lockConnector(tx, actor, input.connectorId)
    if (current.revision !== input.revision) throw await revisionConflict(tx, current.id)
    const next = await change(current, tx)
    const diff = diffDefinitions(current.definition, next.definition)
    const definitionChanged = !isUnchanged(diff)
    const renamed = next.name !== current.name
    const rebased = next.base !== undefined && next.base.id !== current.marketplaceVersionId
    if (!definitionChanged && !renamed && !rebased) {
      return { connectorId: current.id, name: current.name, revision: current.revision, summary: 'nothing changed', changed: false }
    }
    const summary = next.summary ?? [
      renamed ? `renamed ${current.name} to ${next.name}` : '',
      definitionChanged ? summariseDiff(diff) : '',
    ].filter(Boolean).join('; ')
    const [saved] = await tx.update(connectors)
      .set({ name: next.name, definition: next.definition, revision: sql`${connectors.revision} + 1`, ...modification(actor, current, next, definitionChanged) })
      .where(and(eq(connectors.id, current.id), eq(connectors.companyId, actor.companyId), eq(connectors.revision, input.revision)))
      .returning({ revision: connectors.revision })
    if (!saved) throw await revisionConflict(tx, current.id)
    const [revision] = await tx.insert(connectorRevisions).values({
      connectorId: current.id, number: saved.revision, authorId: actor.id, summary, definition: next.definition,
      marketplaceVersionId: next.base?.id ?? current.marketplaceVersionId,
    }).returning({ id: connectorRevisions.id })
    await recordEvent(tx, actor, {
      action: next.action ?? 'modify', subjectType: 'connector', subjectId: current.id,
      summary: `changed ${next.name} (revision ${saved.revision}): ${summary}`,
      details: { revision: saved.revision, changes: describeDiff(diff), ...(renamed ? { renamedFrom: current.name } : {}) },
    })
    await completeSubmission(tx, actor, input.submission, revision!.id)
    return { connectorId: current.id, name: next.name, revision: saved.revision, summary, changed: true }
  })
}

/**
 * A prebuilt connector whose definition the company changed is "modified": who and when of the last
 * change. A roll back is based on the revision's marketplace version again, and is modified only when
 * its definition differs from that version's.
 */
function modification(actor: Actor, current: LockedConnector, next: Next, definitionChanged: boolean) {
  if (current.kind !== 'prebuilt') return {}
  if (next.base) {
    const differs = !isUnchanged(diffDefinitions(next.base.definition, next.definition))
    return { marketplaceVersionId: next.base.id, modifiedAt: differs ? sql`now()` : null, modifiedBy: differs ? actor.id : null }
  }
  return definitionChanged ? { modifiedAt: sql`now()`, modifiedBy: actor.id } : {}
}

/** What an earlier submission of the same form saved (a double click answers the same). */
async function earlierChange(tx: Tx, actor: Actor, connectorId: string, revisionId: string | null): Promise<SavedChange> {
  const [row] = await tx.select({
    name: connectors.name, number: connectorRevisions.number, summary: connectorRevisions.summary, current: connectors.revision,
  }).from(connectors)
    .leftJoin(connectorRevisions, and(eq(connectorRevisions.connectorId, connectors.id), eq(connectorRevisions.id, sql`${revisionId}::uuid`)))
    .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))
  if (!row) throw new NotFound('That connector')
  if (row.number === null) return { connectorId, name: row.name, revision: row.current, summary: 'nothing changed', changed: false }
  return { connectorId, name: row.name, revision: row.number, summary: row.summary ?? '', changed: true }
}

export interface SaveDefinitionInput extends ChangeInput {
  definition: ConnectorDefinition
  name?: string | undefined
  /** One line for the revision history; by default what changed, e.g. "added endpoint Get refunds". */
  summary?: string | undefined
}

/** Saves a whole definition (and optionally a new name) as the connector's next revision. */
export async function saveDefinition(db: Db, actor: Actor, input: SaveDefinitionInput): Promise<SavedChange> {
  const problem = checkDefinition(input.definition)[0]
  if (problem) throw new Invalid({ '': `The definition is not valid at ${problem.path}: ${problem.message}` })
  return commitChange(db, actor, input, async (current) => ({
    name: input.name ?? current.name, definition: input.definition, summary: input.summary,
  }))
}

/**
 * Applies one form of the connector settings (basic details, or add / change / remove a variable,
 * authentication method or endpoint) to the locked connector and saves it as the next revision.
 * An endpoint that connection shapes use, or an authentication method that instances use, is not removed.
 */
export async function modifyConnector(db: Db, actor: Actor, input: ChangeInput & { edit: DefinitionEdit }): Promise<SavedChange> {
  return commitChange(db, actor, input, async (current, tx) => {
    const { edit } = input
    if (edit.kind === 'endpoint' && edit.action === 'remove') await refuseRemovingUsedEndpoint(tx, actor, current, edit.key)
    if (edit.kind === 'authMethod' && edit.action === 'remove') await refuseRemovingUsedAuthMethod(tx, actor, current, edit.key)
    return applyEdit(current, edit)
  })
}

async function refuseRemovingUsedEndpoint(tx: Tx, actor: Actor, connector: LockedConnector, key: string) {
  const shapes = await tx.select({ flowName: processFlows.name }).from(connectionShapes)
    .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(and(eq(connectionShapes.companyId, actor.companyId), eq(instances.connectorId, connector.id), eq(connectionShapes.endpointKey, key)))
    .orderBy(processFlows.name)
  if (shapes.length === 0) return
  const name = connector.definition.endpoints.find((e) => e.key === key)?.name ?? key
  const flows = [...new Set(shapes.map((s) => s.flowName))]
  const used = shapes.length === 1 ? 'a connection shape' : plural(shapes.length, 'connection shape')
  const where = flows.length === 1 ? `the process flow ${flows[0]}` : `these process flows: ${listOf(flows)}`
  throw new Invalid({ '': `Endpoint “${name}” is used by ${used} in ${where}. Reconfigure or remove ${pick(shapes.length, 'it', 'them')} first.` })
}

async function refuseRemovingUsedAuthMethod(tx: Tx, actor: Actor, connector: LockedConnector, key: string) {
  const using = await tx.select({ name: instances.name }).from(instances)
    .where(and(eq(instances.companyId, actor.companyId), eq(instances.connectorId, connector.id), eq(instances.authMethodKey, key)))
    .orderBy(instances.name)
  if (using.length === 0) return
  const name = connector.definition.authMethods.find((a) => a.key === key)?.name ?? key
  const names = using.map((i) => i.name)
  const by = using.length === 1 ? `the instance ${names[0]}` : `these instances: ${listOf(names)}`
  throw new Invalid({ '': `Authentication method “${name}” is used by ${by}. Change ${pick(using.length, 'its', 'their')} authentication first.` })
}

export interface RevisionSummary {
  number: number
  summary: string
  authorName: string
  createdAt: Date
}

export const REVISIONS_SHOWN = 50

/** The newest revisions of a connector of the actor's company, newest first, and how many there are. */
export async function listRevisions(db: Db, actor: Actor, connectorId: string, limit = REVISIONS_SHOWN): Promise<{ rows: RevisionSummary[]; total: number }> {
  const rows = await db.select({
    number: connectorRevisions.number,
    summary: connectorRevisions.summary,
    authorName: users.name,
    createdAt: connectorRevisions.createdAt,
    total: sql<number>`cast(count(*) over () as integer)`,
  }).from(connectorRevisions)
    .innerJoin(connectors, eq(connectors.id, connectorRevisions.connectorId))
    .innerJoin(users, eq(users.id, connectorRevisions.authorId))
    .where(and(eq(connectorRevisions.connectorId, connectorId), eq(connectors.companyId, actor.companyId)))
    .orderBy(desc(connectorRevisions.number)).limit(limit)
  return { rows: rows.map(({ total: _total, ...row }) => row), total: rows[0]?.total ?? 0 }
}

const previous = alias(connectorRevisions, 'previous')

/**
 * One revision with its whole definition, what changed from the revision before it and the
 * marketplace version it was based on (null for revisions saved before that was recorded).
 */
export async function getRevision(db: Db | Tx, actor: Actor, connectorId: string, number: number) {
  const [row] = await db.select({
    connectorId: connectors.id,
    connectorName: connectors.name,
    currentRevision: connectors.revision,
    number: connectorRevisions.number,
    summary: connectorRevisions.summary,
    authorName: users.name,
    createdAt: connectorRevisions.createdAt,
    definition: connectorRevisions.definition,
    previousDefinition: previous.definition,
    versionId: marketplaceVersions.id,
    version: marketplaceVersions.version,
    versionDefinition: marketplaceVersions.definition,
  }).from(connectorRevisions)
    .innerJoin(connectors, eq(connectors.id, connectorRevisions.connectorId))
    .innerJoin(users, eq(users.id, connectorRevisions.authorId))
    .leftJoin(previous, and(eq(previous.connectorId, connectorRevisions.connectorId), eq(previous.number, sql`${connectorRevisions.number} - 1`)))
    .leftJoin(marketplaceVersions, eq(marketplaceVersions.id, connectorRevisions.marketplaceVersionId))
    .where(and(eq(connectorRevisions.connectorId, connectorId), eq(connectorRevisions.number, number), eq(connectors.companyId, actor.companyId)))
  if (!row) throw new NotFound('That revision')
  const { previousDefinition, versionId, versionDefinition, ...revision } = row
  return {
    ...revision,
    basedOn: versionId && versionDefinition ? { id: versionId, definition: versionDefinition } : null,
    changes: previousDefinition ? describeDiff(diffDefinitions(previousDefinition, row.definition)) : null,
  }
}

/** The connector settings page: the connector, whether an update is waiting, its revision history. */
export async function connectorSettings(db: Db, actor: Actor, id: string) {
  const connector = await getConnector(db, actor, id)
  const revisions = await listRevisions(db, actor, id)
  return { connector, revisions, updateAvailable: hasUpdate(connector.kind, connector.version, connector.latestVersion) }
}

export interface RollbackPreview {
  connector: { id: string; name: string; revision: number; version: string; kind: 'prebuilt' | 'custom' }
  target: { number: number; summary: string; authorName: string; createdAt: Date; version: string | null }
  /** What the roll back changes in the current definition. */
  changes: string[]
  impact: Impact
}

/** "roll back to revision N": what it would change and touch. Three queries. */
export async function rollbackPreview(db: Db, actor: Actor, connectorId: string, number: number): Promise<RollbackPreview> {
  requirePermission(actor, 'manageConnectors')
  const connector = await getConnector(db, actor, connectorId)
  const target = await getRevision(db, actor, connectorId, number)
  return {
    connector: { id: connector.id, name: connector.name, revision: connector.revision, version: connector.version, kind: connector.kind },
    target: { number: target.number, summary: target.summary, authorName: target.authorName, createdAt: target.createdAt, version: target.version },
    changes: describeDiff(diffDefinitions(connector.definition, target.definition)),
    impact: await impactOf(db, actor, connectorId, connector.definition, target.definition),
  }
}

/**
 * Rolls a connector back to an earlier revision: a new revision with that revision's definition (and
 * the marketplace version it was based on), so the history never loses anything.
 */
export async function rollbackConnector(db: Db, actor: Actor, input: ChangeInput & { number: number }): Promise<SavedChange> {
  return commitChange(db, actor, input, async (current, tx) => {
    if (input.number >= current.revision) throw new Conflict(`Revision ${input.number} is the current revision of ${current.name}, so there is nothing to roll back.`)
    const target = await getRevision(tx, actor, current.id, input.number)
    const base = target.basedOn ?? undefined
    const version = base && base.id !== current.marketplaceVersionId ? ` (back to version ${target.version})` : ''
    return { name: current.name, definition: target.definition, base, summary: `rolled back to revision ${target.number}${version}`, action: 'roll back' }
  })
}
