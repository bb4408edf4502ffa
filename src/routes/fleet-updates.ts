// Updates at fleet scale: every pending update on one screen (/connectors/updates), a preview of a
// bulk update of those chosen (or of all matching the filter), then the batch's page. The batch runs
// in the background, a chunk at a time (plugins/batch-runner.ts); its page (GET) only shows where it
// stands, asked for again every second by htmx, or by its refresh link without JavaScript. A batch
// whose starter may no longer update connectors waits: POST .../continue runs its next chunk as the
// person who presses it.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import type { Actor } from '../domain/actor.js'
import {
  getUpdateBatch,
  listPendingUpdates,
  MAX_BATCH,
  previewBulkUpdate,
  runNextChunk,
  startBulkUpdate,
  undoBulkUpdate,
  type BatchItemInput,
  type UpdatesFilter,
  type UpdatesScreen,
} from '../domain/update-batches.js'
import { SYSTEM_TYPES, UPDATE_BATCH_KINDS, type SystemType, type UpdateBatchKind } from '../domain/enums.js'
import { isPartialRequest } from '../plugins/views.js'
import { submitForm, type FieldMessages } from '../forms/submit.js'
import { withQuery } from '../views/format.js'
import { nearestPage, pageParam, searchOf, movedTo } from './lists.js'
import { QueryText, UUID } from './schemas.js'
import { plural } from '../domain/words.js'

const FilterQuery = Type.Object({
  q: QueryText,
  type: QueryText,
  modified: QueryText,
  breaking: QueryText,
  page: QueryText,
})
const FormText = Type.Optional(Type.String({ maxLength: 200 }))
const Kind = Type.Union(UPDATE_BATCH_KINDS.map((k) => Type.Literal(k)))

const PreviewBody = Type.Object({
  kind: Kind,
  // A single checked box arrives as a string; Fastify's validator makes it a list.
  connector: Type.Optional(Type.Array(Type.String({ pattern: UUID }), { maxItems: MAX_BATCH })),
  all: Type.Optional(Type.Literal('yes')),
  q: FormText,
  type: FormText,
  modified: FormText,
  breaking: FormText,
})

/** `connector id:revision:marketplace version id`, one per connector the preview showed. */
const ITEM = `^${UUID.slice(1, -1)}:[0-9]{1,9}:${UUID.slice(1, -1)}$`
const StartBody = Type.Object({
  kind: Kind,
  item: Type.Array(Type.String({ pattern: ITEM }), { minItems: 1, maxItems: MAX_BATCH }),
  submission: Type.Optional(Type.String({ pattern: UUID })),
})

const BatchParams = Type.Object({ updateBatchId: Type.String({ pattern: UUID }) })

const first = (raw: string | string[] | undefined) => (Array.isArray(raw) ? raw[0] : raw) ?? ''
const yesNo = (raw: string | string[] | undefined) => {
  const value = first(raw)
  return value === 'yes' || value === 'no' ? value : ''
}

/** The filter as asked for: anything unknown shows everything, as no filter does (never refused). */
function filterOf(query: {
  q?: string | string[] | undefined
  type?: string | string[] | undefined
  modified?: string | string[] | undefined
  breaking?: string | string[] | undefined
}): UpdatesFilter & { cut: boolean } {
  const search = searchOf(query.q)
  const type = first(query.type)
  return {
    q: search.q,
    cut: search.cut,
    systemType: (SYSTEM_TYPES as readonly string[]).includes(type) ? (type as SystemType) : '',
    modified: yesNo(query.modified),
    breaking: yesNo(query.breaking),
  }
}

const filterParams = (f: UpdatesFilter) => ({
  q: f.q || undefined,
  type: f.systemType || undefined,
  modified: f.modified || undefined,
  breaking: f.breaking || undefined,
})

const batchPath = (id: string) => `/connectors/updates/batches/${id}`

