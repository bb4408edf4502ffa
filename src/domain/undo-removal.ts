// Undoing a removal (the undo in the message after removing a variable, authentication method or
// endpoint): what the revision removed, and putting it back as a new revision.
import { and, eq, inArray } from 'drizzle-orm'
import { connectorRevisions, connectors } from '../db/schema.js'
import type { Db } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import { checkDefinition, type AuthMethodSpec, type EndpointSpec, type FieldSpec } from './definition.js'
import { ITEM_KINDS, type ItemKind } from './definition-edit.js'
import { diffDefinitions, same } from './definition-diff.js'
import { Conflict, NotFound } from './errors.js'
import { commitChange, type SavedChange } from './revisions.js'

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
