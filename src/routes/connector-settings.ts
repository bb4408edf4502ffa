// Connector settings (the connector wizard, reached by the cog): basic details, variables,
// authentication methods and endpoints, each editable; every save is a revision, listed with links
// to each revision's definition.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import { can, type Actor } from '../domain/actor.js'
import {
  detailsForm, formFromInput, itemForm, ITEM_KINDS, type DefinitionEdit, type FormInput, type FormState, type ItemKind, DEFINITION_CHOICES, ITEM_SEGMENTS,
} from '../domain/definition-edit.js'
import { Invalid, RevisionConflict } from '../domain/errors.js'
import { connectorSettings, getRevision, modifyConnector, rollbackConnector, rollbackPreview } from '../domain/revisions.js'
import { IdParams, UUID } from './schemas.js'



// Lengths are checked by the domain, beside each field (src/domain/limits.ts).
const FormText = Type.String()
/** An edit form: the revision it was based on, its one-time key, and its flat fields (repeated ones as lists). */
const EditBody = Type.Object({
  revision: Type.Integer({ minimum: 1 }),
  submission: Type.Optional(Type.String({ pattern: UUID })),
}, { additionalProperties: Type.Union([FormText, Type.Array(FormText, { maxItems: 200 })]) })

/** Where the forms of the connector wizard are. */
const SETTINGS = '/connectors/:id/settings'
const ItemParams = Type.Object({ id: IdParams.properties.id, key: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }) })
const RevisionParams = Type.Object({ id: IdParams.properties.id, number: Type.Integer({ minimum: 1, maximum: 2_000_000_000 }) })

/** A form to show again: which one, with what the user typed and the messages beside its fields. */
interface OpenForm { id: string; state?: FormState; removeError?: string }

type Settings = Awaited<ReturnType<typeof connectorSettings>>

/** The settings page's data: the connector, its revisions and, for those who may edit, every form. */
function settingsView(settings: Settings, actor: Actor, open?: OpenForm) {
  const { connector } = settings
  const definition = connector.definition
  const stateOf = (id: string, initial: () => FormState) => (open?.id === id && open.state ? open.state : initial())
  const edit = !can(actor, 'manageConnectors') ? null : {
    open: open?.id ?? null,
    // The page comes back whole: focus goes to the first field with a message (autofocus).
    autofocus: open?.state ? (Object.keys(open.state.errors).find((field) => field !== '') ?? null) : null,
    details: stateOf('details', () => detailsForm(connector.name, definition)),
    add: Object.fromEntries((Object.keys(ITEM_KINDS) as ItemKind[]).map((kind) => [kind, stateOf(`add-${kind}`, () => itemForm(kind))])),
    items: Object.fromEntries((Object.keys(ITEM_KINDS) as ItemKind[]).flatMap((kind) =>
      (definition[ITEM_KINDS[kind].list] as Parameters<typeof itemForm>[1][]).map((item) => {
        const id = `${kind}-${item!.key}`
        return [id, { form: stateOf(id, () => itemForm(kind, item)), removeError: open?.id === `remove-${id}` ? open.removeError : undefined }]
      }))),
  }
  return { ...settings, choices: DEFINITION_CHOICES, edit }
}

