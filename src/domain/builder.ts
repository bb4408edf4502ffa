// The connector builder: a company's own connectors, built step by step as drafts (completing one
// publishes and installs it: builder-complete.ts). Custom connectors never get vendor updates.
import { and, desc, eq, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import { connectorDrafts, connectors, users } from '../db/schema.js'
import type { Db, Tx, Queryable } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import type { ConnectorDefinition } from './definition.js'
import { SYSTEM_TYPES } from './enums.js'
import { applyEdit, type DefinitionEdit, type DetailsInput, type ItemInput, type ItemKind } from './definition-edit.js'
import { EditConflict, Invalid, NotFound } from './errors.js'
import { runCommand } from './command.js'
import type { EditForm } from './edit-form.js'
import type { RemovalResult } from './removal.js'
import { LIMITS, tooLongMessage } from './limits.js'

export const BUILDER_STEPS = ['basic-details', 'variables', 'auth-methods', 'endpoints', 'complete'] as const
export type BuilderStep = (typeof BUILDER_STEPS)[number]
export const STEP_TITLES: Record<BuilderStep, string> = {
  'basic-details': 'Basic details',
  variables: 'Variables',
  'auth-methods': 'Authentication methods',
  endpoints: 'Endpoints',
  complete: 'Complete',
}

export interface DraftDetails {
  name: string
  version: string
  description: string
  systemType: string
  colour: string
}
export interface DraftData {
  details: DraftDetails
  definition: ConnectorDefinition
}

const NEW_DRAFT: DraftData = {
  details: { name: '', version: '', description: '', systemType: 'Other', colour: '#3f51b5' },
  definition: {
    protocol: 'HTTP',
    baseUrl: '',
    dateFormat: 'Y-m-d H:i:s',
    rateLimit: { amount: 60, unit: 'minute' },
    variables: [],
    authMethods: [],
    endpoints: [],
  },
}

export async function listDrafts(db: Db, actor: Actor) {
  requirePermission(actor, 'manageConnectors')
  return db
    .select({
      id: connectorDrafts.id,
      step: connectorDrafts.step,
      data: connectorDrafts.data,
      updatedAt: connectorDrafts.updatedAt,
      authorName: users.name,
    })
    .from(connectorDrafts)
    .innerJoin(users, eq(users.id, connectorDrafts.createdBy))
    .where(eq(connectorDrafts.companyId, actor.companyId))
    .orderBy(desc(connectorDrafts.updatedAt))
    .limit(100)
}

/** Starts a draft, once per form submission (a double submit answers with the draft started first). */
export async function startDraft(
  db: Db,
  actor: Actor,
  input: { submission?: string | undefined } = {},
): Promise<{ id: string }> {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: input.submission,
    replay: async (tx, earlier) => {
      if (!earlier.resultId) return null
      const [done] = await tx
        .select({ id: connectorDrafts.id })
        .from(connectorDrafts)
        .where(and(eq(connectorDrafts.id, earlier.resultId), eq(connectorDrafts.companyId, actor.companyId)))
      return done ?? null
    },
    run: async (tx) => {
      const [draft] = await tx
        .insert(connectorDrafts)
        .values({
          companyId: actor.companyId,
          createdBy: actor.id,
          updatedBy: actor.id,
          step: 'basic-details',
          data: NEW_DRAFT,
        })
        .returning({ id: connectorDrafts.id })
      return {
        result: draft!,
        resultId: draft!.id,
        audit: {
          action: 'start draft',
          subjectType: 'draft',
          subjectId: draft!.id,
          summary: 'started building a custom connector',
        },
      }
    },
  })
}

export async function getDraft(db: Queryable, actor: Actor, id: string) {
  requirePermission(actor, 'manageConnectors')
  const [draft] = await db
    .select()
    .from(connectorDrafts)
    .where(and(eq(connectorDrafts.id, id), eq(connectorDrafts.companyId, actor.companyId)))
  if (!draft) throw new NotFound('That draft')
  return {
    id: draft.id,
    step: draft.step as BuilderStep,
    data: draft.data,
    updatedAt: draft.updatedAt,
    version: draft.version,
  }
}

const updater = alias(users, 'updater')

/**
 * The draft locked for the rest of the transaction, at the version the form was read at: a draft
 * changed since (another tab, another admin) is refused with an EditConflict, nothing changed.
 */
