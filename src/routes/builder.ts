// The connector builder (/builder): drafts, the five steps, complete, discard.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import type { Actor } from '../domain/actor.js'
import { SYSTEM_TYPES } from '../domain/enums.js'
import { ITEM_KINDS, type ItemKind } from '../domain/definition-edit.js'
import {
  DEFINITION_CHOICES,
  ITEM_SEGMENTS,
  detailsInput,
  fieldNamesOf,
  first,
  formFromInput,
  formInput,
  isItemFilled,
  itemForm,
  itemInput,
  type FormState,
  type RowOptions,
} from '../forms/definition.js'
import {
  BUILDER_STEPS,
  STEP_TITLES,
  cloneEndpoint,
  discardDraft,
  editDraft,
  getDraft,
  listDrafts,
  markStepDone,
  saveBasicDetails,
  startDraft,
  stepProblems,
  type BuilderStep,
} from '../domain/builder.js'
import { completeDraft } from '../domain/builder-complete.js'
import { pageOfConnector } from '../domain/connectors.js'
import { isPartialRequest } from '../plugins/views.js'
import { EditFields, IdParams } from './schemas.js'
import { editConflict, submitForm } from '../forms/submit.js'
import { registerRemoval } from './removal.js'

const manage = { permission: 'manageConnectors', help: 'building-a-custom-connector' } as const
const StepParams = Type.Object({
  id: IdParams.properties.id,
  step: Type.Union(BUILDER_STEPS.map((s) => Type.Literal(s))),
})
const SegmentParams = Type.Object({
  id: IdParams.properties.id,
  segment: Type.Union(Object.keys(ITEM_SEGMENTS).map((s) => Type.Literal(s))),
})
const ItemParams = Type.Object({ ...SegmentParams.properties, key: Type.String({ maxLength: 100 }) })
// Lengths are checked by the domain, beside each field (src/domain/limits.ts).
const FormText = Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 60 })])
/** Every form of a draft: the draft's version it was read at, its one-time key, and its fields. */
const FormBody = Type.Object({ ...EditFields }, { additionalProperties: FormText })
const StartBody = Type.Object({ submission: EditFields.submission })

/** The step page of an item's segment (the segments are named like their steps). */
const STEP_OF_SEGMENT = '/builder/drafts/:id/:segment'

/** The builder step that edits each kind of item. */
const STEP_OF: Record<ItemKind, BuilderStep> = {
  variable: 'variables',
  authMethod: 'auth-methods',
  endpoint: 'endpoints',
}
/** Sub-field rows in the builder's forms: one blank row, and an "add another" button for more. */
const BUILDER_ROWS: RowOptions = { blankRows: 1 }
const kindOf = (step: BuilderStep) => Object.entries(STEP_OF).find(([, s]) => s === step)?.[0] as ItemKind | undefined

/** `conflict`: the form was refused because the draft changed since it was shown (what is saved now is shown). */
interface Shown {
  step: BuilderStep
  form?: FormState
  errors?: Record<string, string>
  open?: boolean
  conflict?: boolean
  autofocus?: string
}

/** A form of a draft, as its domain function takes it. */
const formOf = (body: { lockVersion: number; submission?: string | undefined }) => ({
  version: body.lockVersion,
  submission: body.submission,
})

/** A form based on an older version of the draft comes back with 409 (nothing saved). */
const draftConflict = editConflict(
  'Your change was not saved.',
  'This page now shows the draft as it is saved now; what you entered is kept in this form, so check it and save again if it is still needed.',
)

