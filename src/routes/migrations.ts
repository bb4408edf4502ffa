// "Move instances in stages" (after installing a version alongside): the migrate page of the new
// connector picks instances of the old one and the process flows to repoint; preview shows exactly
// what will change; apply does it in one go and leads to the batch's page, which can undo it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import type { Actor } from '../domain/actor.js'
import { fieldsWhere, migrationChoices, type MigrationForm } from '../forms/instance-moves.js'
import { submitForm } from '../forms/submit.js'
import {
  applyMigration,
  getMigrationBatch,
  isPickerField,
  migrationPicker,
  PlanChanged,
  previewMigration,
  undoMigration,
  type MigrationChoices,
  type MigrationPicker,
  type MigrationPlan,
  type UndoBlocker,
} from '../domain/instance-moves/index.js'
import { IdParams, QueryText, UUID } from './schemas.js'
import { nearestPage, searchOf } from './lists.js'
import { LIMITS, tooLongMessage } from '../domain/limits.js'
import { MAX_SUFFIX_LENGTH } from '../domain/instance-moves/plan.js'

const Id = IdParams.properties.id
// Lengths are checked by the domain, beside each field (src/domain/limits.ts).
const FormText = Type.String()
/** The picker and the preview: known fields plus `flow.<instanceId>`, `authMethod.<instanceId>`, `endpoint.<shapeId>`. */
const MigrateBody = Type.Object(
  {
    action: Type.Optional(
      Type.Union([Type.Literal('preview'), Type.Literal('apply'), Type.Literal('back'), Type.Literal('search')]),
    ),
    /** The search box over the old connector's instances, and the page of its results (a page button). */
    q: QueryText,
    page: QueryText,
    from: Type.Optional(Type.String()),
    suffix: Type.Optional(FormText),
    plan: Type.Optional(Type.String()),
    submission: Type.Optional(Type.String({ pattern: UUID })),
    // A single checked box arrives as a string; Fastify's validator makes it a list.
    instance: Type.Optional(Type.Array(Type.String(), { maxItems: 1000 })),
  },
  { additionalProperties: Type.Union([FormText, Type.Array(FormText, { maxItems: 1000 })]) },
)

const BatchParams = Type.Object({ id: Id, batchId: Id })

