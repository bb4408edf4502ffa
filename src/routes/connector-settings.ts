// Connector settings (the connector wizard, reached by the cog): one step per address — basic
// details, variables, authentication methods, endpoints and the revision history — each with the
// trash icon, the update button and who modified the connector. Every save is a revision and comes
// back to the step it was made on; a removal's message offers an undo.
//
//   /connectors/:id/settings                 basic details (GET shows, POST saves)
//   /connectors/:id/{variables,auth-methods,endpoints}         the step (GET), add one (POST)
//   /connectors/:id/{variables,auth-methods,endpoints}/:key    the step with its edit form open (GET), save (POST)
//   /connectors/:id/{variables,auth-methods,endpoints}/:key/delete   remove (POST)
//   /connectors/:id/revisions                the revision history (?page=)
// One revision, rolling back to it and undoing a removal have their own file: connector-revisions.ts.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import { can, type Actor } from '../domain/actor.js'
import { ITEM_KINDS, type DefinitionEdit, type ItemKind } from '../domain/definition-edit.js'
import {
  DEFINITION_CHOICES,
  ITEM_SEGMENTS,
  definitionEdit,
  detailsForm,
  fieldNamesOf,
  formFromInput,
  formInput,
  itemForm,
  type FormState,
  type ReadEdit,
} from '../forms/definition.js'
import type { AuthMethodSpec, EndpointSpec, FieldSpec } from '../domain/definition.js'
import { NotFound, RevisionConflict } from '../domain/errors.js'
import { submitForm } from '../forms/submit.js'
import { type RevisionSummary, listRevisions } from '../domain/revision-history.js'
import { connectorSettings } from '../domain/connector-settings.js'
import { modifyConnector } from '../domain/revisions.js'
import { IdParams, QueryText, UUID } from './schemas.js'
import { movedTo, nearestPage, pageParam } from './lists.js'
import { withQuery } from '../views/format.js'
import type { Page } from '../domain/pagination.js'

export const WIZARD_STEPS = ['details', 'variables', 'auth-methods', 'endpoints', 'revisions'] as const
export type WizardStep = (typeof WIZARD_STEPS)[number]

/** The steps' names, in the words of the screens (and the help text). */
const STEP_TITLES: Record<WizardStep, string> = {
  details: 'Basic details',
  variables: 'Variables',
  'auth-methods': 'Authentication methods',
  endpoints: 'Endpoints',
  revisions: 'Revision history',
}

/** The address of a step. */
export function stepPath(connectorId: string, step: WizardStep): string {
  return step === 'details' ? `/connectors/${connectorId}/settings` : `/connectors/${connectorId}/${step}`
}

/** The step that lists each kind of item. */
export const STEP_OF: Record<ItemKind, WizardStep> = {
  variable: 'variables',
  authMethod: 'auth-methods',
  endpoint: 'endpoints',
}
const SEGMENT_OF = Object.fromEntries(
  Object.entries(ITEM_SEGMENTS).map(([segment, kind]) => [kind, segment]),
) as Record<ItemKind, string>

// Lengths are checked by the domain, beside each field (src/domain/limits.ts).
const FormText = Type.String()
/** An edit form: the revision it was based on, its one-time key, and its flat fields (repeated ones as lists). */
const EditBody = Type.Object(
  {
    revision: Type.Integer({ minimum: 1 }),
    submission: Type.Optional(Type.String({ pattern: UUID })),
  },
  { additionalProperties: Type.Union([FormText, Type.Array(FormText, { maxItems: 200 })]) },
)

/** The help page of every step of the connector wizard. */
export const WIZARD_HELP = 'changing-a-connector'
const ItemParams = Type.Object({ id: IdParams.properties.id, key: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }) })

/** What a step shows besides the connector: which form is open, with what was typed and its messages. */
interface Shown {
  step: WizardStep
  /** The form shown open: 'details', `add-<kind>`, `<kind>-<key>` (an item's edit form) or `remove-<kind>-<key>`. */
  open?: string
  state?: FormState
  removeError?: string
}

type Settings = Awaited<ReturnType<typeof connectorSettings>>
type Item = FieldSpec | AuthMethodSpec | EndpointSpec