export async function lockDraft(tx: Tx, actor: Actor, id: string, form: EditForm) {
  const [draft] = await tx
    .select()
    .from(connectorDrafts)
    .where(and(eq(connectorDrafts.id, id), eq(connectorDrafts.companyId, actor.companyId)))
    .for('update')
  if (!draft) throw new NotFound('That draft')
  if (draft.version !== form.version) {
    const [by] = draft.updatedBy
      ? await tx.select({ name: updater.name }).from(updater).where(eq(updater.id, draft.updatedBy))
      : []
    throw new EditConflict('draft', by?.name ?? null)
  }
  return draft
}

/** Applies a change to a draft in one transaction, the row locked; once per form submission. */
async function changeDraft(
  db: Db,
  actor: Actor,
  id: string,
  step: BuilderStep,
  form: EditForm,
  change: (data: DraftData) => DraftData,
) {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: form.submission,
    replay: async (tx) => (await getDraft(tx, actor, id)).data,
    run: async (tx) => {
      const draft = await lockDraft(tx, actor, id, form)
      const data = change(draft.data)
      const furthest =
        BUILDER_STEPS.indexOf(step) > BUILDER_STEPS.indexOf(draft.step as BuilderStep) ? step : draft.step
      await tx
        .update(connectorDrafts)
        .set({
          data,
          step: furthest,
          updatedAt: sql`now()`,
          version: sql`${connectorDrafts.version} + 1`,
          updatedBy: actor.id,
        })
        .where(eq(connectorDrafts.id, id))
      return { result: data, resultId: id }
    },
  })
}

/** The connector of the company already called `name` (whatever the case), if any: names are unique. */
export async function connectorNamed(q: Queryable, actor: Actor, name: string) {
  const [taken] = await q
    .select({ name: connectors.name })
    .from(connectors)
    .where(and(eq(connectors.companyId, actor.companyId), eq(sql`lower(${connectors.name})`, name.toLowerCase())))
  return taken ?? null
}

export const nameTaken = (name: string) =>
  `You already have a connector called ${name}. Choose another name: the names of your connectors are unique.`

const COLOUR = /^#[0-9a-fA-F]{6}$/

/** The basic details step as entered: the draft's own details and the definition's. */
export type BasicDetailsInput = DraftDetails & DetailsInput

/** Step 1: name, version, description, system type, protocol, date format, rate limit, colour. */
export async function saveBasicDetails(
  db: Db,
  actor: Actor,
  { draftId: id, details: input, ...form }: { draftId: string; details: BasicDetailsInput } & EditForm,
) {
  const details: DraftDetails = {
    name: input.name.trim(),
    version: input.version.trim(),
    description: input.description.trim(),
    systemType: input.systemType.trim(),
    colour: input.colour.trim(),
  }
  const errors: Record<string, string> = {}
  if (!details.version) errors.version = 'Enter a version, e.g. "Version 1 - 28th July 2023".'
  else if (details.version.length > LIMITS.version) errors.version = tooLongMessage(LIMITS.version)
  if (!details.description) errors.description = 'Describe what the connector syncs.'
  else if (details.description.length > LIMITS.description) errors.description = tooLongMessage(LIMITS.description)
  if (!(SYSTEM_TYPES as readonly string[]).includes(details.systemType)) errors.systemType = 'Choose a system type.'
  if (!COLOUR.test(details.colour)) errors.colour = 'Choose a colour such as #3f51b5.'
  // Checked again on complete: it is installed under this name.
  const taken = details.name ? await connectorNamed(db, actor, details.name) : null
  if (taken) errors.name = nameTaken(taken.name)
  return changeDraft(db, actor, id, 'variables', form, (data) => {
    let edited: { name: string; definition: ConnectorDefinition } | null = null
    try {
      edited = applyEdit(
        { name: data.details.name, definition: data.definition },
        { kind: 'details', input },
        { incomplete: true },
      )
    } catch (error) {
      if (!(error instanceof Invalid)) throw error
      Object.assign(errors, error.fields, errors)
    }
    if (Object.keys(errors).length || !edited) throw new Invalid(errors)
    return { details: { ...details, name: edited.name }, definition: edited.definition }
  })
}

