// Process flows: list, create, rename, enable/disable, remove; connection shapes: add,
// reconfigure, reorder, remove.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import type { Actor } from '../domain/actor.js'
import type { Db } from '../db/client.js'
import {
  createFlow,
  getFlow,
  instanceWithEndpoints,
  listFlows,
  removeFlow,
  renameFlow,
  setFlowEnabled,
} from '../domain/flows.js'
import { addShape, moveShape, reconfigureShape, removeShape, restoreShape } from '../domain/connection-shapes.js'
import { Conflict, NotFound } from '../domain/errors.js'
import { EditFields, IdParams, QueryText, SubmissionBody } from './schemas.js'
import { editConflict, submitForm } from '../forms/submit.js'
import { movedTo, nearestPage, pageParam, searchOf, type Search } from './lists.js'
import { findInstances } from '../domain/instance-picker.js'
import { withQuery } from '../views/format.js'
import { registerRemoval } from './removal.js'

const UUID = IdParams.properties.id
/** The page of a flow, where its buttons are. */
const FLOW = '/process-flows/:id'
/** Every screen of process flows has one help page. */
const FLOWS_HELP = 'process-flows-and-connection-shapes'
const ShapeParams = Type.Object({ id: UUID, shapeId: UUID })
// Lengths are checked by the domain, beside each field (src/domain/limits.ts).
const Name = Type.Optional(Type.String())
const NewFlowBody = Type.Object({ name: Name, submission: EditFields.submission })
const NameBody = Type.Object({ name: Name, ...EditFields })
const ShapeQuery = Type.Object({ instance: Type.Optional(Type.String()), q: QueryText, page: QueryText })
const ShapeBody = Type.Object({
  instance: Type.Optional(Type.String()),
  endpoint: Type.Optional(Type.String()),
  ...EditFields,
})

const CONFLICT_KEPT =
  'This page now shows the process flow as it is saved now; what you entered is kept in this form, so check it and do it again if it is still needed.'
/** A form based on an older version of the flow comes back with 409, what was entered kept, nothing saved. */
const flowConflict = (notDone: string) => editConflict(notDone, CONFLICT_KEPT)

