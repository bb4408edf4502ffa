// Modifying a connector: every save is a revision (number, author, time, a one-line summary, the
// whole definition). The revision number is the optimistic lock: a form says which revision it was
// based on, and a save based on an older one is refused with a RevisionConflict, nothing lost.
import { and, desc, eq, inArray, ne, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import {
  connectionShapes,
  connectorRevisions,
  connectors,
  instances,
  marketplaceVersions,
  processFlows,
  users,
} from '../db/schema.js'
import type { Db, Tx, Queryable } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import { getConnector, revisionConflict } from './connectors.js'
import { lockConnectorNames } from './locks.js'
import { runCommand } from './command.js'
import { lockConnector, type LockedConnector } from './connector-queries.js'
import {
  checkDefinition,
  type AuthMethodSpec,
  type ConnectorDefinition,
  type EndpointSpec,
  type FieldSpec,
} from './definition.js'
import { applyEdit, ITEM_KINDS, type DefinitionEdit, type ItemKind } from './definition-edit.js'
import { describeDiff, diffDefinitions, isUnchanged, same, summariseDiff } from './definition-diff.js'
import { Conflict, Invalid, NotFound } from './errors.js'
import { impactOf, type Impact } from './impact.js'
import { constantLimit, pageOf, type Page } from './pagination.js'
import { hasUpdate } from './versions.js'
import { listOf, pick, plural } from './words.js'

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

/** A change based on a form (the revision it was read at), or a targeted one that applies to any revision. */
type CommitInput = Omit<ChangeInput, 'revision'> & { revision: number | 'any' }

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
async function commitChange(db: Db, actor: Actor, input: CommitInput, change: Change): Promise<SavedChange> {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: input.submission,
    replay: (tx, earlier) => earlierChange(tx, actor, input.connectorId, earlier.resultId),
    run: async (tx) => {
      const current = await lockConnector(tx, actor, input.connectorId)
      if (input.revision !== 'any' && current.revision !== input.revision) throw await revisionConflict(tx, current.id)
      const next = await change(current, tx)
      const diff = diffDefinitions(current.definition, next.definition)
      const definitionChanged = !isUnchanged(diff)
      const renamed = next.name !== current.name
      const rebased = next.base !== undefined && next.base.id !== current.marketplaceVersionId
      if (!definitionChanged && !renamed && !rebased) {
        return {
          result: {
            connectorId: current.id,
            name: current.name,
            revision: current.revision,
            summary: 'nothing changed',
            changed: false,
          },
        }
      }
      if (renamed) await refuseTakenName(tx, actor, current.id, next.name)
      const summary =
        next.summary ??
        [renamed ? `renamed ${current.name} to ${next.name}` : '', definitionChanged ? summariseDiff(diff) : '']
          .filter(Boolean)
          .join('; ')
      const [saved] = await tx
        .update(connectors)
        .set({
          name: next.name,
          definition: next.definition,
          revision: sql`${connectors.revision} + 1`,
          ...modification(actor, current, next, definitionChanged),
        })
        .where(
          and(
            eq(connectors.id, current.id),
            eq(connectors.companyId, actor.companyId),
            eq(connectors.revision, current.revision),
          ),
        )
        .returning({ revision: connectors.revision })
      if (!saved) throw await revisionConflict(tx, current.id)
      const [revision] = await tx
        .insert(connectorRevisions)
        .values({
          connectorId: current.id,
          number: saved.revision,
          authorId: actor.id,
          summary,
          definition: next.definition,
          marketplaceVersionId: next.base?.id ?? current.marketplaceVersionId,
        })
        .returning({ id: connectorRevisions.id })
      return {
        result: { connectorId: current.id, name: next.name, revision: saved.revision, summary, changed: true },
        resultId: revision!.id,
        audit: {
          action: next.action ?? 'modify',
          subjectType: 'connector',
          subjectId: current.id,
          summary: `changed ${next.name} (revision ${saved.revision}): ${summary}`,
          details: {
            revision: saved.revision,
            changes: describeDiff(diff),
            ...(renamed ? { renamedFrom: current.name } : {}),
          },
        },
      }
    },
  })
}