export default async function builderRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  const stepView = async (actor: Actor, id: string, shown: Shown) => {
    const draft = await getDraft(app.db, actor, id)
    const kind = kindOf(shown.step)
    const d = draft.data.details
    const details: FormState =
      shown.step === 'basic-details' && shown.form
        ? shown.form
        : {
            values: {
              name: d.name,
              version: d.version,
              description: d.description,
              systemType: d.systemType,
              colour: d.colour,
              protocol: draft.data.definition.protocol,
              baseUrl: draft.data.definition.baseUrl,
              dateFormat: draft.data.definition.dateFormat,
              rateLimitAmount: String(draft.data.definition.rateLimit.amount),
              rateLimitUnit: draft.data.definition.rateLimit.unit,
            },
            rows: [],
            errors: {},
          }
    return {
      draft,
      step: shown.step,
      steps: BUILDER_STEPS,
      titles: STEP_TITLES,
      kind,
      choices: DEFINITION_CHOICES,
      systemTypes: SYSTEM_TYPES,
      details,
      addForm: kind ? (shown.form ?? itemForm(kind, undefined, BUILDER_ROWS)) : null,
      open: shown.open ?? false,
      autofocus: shown.autofocus,
      errors: shown.errors ?? {},
      problems: stepProblems(draft.data, shown.step),
      conflict: shown.conflict ?? false,
      segment: kind ? Object.entries(ITEM_SEGMENTS).find(([, k]) => k === kind)![0] : null,
    }
  }

  /** A step page, or with htmx just the step's body (after adding, removing or cloning an item). */
  const showStep = async (request: FastifyRequest, reply: FastifyReply, id: string, shown: Shown, status = 200) => {
    const data = await stepView(actorOf(request), id, shown)
    return reply.code(status).page('builder/step-page', data, 'builder/builder-step-body')
  }
  const afterChange = (request: FastifyRequest, reply: FastifyReply, id: string, step: BuilderStep) =>
    isPartialRequest(request.headers)
      ? showStep(request, reply, id, { step })
      : reply.seeOther(`/builder/drafts/${id}/${step}`)

  app.get('/builder', { config: manage }, async (request, reply) =>
    reply.page('builder/page', { drafts: await listDrafts(app.db, actorOf(request)) }),
  )

  app.post('/builder', { config: manage, schema: { body: StartBody } }, async (request, reply) => {
    const draft = await startDraft(app.db, actorOf(request), { submission: request.body.submission })
    return reply.seeOther(`/builder/drafts/${draft.id}/basic-details`)
  })

  app.get('/builder/drafts/:id/:step', { config: manage, schema: { params: StepParams } }, async (request, reply) =>
    showStep(request, reply, request.params.id, { step: request.params.step }),
  )

  app.post(
    '/builder/drafts/:id/basic-details',
    { config: { ...manage, back: '/builder/drafts/:id/basic-details' }, schema: { params: IdParams, body: FormBody } },
    async (request, reply) => {
      const input = formInput(request.body)
      const text = (name: string) => first(input, name)
      const details = {
        ...detailsInput(input),
        version: text('version'),
        description: text('description'),
        systemType: text('systemType'),
        colour: text('colour'),
      }
      return submitForm(
        reply,
        () =>
          saveBasicDetails(app.db, actorOf(request), { draftId: request.params.id, details, ...formOf(request.body) }),
        {
          done: () => reply.seeOther(`/builder/drafts/${request.params.id}/variables`),
          conflict: draftConflict,
          again: ({ status, errors, conflict }) => {
            const form: FormState = {
              values: Object.fromEntries(Object.entries(input).map(([k, v]) => [k, String([v].flat()[0] ?? '')])),
              rows: [],
              errors,
            }
            return showStep(request, reply, request.params.id, { step: 'basic-details', form, conflict }, status)
          },
        },
      )
    },
  )

  app.post(
    '/builder/drafts/:id/:segment',
    { config: { ...manage, back: STEP_OF_SEGMENT }, schema: { params: SegmentParams, body: FormBody } },
    async (request, reply) => {
      const kind = ITEM_SEGMENTS[request.params.segment]!
      const input = formInput(request.body)
      if (input.action === 'add-row') {
        // "add another field": the form as typed with one more row, its key focused. Nothing is saved.
        const form = formFromInput(kind, input, {}, { addRow: true })
        const prefix = ITEM_KINDS[kind].rows?.prefix ?? 'field'
        return showStep(request, reply, request.params.id, {
          step: STEP_OF[kind],
          form,
          open: true,
          autofocus: `${prefix}_key.${form.rows.length - 1}`,
        })
      }
      const item = itemInput(kind, input)
      return submitForm(
        reply,
        () =>
          editDraft(app.db, actorOf(request), {
            draftId: request.params.id,
            step: STEP_OF[kind],
            edit: { kind, action: 'add', input: item.input },
            ...formOf(request.body),
          }),
        {
          done: () => afterChange(request, reply, request.params.id, STEP_OF[kind]),
          conflict: draftConflict,
          fields: fieldNamesOf(kind, item.rowIndex),
          again: ({ status, errors, conflict }) =>
            showStep(
              request,
              reply,
              request.params.id,
              { step: STEP_OF[kind], form: formFromInput(kind, input, errors, BUILDER_ROWS), open: true, conflict },
              status,
            ),
        },
      )
    },
  )

  app.post(
    '/builder/drafts/:id/:segment/:key/delete',
    { config: { ...manage, back: STEP_OF_SEGMENT }, schema: { params: ItemParams, body: FormBody } },
    async (request, reply) => {
      const kind = ITEM_SEGMENTS[request.params.segment]!
      return submitForm(
        reply,
        () =>
          editDraft(app.db, actorOf(request), {
            draftId: request.params.id,
            step: STEP_OF[kind],
            edit: { kind, action: 'remove', key: request.params.key },
            ...formOf(request.body),
          }),
        {
          done: () => afterChange(request, reply, request.params.id, STEP_OF[kind]),
          conflict: draftConflict,
          again: ({ status, errors }) =>
            showStep(
              request,
              reply,
              request.params.id,
              { step: STEP_OF[kind], errors: { '': Object.values(errors).join(' ') } },
              status,
            ),
        },
      )
    },
  )

  app.post(
    '/builder/drafts/:id/endpoints/:key/clone',
    {
      config: { ...manage, back: '/builder/drafts/:id/endpoints' },
      schema: {
        params: Type.Object({ id: IdParams.properties.id, key: Type.String({ maxLength: 100 }) }),
        body: FormBody,
      },
    },
    async (request, reply) => {
      return submitForm(
        reply,
        () =>
          cloneEndpoint(app.db, actorOf(request), {
            draftId: request.params.id,
            key: request.params.key,
            ...formOf(request.body),
          }),
        {
          done: () => afterChange(request, reply, request.params.id, 'endpoints'),
          conflict: draftConflict,
          again: ({ status, errors }) =>
            showStep(request, reply, request.params.id, { step: 'endpoints', errors }, status),
        },
      )
    },
  )

  // "next step" posts the step's add form: an item typed there but not added is added on the way.
  app.post(
    '/builder/drafts/:id/:step/next',
    { config: { ...manage, back: '/builder/drafts/:id/:step' }, schema: { params: StepParams, body: FormBody } },
    async (request, reply) => {
      const { id, step } = request.params
      const kind = kindOf(step)
      const input = formInput(request.body)
      const pending = kind && isItemFilled(kind, input) ? { kind, ...itemInput(kind, input) } : undefined
      return submitForm(
        reply,
        () => markStepDone(app.db, actorOf(request), { draftId: id, step, pending, ...formOf(request.body) }),
        {
          fields: pending ? fieldNamesOf(pending.kind, pending.rowIndex) : undefined,
          done: (next) => {
            if (pending) {
              const typed = String([input.name ?? input.label ?? input.key].flat()[0] ?? '').trim()
              reply.flash(`The ${ITEM_KINDS[pending.kind].word} ${typed} you typed was added.`)
            }
            return reply.seeOther(`/builder/drafts/${id}/${next}`)
          },
          conflict: draftConflict,
          again: ({ status, errors, conflict }) => {
            if (!pending || conflict) return showStep(request, reply, id, { step, errors, conflict }, status)
            const word = ITEM_KINDS[pending.kind].word
            const notAdded = `The ${word} you typed is not added yet, so this step is not done: correct it below and click next step again, or clear it to go on without it.`
            const fields = { ...errors, '': [notAdded, errors['']].filter(Boolean).join(' ') }
            return showStep(
              request,
              reply,
              id,
              { step, form: formFromInput(pending.kind, input, fields, BUILDER_ROWS), open: true },
              status,
            )
          },
        },
      )
    },
  )

  app.post(
    '/builder/drafts/:id/complete',
    { config: { ...manage, back: '/builder/drafts/:id/complete' }, schema: { params: IdParams, body: FormBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      return submitForm(
        reply,
        () => completeDraft(app.db, actor, { draftId: request.params.id, ...formOf(request.body) }),
        {
          done: async (connector) => {
            if (!connector.repeated)
              reply.flash(
                `${connector.name} is built and installed. It is in your company's marketplace, and ready for instances.`,
              )
            const page = connector.name ? await pageOfConnector(app.db, actor, connector) : 1
            return reply.seeOther(`/connectors?page=${page}#connector-${connector.id}`)
          },
          conflict: draftConflict,
          again: ({ status, errors }) =>
            showStep(request, reply, request.params.id, { step: 'complete', errors }, status),
        },
      )
    },
  )

  registerRemoval(app, {
    path: '/builder/drafts/:id/delete',
    permission: 'manageConnectors',
    help: 'building-a-custom-connector',
    what: 'draft',
    describe: async (db, actor, id) => {
      const draft = await getDraft(db, actor, id)
      return {
        name: draft.data.details.name || 'untitled',
        backHref: `/builder/drafts/${id}/${draft.step}`,
        version: draft.version,
      }
    },
    remove: discardDraft,
    afterRemoval: '/builder',
  })
}