export default async function processFlowRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  const listPage = async (actor: Actor, page: number, extra: Record<string, unknown> = {}) => ({
    flows: await listFlows(app.db, actor, { page }),
    values: { name: '' },
    errors: {},
    ...extra,
  })

  app.get(
    '/process-flows',
    { config: { help: FLOWS_HELP }, schema: { querystring: Type.Object({ page: QueryText }) } },
    async (request, reply) => {
      const actor = actorOf(request)
      const { list: flows, moved } = await nearestPage(request.query.page, (page) => listFlows(app.db, actor, { page }))
      if (moved && movedTo(request, reply, withQuery('/process-flows', { page: pageParam(flows.page) }))) return reply
      return reply.page('process-flows/page', { flows, values: { name: '' }, errors: {} })
    },
  )

  app.post(
    '/process-flows',
    { config: { permission: 'manageInstances', help: FLOWS_HELP }, schema: { body: NewFlowBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const name = request.body.name ?? ''
      return submitForm(reply, () => createFlow(app.db, actor, { name, submission: request.body.submission }), {
        done: (flow) => {
          reply.flash(`Process flow ${flow.name} was created. Add connection shapes to it below.`)
          return reply.seeOther(`/process-flows/${flow.id}`)
        },
        conflict: flowConflict(''),
        again: async ({ errors }) =>
          reply.page('process-flows/page', await listPage(actor, 1, { values: { name }, errors })),
      })
    },
  )

  const flowPage = async (actor: Actor, id: string, extra: Record<string, unknown> = {}) => ({
    flow: await getFlow(app.db, actor, id),
    values: {},
    errors: {},
    ...extra,
  })

  app.get(
    '/process-flows/:id',
    { config: { help: FLOWS_HELP }, schema: { params: IdParams } },
    async (request, reply) =>
      reply.page('process-flows/flow-page', await flowPage(actorOf(request), request.params.id)),
  )

  app.post(
    '/process-flows/:id',
    { config: { permission: 'manageInstances', help: FLOWS_HELP }, schema: { params: IdParams, body: NameBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const { name = '', lockVersion: version, submission } = request.body
      return submitForm(reply, () => renameFlow(app.db, actor, request.params.id, { name, version, submission }), {
        done: (flow) => {
          reply.flash(`The process flow is now called ${flow.name}.`)
          return reply.seeOther(`/process-flows/${flow.id}`)
        },
        conflict: flowConflict('It was not renamed.'),
        again: async ({ errors, conflict }) =>
          reply.page(
            'process-flows/flow-page',
            await flowPage(actor, request.params.id, { values: { name }, errors, conflict }),
          ),
      })
    },
  )

  /** The flow page after a button of it (enable, move, remove a shape) was refused: why, nothing done. */
  const onFlowPage = <T>(
    reply: FastifyReply,
    actor: Actor,
    id: string,
    command: () => Promise<T>,
    notDone: string,
    done: (result: T) => FastifyReply,
  ) =>
    submitForm(reply, command, {
      done,
      conflict: flowConflict(notDone),
      again: async ({ errors }) =>
        reply.page(
          'process-flows/flow-page',
          await flowPage(actor, id, { errors: { action: errors[''] ?? Object.values(errors).join(' ') } }),
        ),
    })

  app.post(
    '/process-flows/:id/enabled',
    {
      config: { permission: 'manageInstances', help: FLOWS_HELP, back: FLOW },
      schema: {
        params: IdParams,
        body: Type.Object({ enabled: Type.Union([Type.Literal('true'), Type.Literal('false')]), ...EditFields }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { enabled, lockVersion: version, submission } = request.body
      const on = enabled === 'true'
      return onFlowPage(
        reply,
        actor,
        request.params.id,
        () => setFlowEnabled(app.db, actor, request.params.id, { enabled: on, version, submission }),
        `It was not ${on ? 'enabled' : 'disabled'}.`,
        (flow) => {
          reply.flash(`Process flow ${flow.name} is ${flow.enabled ? 'enabled' : 'disabled'}.`)
          return reply.seeOther(`/process-flows/${flow.id}`)
        },
      )
    },
  )

  registerRemoval(app, {
    path: '/process-flows/:id/delete',
    permission: 'manageInstances',
    help: FLOWS_HELP,
    what: 'process flow',
    describe: async (db: Db, actor: Actor, id: string) => {
      const flow = await getFlow(db, actor, id)
      return { name: flow.name, backHref: `/process-flows/${id}`, version: flow.version }
    },
    remove: removeFlow,
    afterRemoval: '/process-flows',
  })

  // Adding or reconfiguring a shape: find and pick an instance, then one of its connector's endpoints.
  const shapeForm = async (
    actor: Actor,
    flowId: string,
    shapeId: string | undefined,
    picked: { instanceId?: string | undefined; endpointKey?: string | undefined; search?: Search; page?: number },
    errors: Record<string, string> = {},
    conflict = false,
  ) => {
    const flow = await getFlow(app.db, actor, flowId)
    const shape = shapeId ? flow.shapes.find((s) => s.id === shapeId) : undefined
    if (shapeId && !shape) throw new NotFound('That connection shape')
    const chosenId = picked.instanceId ?? shape?.instanceId
    const chosen = chosenId ? await instanceWithEndpoints(app.db, actor, chosenId) : null
    // Reconfiguring keeps the endpoint when the new connector has the same endpoint key.
    const endpoint =
      picked.endpointKey ??
      (chosen?.endpoints.some((e) => e.key === shape?.endpointKey) ? shape?.endpointKey : undefined)
    const search = picked.search ?? { q: '', cut: false }
    return {
      flow,
      shape,
      results: await findInstances(app.db, actor, { q: search.q, page: picked.page ?? 1 }),
      q: search.q,
      searchCut: search.cut,
      chosen,
      values: { instance: chosenId ?? '', endpoint: endpoint ?? '' },
      conflict,
      errors: chosenId && !chosen ? { instance: 'Choose one of your instances.', ...errors } : errors,
      pickerUrl: shape ? `/process-flows/${flow.id}/shapes/${shape.id}` : `/process-flows/${flow.id}/shapes/new`,
      action: shape ? `/process-flows/${flow.id}/shapes/${shape.id}` : `/process-flows/${flow.id}/shapes`,
    }
  }

  /**
   * The shape form at its address: `?q=` searches the instances, `?page=` pages them, `?instance=` is the
   * one chosen. htmx asks for the results alone (as you type or page) or the endpoints alone (on choosing).
   */
  const shapeFormPage = async (
    request: FastifyRequest<{ Querystring: Static<typeof ShapeQuery> }>,
    reply: FastifyReply,
    flowId: string,
    shapeId: string | undefined,
  ) => {
    const actor = actorOf(request)
    const search = searchOf(request.query.q)
    const instanceId = request.query.instance || undefined
    let data: Awaited<ReturnType<typeof shapeForm>> | undefined
    const { list, moved } = await nearestPage(request.query.page, async (page) => {
      data = await shapeForm(actor, flowId, shapeId, { instanceId, search, page })
      return data.results
    })
    if (moved) {
      const url = withQuery(data!.pickerUrl, { q: search.q, instance: instanceId, page: pageParam(list.page) })
      if (movedTo(request, reply, url)) return reply
    }
    const status = data!.errors.instance ? 422 : 200
    const fragment =
      request.headers['hx-target'] === 'div#instance-results'
        ? 'process-flows/instance-search'
        : 'process-flows/shape-endpoints'
    return reply.code(status).page('process-flows/shape-page', data, fragment)
  }

  app.get(
    '/process-flows/:id/shapes/new',
    {
      config: { permission: 'manageInstances', help: FLOWS_HELP },
      schema: { params: IdParams, querystring: ShapeQuery },
    },
    async (request, reply) => shapeFormPage(request, reply, request.params.id, undefined),
  )

  app.post(
    '/process-flows/:id/shapes',
    {
      config: { permission: 'manageInstances', help: FLOWS_HELP, back: '/process-flows/:id/shapes/new' },
      schema: { params: IdParams, body: ShapeBody },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { lockVersion: version, submission } = request.body
      const input = { instanceId: request.body.instance ?? '', endpointKey: request.body.endpoint ?? '' }
      return submitForm(
        reply,
        () => addShape(app.db, actor, { flowId: request.params.id, ...input, version, submission }),
        {
          done: (shape) => {
            reply.flash('The connection shape was added.')
            return reply.seeOther(`/process-flows/${request.params.id}${shape.id ? `#shape-${shape.id}` : ''}`)
          },
          conflict: flowConflict('The connection shape was not added.'),
          again: async ({ errors, conflict }) =>
            reply.page(
              'process-flows/shape-page',
              await shapeForm(
                actor,
                request.params.id,
                undefined,
                { instanceId: input.instanceId || undefined, endpointKey: input.endpointKey },
                errors,
                conflict,
              ),
            ),
        },
      )
    },
  )

  app.get(
    '/process-flows/:id/shapes/:shapeId',
    {
      config: { permission: 'manageInstances', help: FLOWS_HELP },
      schema: { params: ShapeParams, querystring: ShapeQuery },
    },
    async (request, reply) => shapeFormPage(request, reply, request.params.id, request.params.shapeId),
  )

  app.post(
    '/process-flows/:id/shapes/:shapeId',
    { config: { permission: 'manageInstances', help: FLOWS_HELP }, schema: { params: ShapeParams, body: ShapeBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const { id, shapeId } = request.params
      const { lockVersion: version, submission } = request.body
      const input = { instanceId: request.body.instance ?? '', endpointKey: request.body.endpoint ?? '' }
      return submitForm(
        reply,
        () => reconfigureShape(app.db, actor, { flowId: id, shapeId, ...input, version, submission }),
        {
          done: () => {
            reply.flash('The connection shape was reconfigured.')
            return reply.seeOther(`/process-flows/${id}#shape-${shapeId}`)
          },
          conflict: flowConflict('The connection shape was not reconfigured.'),
          again: async ({ errors, conflict }) =>
            reply.page(
              'process-flows/shape-page',
              await shapeForm(
                actor,
                id,
                shapeId,
                { instanceId: input.instanceId || undefined, endpointKey: input.endpointKey },
                errors,
                conflict,
              ),
            ),
        },
      )
    },
  )

  app.post(
    '/process-flows/:id/shapes/:shapeId/delete',
    {
      config: { permission: 'manageInstances', help: FLOWS_HELP, back: FLOW },
      schema: { params: ShapeParams, body: Type.Object(EditFields) },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { id, shapeId } = request.params
      const form = { version: request.body.lockVersion, submission: request.body.submission }
      return onFlowPage(
        reply,
        actor,
        id,
        () => removeShape(app.db, actor, { flowId: id, shapeId, ...form }),
        'No connection shape was removed.',
        (removed) => {
          // A double submit answers without an undo: the first answer offered it.
          if (!removed) reply.flash('The connection shape was removed.')
          else {
            const what = `removed connection shape ${removed.position + 1} (${removed.instanceName})`
            reply.flash(
              `Connection shape ${removed.position + 1} (${removed.instanceName}) was removed from ${removed.flowName}.`,
              { undo: { action: `/process-flows/${id}/shapes/${shapeId}/restore`, what } },
            )
          }
          return reply.seeOther(`/process-flows/${id}`)
        },
      )
    },
  )

  // The undo after removing a shape: the same shape back in its place, unless its instance or endpoint is gone.
  app.post(
    '/process-flows/:id/shapes/:shapeId/restore',
    {
      config: { permission: 'manageInstances', help: FLOWS_HELP, back: FLOW },
      schema: { params: ShapeParams, body: SubmissionBody },
    },
    async (request, reply) => {
      const { id, shapeId } = request.params
      try {
        const result = await restoreShape(app.db, actorOf(request), { flowId: id, shapeId })
        reply.flash(
          result.restored
            ? `Connection shape ${result.position + 1} is back in its place.`
            : `Connection shape ${result.position + 1} is already in its place, so nothing changed.`,
        )
        return reply.seeOther(`/process-flows/${id}#shape-${shapeId}`)
      } catch (error) {
        if (!(error instanceof Conflict)) throw error
        reply.flash(`${error.message} Nothing was undone.`, { warning: true })
        return reply.seeOther(`/process-flows/${id}`)
      }
    },
  )

  app.post(
    '/process-flows/:id/shapes/:shapeId/move',
    {
      config: { permission: 'manageInstances', help: FLOWS_HELP, back: FLOW },
      schema: {
        params: ShapeParams,
        body: Type.Object({ direction: Type.Union([Type.Literal('up'), Type.Literal('down')]), ...EditFields }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { id, shapeId } = request.params
      const move = {
        direction: request.body.direction,
        version: request.body.lockVersion,
        submission: request.body.submission,
      }
      return onFlowPage(
        reply,
        actor,
        id,
        () => moveShape(app.db, actor, { flowId: id, shapeId, ...move }),
        'No connection shape was moved.',
        () => reply.seeOther(`/process-flows/${id}#shape-${shapeId}`),
      )
    },
  )
}
