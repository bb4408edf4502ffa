// Modifying a connector: every save is a revision (number, author, time, a one-line summary, the
// whole definition), the revision number its optimistic lock; saving a definition, changing one item.
import { and, eq, ne, sql } from 'drizzle-orm'
import { connectionShapes, connectorRevisions, connectors, instances, processFlows } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import type { Actor } from './actor.js'
import type { AuditAction } from './audit.js'
import { revisionConflict } from './connectors.js'
import { lockConnectorNames } from './locks.js'
import { runCommand } from './command.js'
import { lockConnector, type LockedConnector } from './connector-queries.js'
import { checkDefinition, type ConnectorDefinition } from './definition.js'
import { applyEdit, type DefinitionEdit } from './definition-edit.js'
import { describeDiff, diffDefinitions, isUnchanged, summariseDiff } from './definition-diff.js'
import { Invalid, NotFound } from './errors.js'
import { listOf, pick, plural } from './words.js'

export interface SavedChange {
  connectorId: string
  name: string
  /** The connector's revision after the save (unchanged when there was nothing to save). */
  revision: number
  summary: string
  changed: boolean
}

export interface ChangeInput {
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
  action?: AuditAction
}

type Change = (current: LockedConnector, tx: Tx) => Promise<Next>

/** Saves a change as the next revision, in one transaction, once per form submission. */
export async function commitChange(db: Db, actor: Actor, input: CommitInput, change: Change): Promise<SavedChange> {
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