/** Names of a company's connectors are unique, whatever the case: a rename to a taken one is refused beside the name. */
async function refuseTakenName(tx: Tx, actor: Actor, connectorId: string, name: string) {
  await lockConnectorNames(tx, actor)
  const [taken] = await tx
    .select({ name: connectors.name })
    .from(connectors)
    .where(
      and(
        eq(connectors.companyId, actor.companyId),
        eq(sql`lower(${connectors.name})`, sql`lower(${name})`),
        ne(connectors.id, connectorId),
      ),
    )
  if (taken)
    throw new Invalid({
      name: `You already have a connector called ${taken.name}. Choose another name: the names of your connectors are unique.`,
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
    return {
      marketplaceVersionId: next.base.id,
      modifiedAt: differs ? sql`now()` : null,
      modifiedBy: differs ? actor.id : null,
    }
  }
  return definitionChanged ? { modifiedAt: sql`now()`, modifiedBy: actor.id } : {}
}

/** What an earlier submission of the same form saved (a double click answers the same). */
async function earlierChange(
  tx: Tx,
  actor: Actor,
  connectorId: string,
  revisionId: string | null,
): Promise<SavedChange> {
  const [row] = await tx
    .select({
      name: connectors.name,
      number: connectorRevisions.number,
      summary: connectorRevisions.summary,
      current: connectors.revision,
    })
    .from(connectors)
    .leftJoin(
      connectorRevisions,
      and(eq(connectorRevisions.connectorId, connectors.id), eq(connectorRevisions.id, sql`${revisionId}::uuid`)),
    )
    .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))
  if (!row) throw new NotFound('That connector')
  if (row.number === null)
    return { connectorId, name: row.name, revision: row.current, summary: 'nothing changed', changed: false }
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
    name: input.name ?? current.name,
    definition: input.definition,
    summary: input.summary,
  }))
}

/**
 * Applies one form of the connector settings (basic details, or add / change / remove a variable,
 * authentication method or endpoint) to the locked connector and saves it as the next revision.
 * An endpoint that connection shapes use, or an authentication method that instances use, is not removed.
 */
export async function modifyConnector(
  db: Db,
  actor: Actor,
  input: ChangeInput & { edit: DefinitionEdit },
): Promise<SavedChange> {
  return commitChange(db, actor, input, async (current, tx) => {
    const { edit } = input
    if (edit.kind === 'endpoint' && edit.action === 'remove')
      await refuseRemovingUsedEndpoint(tx, actor, current, edit.key)
    if (edit.kind === 'authMethod' && edit.action === 'remove')
      await refuseRemovingUsedAuthMethod(tx, actor, current, edit.key)
    return applyEdit(current, edit)
  })
}

/** An undo of a removal that cannot be done; `kind` says which step to show, when known. */
export class RemovalNotUndone extends Conflict {
  override name = 'RemovalNotUndone'
  constructor(
    message: string,
    readonly kind: ItemKind | null,
  ) {
    super(message)
  }
}

/** What a removal took out of a connector's definition: the item, where it stood and which items followed it. */
export interface RemovedItem {
  kind: ItemKind
  key: string
  /** The item's name (a variable's label). */
  name: string
  item: FieldSpec | AuthMethodSpec | EndpointSpec
  /** The keys of the items after it, in order, in the revision before the removal. */
  followedBy: string[]
}

/**
 * The one variable, authentication method or endpoint that revision `number` removed. Revisions
 * never change, so this is read outside any transaction. NotFound for a missing or foreign
 * revision; Conflict for a revision that was not a removal of one item.
 */