export default async function connectorSettingsRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/connectors/:id/settings', { schema: { params: IdParams } }, async (request, reply) => {
    const actor = actorOf(request)
    return reply.page('connector-settings', settingsView(await connectorSettings(app.db, actor, request.params.id), actor))
  })

  app.get('/connectors/:id/revisions/:number', { schema: { params: RevisionParams } }, async (request, reply) => {
    const revision = await getRevision(app.db, actorOf(request), request.params.id, request.params.number)
    return reply.page('connector-revision', { revision })
  })

  // Roll back to an earlier revision: what it changes and touches first, then a new revision.
  const RollbackBody = Type.Object({ revision: Type.Integer({ minimum: 1 }), submission: Type.Optional(Type.String({ pattern: UUID })) })
  const rollbackRoute = { config: { permission: 'manageConnectors' as const }, schema: { params: RevisionParams } }

  app.get('/connectors/:id/revisions/:number/rollback', rollbackRoute, async (request, reply) => {
    const preview = await rollbackPreview(app.db, actorOf(request), request.params.id, request.params.number)
    return reply.page('connector-rollback', { ...preview, errors: {} })
  })

  app.post('/connectors/:id/revisions/:number/rollback', { ...rollbackRoute, schema: { ...rollbackRoute.schema, body: RollbackBody } }, async (request, reply) => {
    const actor = actorOf(request)
    const { id, number } = request.params
    try {
      const saved = await rollbackConnector(app.db, actor, { connectorId: id, number, ...request.body })
      reply.flash(saved.changed
        ? `${saved.name} is rolled back to revision ${number}, saved as revision ${saved.revision}. Every earlier revision is still in the history.`
        : `${saved.name} already has the definition of revision ${number}, so nothing was saved.`)
      return reply.seeOther(`/connectors/${id}/settings#revisions`)
    } catch (error) {
      if (!(error instanceof RevisionConflict)) throw error
      const preview = await rollbackPreview(app.db, actor, id, number)
      const errors = { '': `${error.authorName} saved a change to this connector meanwhile (revision ${error.revision}), so nothing was rolled back. This page now shows what rolling back changes from their revision; roll back again if it is still needed.` }
      return reply.code(409).page('connector-rollback', { ...preview, errors })
    }
  })

  /** Saves one form's edit; shows the form again with its messages (422) or the conflict (409). */
  async function save(reply: FastifyReply, actor: Actor, id: string, body: { revision: number; submission?: string | undefined }, edit: DefinitionEdit, formId: string) {
    try {
      const saved = await modifyConnector(app.db, actor, { connectorId: id, revision: body.revision, submission: body.submission, edit })
      reply.flash(saved.changed
        ? `Saved revision ${saved.revision} of ${saved.name}: ${saved.summary}.`
        : `Nothing changed in ${saved.name}, so no revision was saved.`)
      return reply.redirect(`/connectors/${id}/settings`, 303)
    } catch (error) {
      const conflict = error instanceof RevisionConflict
      if (!(error instanceof Invalid) && !conflict) throw error
      const removal = edit.kind !== 'details' && edit.action === 'remove'
      const meanwhile = conflict ? `${error.authorName} saved a change to this connector meanwhile (revision ${error.revision}). ` : ''
      const errors = !conflict ? error.fields : {
        '': removal
          ? `${meanwhile}Nothing was removed. This page now shows their change; remove it again if it is still needed.`
          : `${meanwhile}Your change was not saved. This page now shows theirs; what you entered is kept in this form, so check it and save again if it is still needed.`,
      }
      const open: OpenForm = removal
        ? { id: formId, removeError: Object.values(errors).join(' ') }
        : { id: formId, state: formFromInput(edit.kind, body as unknown as FormInput, errors) }
      const settings = await connectorSettings(app.db, actor, id)
      return reply.code(conflict ? 409 : 422).page('connector-settings', settingsView(settings, actor, open))
    }
  }

  app.post('/connectors/:id/details', {
    config: { permission: 'manageConnectors', back: SETTINGS },
    schema: { params: IdParams, body: EditBody },
  }, async (request, reply) => save(reply, actorOf(request), request.params.id, request.body,
    { kind: 'details', input: request.body as unknown as FormInput }, 'details'))

  for (const [segment, kind] of Object.entries(ITEM_SEGMENTS)) {
    app.post(`/connectors/:id/${segment}`, {
      config: { permission: 'manageConnectors', back: SETTINGS },
      schema: { params: IdParams, body: EditBody },
    }, async (request, reply) => save(reply, actorOf(request), request.params.id, request.body,
      { kind, action: 'add', input: request.body as unknown as FormInput }, `add-${kind}`))

    app.post(`/connectors/:id/${segment}/:key`, {
      config: { permission: 'manageConnectors', back: SETTINGS },
      schema: { params: ItemParams, body: EditBody },
    }, async (request, reply) => save(reply, actorOf(request), request.params.id, request.body,
      { kind, action: 'change', key: request.params.key, input: request.body as unknown as FormInput }, `${kind}-${request.params.key}`))

    app.post(`/connectors/:id/${segment}/:key/delete`, {
      config: { permission: 'manageConnectors', back: SETTINGS },
      schema: { params: ItemParams, body: EditBody },
    }, async (request, reply) => save(reply, actorOf(request), request.params.id, request.body,
      { kind, action: 'remove', key: request.params.key }, `remove-${kind}-${request.params.key}`))
  }
}