/** Steps 2–4: add or remove a variable, authentication method or endpoint. */
export async function editDraft(
  db: Db,
  actor: Actor,
  {
    draftId: id,
    step,
    edit,
    ...form
  }: { draftId: string; step: BuilderStep; edit: Exclude<DefinitionEdit, { kind: 'details' }> } & EditForm,
) {
  return changeDraft(db, actor, id, step, form, (data) => {
    const edited = applyEdit({ name: data.details.name, definition: data.definition }, edit, { incomplete: true })
    return { ...data, definition: edited.definition }
  })
}

/** Endpoints can be cloned: the copy gets a free key and "(copy)" in its name. */
export async function cloneEndpoint(
  db: Db,
  actor: Actor,
  { draftId: id, key, ...form }: { draftId: string; key: string } & EditForm,
) {
  return changeDraft(db, actor, id, 'endpoints', form, (data) => {
    const endpoint = data.definition.endpoints.find((e) => e.key === key)
    if (!endpoint) throw new NotFound('That endpoint')
    const keys = new Set(data.definition.endpoints.map((e) => e.key))
    let n = 2
    const base = `${endpoint.key.slice(0, 55)}_copy`
    let copyKey = base
    while (keys.has(copyKey)) copyKey = `${base}${n++}`
    const copy = { ...structuredClone(endpoint), key: copyKey, name: `${endpoint.name} (copy)`.slice(0, LIMITS.label) }
    return { ...data, definition: { ...data.definition, endpoints: [...data.definition.endpoints, copy] } }
  })
}

/** What must be done before leaving a step ("at least one"). */
export function stepProblems(data: DraftData, step: BuilderStep): Record<string, string> {
  if (step === 'basic-details' && (!data.details.name || !data.details.version))
    return { '': 'Save the basic details first.' }
  if (step === 'auth-methods' && data.definition.authMethods.length === 0)
    return { '': 'Add at least one authentication method.' }
  if (step === 'endpoints' && data.definition.endpoints.length === 0) return { '': 'Add at least one endpoint.' }
  return {}
}

/**
 * Leaves a step for the next one. An item typed into the step's add form but not added yet is
 * added first, in the same change: "next step" never drops what was typed (an invalid one is refused
 * with its messages, and nothing moves on).
 */
export async function markStepDone(
  db: Db,
  actor: Actor,
  {
    draftId: id,
    step,
    pending,
    ...form
  }: { draftId: string; step: BuilderStep; pending?: { kind: ItemKind; input: ItemInput } | undefined } & EditForm,
): Promise<BuilderStep> {
  const next = BUILDER_STEPS[Math.min(BUILDER_STEPS.indexOf(step) + 1, BUILDER_STEPS.length - 1)]!
  await changeDraft(db, actor, id, next, form, (data) => {
    const current = pending
      ? {
          ...data,
          definition: applyEdit(
            { name: data.details.name, definition: data.definition },
            { kind: pending.kind, action: 'add', input: pending.input },
            { incomplete: true },
          ).definition,
        }
      : data
    const problems = stepProblems(current, step)
    if (Object.keys(problems).length) throw new Invalid(problems)
    return current
  })
  return next
}

/** Discards a draft, unless it changed since the prompt was shown; once per form submission. */
export async function discardDraft(db: Db, actor: Actor, id: string, form: EditForm): Promise<RemovalResult<never>> {
  return runCommand<RemovalResult<never>>(db, actor, {
    permission: 'manageConnectors',
    submission: form.submission,
    replay: async (tx) => {
      const [there] = await tx
        .select({ id: connectorDrafts.id })
        .from(connectorDrafts)
        .where(and(eq(connectorDrafts.id, id), eq(connectorDrafts.companyId, actor.companyId)))
      return there ? null : { removed: true, name: '' }
    },
    run: async (tx) => {
      const draft = await lockDraft(tx, actor, id, form)
      await tx.delete(connectorDrafts).where(eq(connectorDrafts.id, id))
      const name = draft.data.details.name || 'untitled'
      return {
        result: { removed: true, name },
        resultId: id,
        audit: {
          action: 'discard draft',
          subjectType: 'draft',
          subjectId: id,
          summary: `discarded the draft of ${name}`,
        },
      }
    },
  })
}