/** One step's data: the connector, the step list and, for those who may edit, the step's forms. */
function stepView(settings: Settings, actor: Actor, shown: Shown) {
  const { connector } = settings
  const definition = connector.definition
  const kind = (Object.keys(STEP_OF) as ItemKind[]).find((k) => STEP_OF[k] === shown.step) ?? null
  const stateOf = (id: string, initial: () => FormState) => (shown.open === id && shown.state ? shown.state : initial())
  const editing = can(actor, 'manageConnectors')
  // A form that comes back with messages focuses its first field with one; an opened edit form its first field.
  const autofocus = shown.state
    ? (Object.keys(shown.state.errors).find((field) => field !== '') ?? null)
    : kind === 'variable'
      ? 'label'
      : 'name'
  const items = kind
    ? (definition[ITEM_KINDS[kind].list] as Item[]).map((item) => {
        const formId = `${kind}-${item.key}`
        return {
          item,
          formId,
          name: kind === 'variable' ? (item as FieldSpec).label : (item as AuthMethodSpec | EndpointSpec).name,
          editHref: `/connectors/${connector.id}/${SEGMENT_OF[kind]}/${item.key}`,
          form: editing && shown.open === formId ? stateOf(formId, () => itemForm(kind, item)) : null,
          removeError: shown.open === `remove-${formId}` ? shown.removeError : undefined,
        }
      })
    : []
  return {
    ...settings,
    step: shown.step,
    steps: WIZARD_STEPS,
    titles: STEP_TITLES,
    stepHref: (step: WizardStep) => stepPath(connector.id, step),
    choices: DEFINITION_CHOICES,
    kind,
    segment: kind ? SEGMENT_OF[kind] : null,
    items,
    edit: !editing
      ? null
      : {
          open: shown.open ?? null,
          autofocus: shown.open ? autofocus : null,
          details: stateOf('details', () => detailsForm(connector.name, definition)),
          add: kind ? stateOf(`add-${kind}`, () => itemForm(kind)) : null,
        },
  }
}