export async function removedBy(db: Db, actor: Actor, connectorId: string, number: number): Promise<RemovedItem> {
  const rows = await db
    .select({ number: connectorRevisions.number, definition: connectorRevisions.definition })
    .from(connectorRevisions)
    .innerJoin(connectors, eq(connectors.id, connectorRevisions.connectorId))
    .where(
      and(
        eq(connectorRevisions.connectorId, connectorId),
        eq(connectors.companyId, actor.companyId),
        inArray(connectorRevisions.number, [number - 1, number]),
      ),
    )
  const after = rows.find((r) => r.number === number)
  const before = rows.find((r) => r.number === number - 1)
  if (!after) throw new NotFound('That revision')
  const notARemoval = new RemovalNotUndone(
    `Revision ${number} did not remove a variable, authentication method or endpoint, so there is nothing to undo. To go back to an earlier definition, roll back to it from the revision history.`,
    null,
  )
  if (!before) throw notARemoval
  const diff = diffDefinitions(before.definition, after.definition)
  const removed = (Object.keys(ITEM_KINDS) as ItemKind[]).flatMap((kind) =>
    diff[ITEM_KINDS[kind].list].removed.map((item) => ({ kind, item })),
  )
  const other =
    diff.settings.length +
    [diff.variables, diff.authMethods, diff.endpoints].reduce((n, k) => n + k.added.length + k.changed.length, 0)
  if (removed.length !== 1 || other) throw notARemoval
  const { kind, item } = removed[0]!
  const list = before.definition[ITEM_KINDS[kind].list] as { key: string }[]
  const index = list.findIndex((i) => i.key === item.key)
  return {
    kind,
    key: item.key,
    item,
    followedBy: list.slice(index + 1).map((i) => i.key),
    name: kind === 'variable' ? (item as FieldSpec).label : (item as AuthMethodSpec | EndpointSpec).name,
  }
}

/**
 * Undoes a removal (revision `number`): puts the item it removed back where it was, as a new
 * revision, whatever has been saved since, as long as its key is still free and the definition stays
 * valid with it (an endpoint whose URL needs a variable removed since is refused). Already back: nothing saved.
 */
export async function undoRemoval(
  db: Db,
  actor: Actor,
  input: { connectorId: string; number: number; submission?: string | undefined },
): Promise<SavedChange & { removed: RemovedItem }> {
  requirePermission(actor, 'manageConnectors')
  const removed = await removedBy(db, actor, input.connectorId, input.number)
  const word = ITEM_KINDS[removed.kind].word
  const what = `${word[0]!.toUpperCase()}${word.slice(1)} “${removed.name}”`
  const saved = await commitChange(db, actor, { ...input, revision: 'any' }, async (current) => {
    const definition = structuredClone(current.definition)
    const items = definition[ITEM_KINDS[removed.kind].list] as { key: string }[]
    const existing = items.find((i) => i.key === removed.key)
    if (existing) {
      if (same(existing, removed.item)) return { name: current.name, definition: current.definition }
      throw new RemovalNotUndone(
        `${what} cannot be put back: ${current.name} has another ${word} with the key ${removed.key} now.`,
        removed.kind,
      )
    }
    const next = removed.followedBy.map((key) => items.findIndex((i) => i.key === key)).find((i) => i >= 0)
    items.splice(next ?? items.length, 0, removed.item)
    const problem = checkDefinition(definition)[0]
    if (problem) throw new RemovalNotUndone(`${what} cannot be put back: ${problem.message} now.`, removed.kind)
    return {
      name: current.name,
      definition,
      summary: `put back ${word} ${removed.name} (undoing revision ${input.number})`,
      action: 'undo removal',
    }
  })
  return { ...saved, removed }
}

async function refuseRemovingUsedEndpoint(tx: Tx, actor: Actor, connector: LockedConnector, key: string) {
  const shapes = await tx
    .select({ flowName: processFlows.name })
    .from(connectionShapes)
    .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(
      and(
        eq(connectionShapes.companyId, actor.companyId),
        eq(instances.connectorId, connector.id),
        eq(connectionShapes.endpointKey, key),
      ),
    )
    .orderBy(processFlows.name)
  if (shapes.length === 0) return
  const name = connector.definition.endpoints.find((e) => e.key === key)?.name ?? key
  const flows = [...new Set(shapes.map((s) => s.flowName))]
  const used = shapes.length === 1 ? 'a connection shape' : plural(shapes.length, 'connection shape')
  const where = flows.length === 1 ? `the process flow ${flows[0]}` : `these process flows: ${listOf(flows)}`
  throw new Invalid({
    '': `Endpoint “${name}” is used by ${used} in ${where}. Reconfigure or remove ${pick(shapes.length, 'it', 'them')} first.`,
  })
}