export default async function migrationRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const manage = { permission: 'manageInstances', help: 'updating-a-connector' } as const

  /**
   * The migrate page; `form` keeps what was chosen (back, a search, or refused input) for the old
   * connector it names, whose instances are shown searched and paged. htmx asks for those results alone.
   */
  const picker = async (
    request: FastifyRequest<{ Body: Static<typeof MigrateBody> }>,
    reply: FastifyReply,
    actor: Actor,
    connectorId: string,
    form: (MigrationChoices & { errors: Record<string, string> }) | null,
    status = 200,
  ) => {
    const search = searchOf(request.body.q)
    let data: MigrationPicker | undefined
    await nearestPage(request.body.page, async (page) => {
      data = await migrationPicker(app.db, actor, connectorId, {
        fromId: form?.fromConnectorId,
        q: search.q,
        page,
        picked: form?.instanceIds,
      })
      return data.groups[0]?.results ?? { rows: [], total: 0, page: 1, pages: 1, pageSize: 1 }
    })
    const from = data!.groups[0]?.connector.id
    const fragment = String(request.headers['hx-target'] ?? '').startsWith('div#migrate-results-')
      ? 'migrations/migrate-search'
      : undefined
    // A refused search shows what was typed; any other shows what was searched for.
    const q = form?.errors.q ? (request.body.q ?? '') : search.q
    return reply
      .code(status)
      .page('migrations/page', { stage: 'pick', picker: data, q, form: form ? { ...form, from } : null }, fragment)
  }

  const preview = (
    reply: FastifyReply,
    plan: MigrationPlan,
    choices: MigrationChoices,
    errors: Record<string, string> = {},
    status = 200,
  ) => reply.code(status).page('migrations/page', { stage: 'preview', plan, form: choices, errors })

  app.get(
    '/connectors/:id/migrate',
    {
      config: manage,
      schema: { params: IdParams, querystring: Type.Object({ from: Type.Optional(Type.String()) }) },
    },
    async (request, reply) => {
      const data = await migrationPicker(app.db, actorOf(request), request.params.id, { fromId: request.query.from })
      return reply.page('migrations/page', { stage: 'pick', picker: data, q: '', form: null })
    },
  )

  app.post(
    '/connectors/:id/migrate',
    { config: manage, schema: { params: IdParams, body: MigrateBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const connectorId = request.params.id
      const body: MigrationForm = request.body
      const choices = migrationChoices(body)
      // A page button sends only its page: it is a search too.
      const action = request.body.action ?? (request.body.page === undefined ? 'preview' : 'search')
      if (action === 'back' || action === 'search') {
        // Too long a search or suffix is refused beside its field, what was typed kept (as a preview would).
        const errors: Record<string, string> = {}
        if (searchOf(request.body.q).cut) errors.q = tooLongMessage(LIMITS.search)
        if (choices.suffix.length > MAX_SUFFIX_LENGTH) errors.suffix = `Use at most ${MAX_SUFFIX_LENGTH} characters.`
        const refused = Object.keys(errors).length > 0
        return picker(request, reply, actor, connectorId, { ...choices, errors }, refused ? 422 : 200)
      }

      if (action === 'preview') {
        const plan = await previewMigration(app.db, actor, app.secretBox, connectorId, choices)
        const pickErrors = fieldsWhere(plan.errors, isPickerField)
        if (Object.keys(pickErrors).length)
          return picker(
            request,
            reply,
            actor,
            connectorId,
            { ...choices, fromConnectorId: plan.from.id, errors: pickErrors },
            422,
          )
        return preview(reply, plan, { ...choices, fromConnectorId: plan.from.id })
      }

      return submitForm(
        reply,
        () =>
          applyMigration(app.db, actor, app.secretBox, {
            ...choices,
            connectorId,
            plan: request.body.plan,
            submission: request.body.submission,
          }),
        {
          done: (applied) => {
            reply.flash(
              `Done: ${applied.summary}. Below is what changed; you can undo it as long as nothing else changes those instances and connection shapes.`,
            )
            return reply.seeOther(`/connectors/${connectorId}/migrations/${applied.batchId}`)
          },
          conflict: (error) => (error instanceof PlanChanged ? error.message : null),
          again: async (refused) => {
            const plan = await previewMigration(app.db, actor, app.secretBox, connectorId, choices)
            const errors = { ...plan.errors, ...refused.errors }
            const pickErrors = fieldsWhere(errors, (field) => isPickerField(field) && field !== '')
            const fixed = { ...choices, fromConnectorId: plan.from.id }
            if (Object.keys(pickErrors).length)
              return picker(request, reply, actor, connectorId, { ...fixed, errors: pickErrors }, 422)
            return preview(reply, plan, fixed, errors, refused.status)
          },
        },
      )
    },
  )

  const batchPage = async (
    reply: FastifyReply,
    actor: Actor,
    connectorId: string,
    batchId: string,
    refused: UndoBlocker[] | null = null,
  ) => {
    const batch = await getMigrationBatch(app.db, actor, connectorId, batchId)
    return reply.code(refused ? 409 : 200).page('migrations/batch-page', { batch, refused })
  }

  app.get(
    '/connectors/:id/migrations/:batchId',
    { config: manage, schema: { params: BatchParams } },
    async (request, reply) => batchPage(reply, actorOf(request), request.params.id, request.params.batchId),
  )

  app.post(
    '/connectors/:id/migrations/:batchId/undo',
    {
      config: { ...manage, back: '/connectors/:id/migrations/:batchId' },
      schema: { params: BatchParams, body: Type.Object({ submission: Type.Optional(Type.String({ pattern: UUID })) }) },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { id, batchId } = request.params
      const result = await undoMigration(app.db, actor, {
        connectorId: id,
        batchId,
        submission: request.body.submission,
      })
      if (!result.undone) return batchPage(reply, actor, id, batchId, result.blockers)
      reply.flash(`Undone: ${result.summary}.`)
      return reply.seeOther(`/connectors/${id}/migrations/${batchId}`)
    },
  )
}