export default async function fleetUpdates(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const manage = { permission: 'manageConnectors', help: 'updating-many-connectors' } as const

  /** The screen's data for a page of the filter (or the nearest real page), and whether the address should change. */
  const screen = async (
    actor: Actor,
    filter: UpdatesFilter & { cut: boolean },
    page: string | string[] | undefined,
    form: { errors: FieldMessages; chosen: string[]; all: boolean } = { errors: {}, chosen: [], all: false },
  ) => {
    let data: UpdatesScreen | undefined
    const { list, moved } = await nearestPage(page, async (p) => {
      data = await listPendingUpdates(app.db, actor, filter, p)
      return data.list
    })
    return {
      list,
      moved,
      view: { ...data!, list, filter, params: filterParams(filter), form, systemTypes: SYSTEM_TYPES },
    }
  }

  app.get('/connectors/updates', { config: manage, schema: { querystring: FilterQuery } }, async (request, reply) => {
    const filter = filterOf(request.query)
    // Made once per version of the company's data and the marketplace's (see plugins/page-cache.ts);
    // the list is kept with a hole for its form's CSRF token.
    const cached = await reply.cached(() => screen(actorOf(request), filter, request.query.page))
    const { list, moved, view } = cached.value
    const url = withQuery('/connectors/updates', { ...filterParams(filter), page: pageParam(list.page) })
    if (moved && movedTo(request, reply, url)) return reply
    return reply.page('fleet-updates/page', view, 'fleet-updates/update-list', cached)
  })

  app.post(
    '/connectors/updates/preview',
    { config: { ...manage, back: '/connectors/updates' }, schema: { body: PreviewBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const filter = filterOf(request.body)
      const all = request.body.all === 'yes'
      const chosen = request.body.connector ?? []
      return submitForm(
        reply,
        () => previewBulkUpdate(app.db, actor, { kind: request.body.kind, filter, ids: all ? null : chosen }),
        {
          done: (preview) =>
            reply.page('fleet-updates/preview-page', { preview, params: filterParams(filter), kind: preview.kind }),
          again: async ({ errors }) => {
            const { view } = await screen(actor, filter, undefined, { errors, chosen, all })
            return reply.page('fleet-updates/page', view)
          },
        },
      )
    },
  )

  app.post(
    '/connectors/updates/batches',
    { config: { ...manage, back: '/connectors/updates' }, schema: { body: StartBody } },
    async (request, reply) => {
      const items = request.body.item.map((raw): BatchItemInput => {
        const [connectorId, revision, toVersionId] = raw.split(':') as [string, string, string]
        return { connectorId, revision: Number(revision), toVersionId }
      })
      const kind: UpdateBatchKind = request.body.kind
      const started = await startBulkUpdate(app.db, actorOf(request), {
        kind,
        items,
        submission: request.body.submission,
      })
      app.batchRunner.wake()
      if (started.count)
        reply.flash(
          `The bulk update of ${plural(started.count, 'connector')} has started. Below is how far it has got; a connector changed since the preview is skipped and listed.`,
        )
      return reply.seeOther(batchPath(started.batchId))
    },
  )

  app.get(
    '/connectors/updates/batches/:updateBatchId',
    { config: manage, schema: { params: BatchParams } },
    async (request, reply) => {
      const batch = await getUpdateBatch(app.db, actorOf(request), request.params.updateBatchId)
      return reply.page('fleet-updates/batch-page', { batch }, 'fleet-updates/batch-progress')
    },
  )

  // The next chunk of a batch that waits (its starter may no longer update connectors), as whoever continues it.
  app.post(
    '/connectors/updates/batches/:updateBatchId/continue',
    {
      config: { ...manage, back: '/connectors/updates/batches/:updateBatchId' },
      schema: { params: BatchParams, body: Type.Object({}) },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const id = request.params.updateBatchId
      await runNextChunk(app.db, actor, id)
      if (!isPartialRequest(request.headers)) return reply.seeOther(batchPath(id))
      const batch = await getUpdateBatch(app.db, actor, id)
      return reply.page('fleet-updates/batch-page', { batch }, 'fleet-updates/batch-progress')
    },
  )

  app.post(
    '/connectors/updates/batches/:updateBatchId/undo',
    {
      config: { ...manage, back: '/connectors/updates/batches/:updateBatchId' },
      schema: { params: BatchParams, body: Type.Object({ submission: Type.Optional(Type.String({ pattern: UUID })) }) },
    },
    async (request, reply) => {
      const id = request.params.updateBatchId
      const result = await undoBulkUpdate(app.db, actorOf(request), {
        batchId: id,
        submission: request.body.submission,
      })
      const refused = result.refused.length
        ? ` ${plural(result.refused.length, 'connector was', 'connectors were')} changed since and ${result.refused.length === 1 ? 'is' : 'are'} left as ${result.refused.length === 1 ? 'it is' : 'they are'}: the reasons are listed below.`
        : ''
      reply.flash(
        `Undone: ${plural(result.undone, 'connector')} back to the revision before the bulk update.${refused}`,
      )
      return reply.seeOther(batchPath(id))
    },
  )
}