async function refuseRemovingUsedAuthMethod(tx: Tx, actor: Actor, connector: LockedConnector, key: string) {
  const using = await tx
    .select({ name: instances.name })
    .from(instances)
    .where(
      and(
        eq(instances.companyId, actor.companyId),
        eq(instances.connectorId, connector.id),
        eq(instances.authMethodKey, key),
      ),
    )
    .orderBy(instances.name)
  if (using.length === 0) return
  const name = connector.definition.authMethods.find((a) => a.key === key)?.name ?? key
  const names = using.map((i) => i.name)
  const by = using.length === 1 ? `the instance ${names[0]}` : `these instances: ${listOf(names)}`
  throw new Invalid({
    '': `Authentication method “${name}” is used by ${by}. Change ${pick(using.length, 'its', 'their')} authentication first.`,
  })
}

export interface RevisionSummary {
  number: number
  summary: string
  authorName: string
  createdAt: Date
}

export const REVISIONS_PAGE_SIZE = 50

/** A page of the revisions of a connector of the actor's company, newest first; a page past the end is the last page. */
export async function listRevisions(
  db: Db,
  actor: Actor,
  connectorId: string,
  query: { page: number },
): Promise<Page<RevisionSummary>> {
  const pageAt = (page: number) =>
    db
      .select({
        number: connectorRevisions.number,
        summary: connectorRevisions.summary,
        authorName: users.name,
        createdAt: connectorRevisions.createdAt,
        total: sql<number>`cast(count(*) over () as integer)`,
      })
      .from(connectorRevisions)
      .innerJoin(connectors, eq(connectors.id, connectorRevisions.connectorId))
      .innerJoin(users, eq(users.id, connectorRevisions.authorId))
      .where(and(eq(connectorRevisions.connectorId, connectorId), eq(connectors.companyId, actor.companyId)))
      .orderBy(desc(connectorRevisions.number))
      .limit(constantLimit(REVISIONS_PAGE_SIZE))
      .offset((page - 1) * REVISIONS_PAGE_SIZE)
  const rows = await pageAt(query.page)
  if (rows.length || query.page === 1) return pageOf(rows, query.page, REVISIONS_PAGE_SIZE)
  // Past the end: the count comes from the first page, then the last page is read.
  const first = await pageAt(1)
  const last = Math.max(1, Math.ceil((first[0]?.total ?? 0) / REVISIONS_PAGE_SIZE))
  return pageOf(last === 1 ? first : await pageAt(last), last, REVISIONS_PAGE_SIZE)
}

const previous = alias(connectorRevisions, 'previous')

/**
 * One revision with its whole definition, what changed from the revision before it and the
 * marketplace version it was based on (null for revisions saved before that was recorded).
 */
export async function getRevision(db: Queryable, actor: Actor, connectorId: string, number: number) {
  const [row] = await db
    .select({
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
    })
    .from(connectorRevisions)
    .innerJoin(connectors, eq(connectors.id, connectorRevisions.connectorId))
    .innerJoin(users, eq(users.id, connectorRevisions.authorId))
    .leftJoin(
      previous,
      and(
        eq(previous.connectorId, connectorRevisions.connectorId),
        eq(previous.number, sql`${connectorRevisions.number} - 1`),
      ),
    )
    .leftJoin(marketplaceVersions, eq(marketplaceVersions.id, connectorRevisions.marketplaceVersionId))
    .where(
      and(
        eq(connectorRevisions.connectorId, connectorId),
        eq(connectorRevisions.number, number),
        eq(connectors.companyId, actor.companyId),
      ),
    )
  if (!row) throw new NotFound('That revision')
  const { previousDefinition, versionId, versionDefinition, ...revision } = row
  return {
    ...revision,
    basedOn: versionId && versionDefinition ? { id: versionId, definition: versionDefinition } : null,
    changes: previousDefinition ? describeDiff(diffDefinitions(previousDefinition, row.definition)) : null,
  }
}

/** What every step of the connector settings shows: the connector and whether an update is waiting. One query. */
export async function connectorSettings(db: Db, actor: Actor, id: string) {
  const connector = await getConnector(db, actor, id)
  return { connector, updateAvailable: hasUpdate(connector.kind, connector.version, connector.latestVersion) }
}

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