export default async function connectorSettingsRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  /** Renders a step: the whole page, or for htmx the wizard below the page head (its forms swap it in place). */
  async function showStep(
    reply: FastifyReply,
    actor: Actor,
    id: string,
    shown: Shown,
    status = 200,
    revisions: Page<RevisionSummary> | null = null,
  ) {
    // Made once per version of the company's data (a GET's; see plugins/page-cache.ts): the step's
    // fragment is kept with holes for the CSRF token and one-time submission keys of its forms.
    const cached = await reply.cached(() => connectorSettings(app.db, actor, id))
    return reply
      .code(status)
      .page(
        'connector-settings/page',
        { ...stepView(cached.value, actor, shown), revisions },
        'connector-settings/connector-wizard',
        cached,
      )
  }

  app.get(
    '/connectors/:id/settings',
    { config: { help: WIZARD_HELP }, schema: { params: IdParams } },
    async (request, reply) => showStep(reply, actorOf(request), request.params.id, { step: 'details' }),
  )

  app.get(
    '/connectors/:id/revisions',
    { config: { help: WIZARD_HELP }, schema: { params: IdParams, querystring: Type.Object({ page: QueryText }) } },
    async (request, reply) => {
      const actor = actorOf(request)
      const { id } = request.params
      // Any ?page= is answered: past the end, the last page, at its own address.
      const { list, moved } = await nearestPage(request.query.page, (page) =>
        listRevisions(app.db, actor, id, { page }),
      )
      if (moved && movedTo(request, reply, withQuery(stepPath(id, 'revisions'), { page: pageParam(list.page) })))
        return reply
      return showStep(reply, actor, id, { step: 'revisions' }, 200, list)
    },
  )

  /** Saves one form's edit and returns to its step; shows the form again with its messages (422) or the conflict (409). */
  async function save(
    reply: FastifyReply,
    actor: Actor,
    id: string,
    body: { revision: number; submission?: string | undefined },
    { edit, rowIndex }: ReadEdit<DefinitionEdit>,
    formId: string,
  ) {
    const step: WizardStep = edit.kind === 'details' ? 'details' : STEP_OF[edit.kind]
    const removal = edit.kind !== 'details' && edit.action === 'remove'
    return submitForm(
      reply,
      () =>
        modifyConnector(app.db, actor, { connectorId: id, revision: body.revision, submission: body.submission, edit }),
      {
        done: (saved) => {
          if (!saved.changed) reply.flash(`Nothing changed in ${saved.name}, so no revision was saved.`)
          else if (removal)
            reply.flash(`Saved revision ${saved.revision} of ${saved.name}: ${saved.summary}.`, {
              undo: { action: `/connectors/${id}/revisions/${saved.revision}/undo`, what: saved.summary },
            })
          else reply.flash(`Saved revision ${saved.revision} of ${saved.name}: ${saved.summary}.`)
          const anchor = edit.kind !== 'details' && !removal && edit.action === 'change' ? `#${formId}` : ''
          return reply.seeOther(`${stepPath(id, step)}${anchor}`)
        },
        fields: fieldNamesOf(edit.kind, rowIndex),
        conflict: (error) => {
          if (!(error instanceof RevisionConflict)) return null
          const meanwhile = `${error.authorName} saved a change to this connector meanwhile (revision ${error.revision}). `
          return removal
            ? `${meanwhile}Nothing was removed. This page now shows their change; remove it again if it is still needed.`
            : `${meanwhile}Your change was not saved. This page now shows theirs; what you entered is kept in this form, so check it and save again if it is still needed.`
        },
        again: ({ status, errors }) => {
          const shown: Shown = removal
            ? { step, open: formId, removeError: Object.values(errors).join(' ') }
            : { step, open: formId, state: formFromInput(edit.kind, formInput(body), errors) }
          return showStep(reply, actor, id, shown, status)
        },
      },
    )
  }

  app.post(
    '/connectors/:id/settings',
    {
      config: { permission: 'manageConnectors', help: WIZARD_HELP },
      schema: { params: IdParams, body: EditBody },
    },
    async (request, reply) =>
      save(
        reply,
        actorOf(request),
        request.params.id,
        request.body,
        definitionEdit({ kind: 'details' }, formInput(request.body)),
        'details',
      ),
  )

  /** The routes of one kind of item's step, each written out in full so that a search for its address finds it. */
  function itemRoutes(kind: ItemKind, paths: { step: string; item: string; removal: string }) {
    const step = STEP_OF[kind]
    app.get(paths.step, { config: { help: WIZARD_HELP }, schema: { params: IdParams } }, async (request, reply) =>
      showStep(reply, actorOf(request), request.params.id, { step }),
    )

    app.post(
      paths.step,
      {
        config: { permission: 'manageConnectors', help: WIZARD_HELP },
        schema: { params: IdParams, body: EditBody },
      },
      async (request, reply) =>
        save(
          reply,
          actorOf(request),
          request.params.id,
          request.body,
          definitionEdit({ kind, action: 'add' }, formInput(request.body)),
          `add-${kind}`,
        ),
    )

    // One item's edit form, open in its step (htmx swaps it in; without JavaScript it is this page).
    app.get(
      paths.item,
      {
        config: { permission: 'manageConnectors', help: WIZARD_HELP },
        schema: { params: ItemParams },
      },
      async (request, reply) => {
        const actor = actorOf(request)
        const { id, key } = request.params
        const settings = await connectorSettings(app.db, actor, id)
        const items = settings.connector.definition[ITEM_KINDS[kind].list] as Item[]
        if (!items.some((item) => item.key === key)) throw new NotFound(`That ${ITEM_KINDS[kind].word}`)
        return reply.page(
          'connector-settings/page',
          { ...stepView(settings, actor, { step, open: `${kind}-${key}` }), revisions: null },
          'connector-settings/connector-wizard',
        )
      },
    )

    app.post(
      paths.item,
      {
        config: { permission: 'manageConnectors', help: WIZARD_HELP, back: paths.step },
        schema: { params: ItemParams, body: EditBody },
      },
      async (request, reply) =>
        save(
          reply,
          actorOf(request),
          request.params.id,
          request.body,
          definitionEdit({ kind, action: 'change', key: request.params.key }, formInput(request.body)),
          `${kind}-${request.params.key}`,
        ),
    )

    app.post(
      paths.removal,
      {
        config: { permission: 'manageConnectors', help: WIZARD_HELP, back: paths.step },
        schema: { params: ItemParams, body: EditBody },
      },
      async (request, reply) =>
        save(
          reply,
          actorOf(request),
          request.params.id,
          request.body,
          { edit: { kind, action: 'remove', key: request.params.key }, rowIndex: [] },
          `remove-${kind}-${request.params.key}`,
        ),
    )
  }

  itemRoutes('variable', {
    step: '/connectors/:id/variables',
    item: '/connectors/:id/variables/:key',
    removal: '/connectors/:id/variables/:key/delete',
  })
  itemRoutes('authMethod', {
    step: '/connectors/:id/auth-methods',
    item: '/connectors/:id/auth-methods/:key',
    removal: '/connectors/:id/auth-methods/:key/delete',
  })
  itemRoutes('endpoint', {
    step: '/connectors/:id/endpoints',
    item: '/connectors/:id/endpoints/:key',
    removal: '/connectors/:id/endpoints/:key/delete',
  })
}
