// Process flows: list, create, rename, enable/disable, remove; connection shapes: add,
// reconfigure, reorder, remove.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import type { Actor } from '../domain/actor.js'
import type { Db } from '../db/client.js'
import {
  addShape, createFlow, getFlow, instanceChoices, instanceWithEndpoints, listFlows, moveShape, reconfigureShape,
  removeFlow, removeShape, renameFlow, restoreShape, setFlowEnabled,
} from '../domain/flows.js'
import { Conflict, Invalid, NotFound } from '../domain/errors.js'
import { IdParams, PageNumber, SubmissionBody } from './schemas.js'
import { registerRemoval } from './removal.js'

const UUID = IdParams.properties.id
const ShapeParams = Type.Object({ id: UUID, shapeId: UUID })
const NameBody = Type.Object({ name: Type.Optional(Type.String({ maxLength: 1000 })) })
const ShapeQuery = Type.Object({ instance: Type.Optional(Type.String({ maxLength: 100 })) })
const ShapeBody = Type.Object({ instance: Type.Optional(Type.String({ maxLength: 100 })), endpoint: Type.Optional(Type.String({ maxLength: 100 })) })

/** Rethrows anything but invalid input; for invalid input, renders the form again with 422. */
async function orInvalid<T>(work: Promise<T>, onInvalid: (fields: Record<string, string>) => Promise<FastifyReply>): Promise<T | FastifyReply> {
  try {
    return await work
  } catch (error) {
    if (error instanceof Invalid) return onInvalid(error.fields)
    throw error
  }
}

export default async function processFlowRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  const listPage = async (actor: Actor, page: number, extra: Record<string, unknown> = {}) =>
    ({ flows: await listFlows(app.db, actor, { page }), values: { name: '' }, errors: {}, ...extra })

  app.get('/process-flows', { schema: { querystring: Type.Object({ page: PageNumber }) } }, async (request, reply) =>
    reply.page('process-flows', await listPage(actorOf(request), request.query.page)))

  app.post('/process-flows', { config: { permission: 'manageInstances' }, schema: { body: NameBody } }, async (request, reply) => {
    const actor = actorOf(request)
    const name = request.body.name ?? ''
    return orInvalid(createFlow(app.db, actor, { name }).then((flow) => {
      reply.flash(`Process flow ${flow.name} was created. Add connection shapes to it below.`)
      return reply.seeOther(`/process-flows/${flow.id}`)
    }), async (errors) => reply.code(422).page('process-flows', await listPage(actor, 1, { values: { name }, errors })))
  })

  const flowPage = async (actor: Actor, id: string, extra: Record<string, unknown> = {}) =>
    ({ flow: await getFlow(app.db, actor, id), values: {}, errors: {}, ...extra })

  app.get('/process-flows/:id', { schema: { params: IdParams } }, async (request, reply) =>
    reply.page('process-flow', await flowPage(actorOf(request), request.params.id)))

  app.post('/process-flows/:id', { config: { permission: 'manageInstances' }, schema: { params: IdParams, body: NameBody } }, async (request, reply) => {
    const actor = actorOf(request)
    const name = request.body.name ?? ''
    return orInvalid(renameFlow(app.db, actor, request.params.id, { name }).then((flow) => {
      reply.flash(`The process flow is now called ${flow.name}.`)
      return reply.seeOther(`/process-flows/${flow.id}`)
    }), async (errors) => reply.code(422).page('process-flow', await flowPage(actor, request.params.id, { values: { name }, errors })))
  })

  app.post('/process-flows/:id/enabled', {
    config: { permission: 'manageInstances' },
    schema: { params: IdParams, body: Type.Object({ enabled: Type.Union([Type.Literal('true'), Type.Literal('false')]) }) },
  }, async (request, reply) => {
    const flow = await setFlowEnabled(app.db, actorOf(request), request.params.id, request.body.enabled === 'true')
    reply.flash(`Process flow ${flow.name} is ${flow.enabled ? 'enabled' : 'disabled'}.`)
    return reply.seeOther(`/process-flows/${flow.id}`)
  })

  registerRemoval(app, {
    path: '/process-flows/:id/delete',
    permission: 'manageInstances',
    what: 'process flow',
    describe: async (db: Db, actor: Actor, id: string) => ({ name: (await getFlow(db, actor, id)).name, backHref: `/process-flows/${id}` }),
    remove: removeFlow,
    afterRemoval: '/process-flows',
  })

  // Adding or reconfiguring a shape: pick an instance, then one of its connector's endpoints.
  const shapeForm = async (actor: Actor, flowId: string, shapeId: string | undefined, instanceId: string | undefined, endpointKey: string | undefined, errors: Record<string, string> = {}) => {
    const flow = await getFlow(app.db, actor, flowId)
    const shape = shapeId ? flow.shapes.find((s) => s.id === shapeId) : undefined
    if (shapeId && !shape) throw new NotFound('That connection shape')
    const chosenId = instanceId ?? shape?.instanceId
    const chosen = chosenId ? await instanceWithEndpoints(app.db, actor, chosenId) : null
    // Reconfiguring keeps the endpoint when the new connector has the same endpoint key.
    const endpoint = endpointKey ?? (chosen?.endpoints.some((e) => e.key === shape?.endpointKey) ? shape?.endpointKey : undefined)
    return {
      flow, shape, groups: await instanceChoices(app.db, actor), chosen, values: { instance: chosenId ?? '', endpoint: endpoint ?? '' },
      errors: chosenId && !chosen ? { instance: 'Choose one of your instances.', ...errors } : errors,
      action: shape ? `/process-flows/${flow.id}/shapes/${shape.id}` : `/process-flows/${flow.id}/shapes`,
    }
  }

  app.get('/process-flows/:id/shapes/new', { config: { permission: 'manageInstances' }, schema: { params: IdParams, querystring: ShapeQuery } }, async (request, reply) => {
    const data = await shapeForm(actorOf(request), request.params.id, undefined, request.query.instance || undefined, undefined)
    return reply.page('shape-form', data, 'shape-endpoints')
  })

  app.post('/process-flows/:id/shapes', { config: { permission: 'manageInstances' }, schema: { params: IdParams, body: ShapeBody } }, async (request, reply) => {
    const actor = actorOf(request)
    const input = { instanceId: request.body.instance ?? '', endpointKey: request.body.endpoint ?? '' }
    return orInvalid(addShape(app.db, actor, request.params.id, input).then((shape) => {
      reply.flash('The connection shape was added.')
      return reply.seeOther(`/process-flows/${request.params.id}#shape-${shape.id}`)
    }), async (errors) => reply.code(422).page('shape-form', await shapeForm(actor, request.params.id, undefined, input.instanceId || undefined, input.endpointKey, errors)))
  })

  app.get('/process-flows/:id/shapes/:shapeId', { config: { permission: 'manageInstances' }, schema: { params: ShapeParams, querystring: ShapeQuery } }, async (request, reply) => {
    const data = await shapeForm(actorOf(request), request.params.id, request.params.shapeId, request.query.instance || undefined, undefined)
    return reply.page('shape-form', data, 'shape-endpoints')
  })

  app.post('/process-flows/:id/shapes/:shapeId', { config: { permission: 'manageInstances' }, schema: { params: ShapeParams, body: ShapeBody } }, async (request, reply) => {
    const actor = actorOf(request)
    const { id, shapeId } = request.params
    const input = { instanceId: request.body.instance ?? '', endpointKey: request.body.endpoint ?? '' }
    return orInvalid(reconfigureShape(app.db, actor, id, shapeId, input).then(() => {
      reply.flash('The connection shape was reconfigured.')
      return reply.seeOther(`/process-flows/${id}#shape-${shapeId}`)
    }), async (errors) => reply.code(422).page('shape-form', await shapeForm(actor, id, shapeId, input.instanceId || undefined, input.endpointKey, errors)))
  })

  app.post('/process-flows/:id/shapes/:shapeId/delete', { config: { permission: 'manageInstances' }, schema: { params: ShapeParams } }, async (request, reply) => {
    const { id, shapeId } = request.params
    const removed = await removeShape(app.db, actorOf(request), id, shapeId)
    const what = `removed connection shape ${removed.position + 1} (${removed.instanceName})`
    reply.flash(`Connection shape ${removed.position + 1} (${removed.instanceName}) was removed from ${removed.flowName}.`, { undo: { action: `/process-flows/${id}/shapes/${shapeId}/restore`, what } })
    return reply.seeOther(`/process-flows/${id}`)
  })

  // The undo after removing a shape: the same shape back in its place, unless its instance or endpoint is gone.
  app.post('/process-flows/:id/shapes/:shapeId/restore', {
    config: { permission: 'manageInstances' },
    schema: { params: ShapeParams, body: SubmissionBody },
  }, async (request, reply) => {
    const { id, shapeId } = request.params
    try {
      const result = await restoreShape(app.db, actorOf(request), id, shapeId)
      reply.flash(result.restored
        ? `Connection shape ${result.position + 1} is back in its place.`
        : `Connection shape ${result.position + 1} is already in its place, so nothing changed.`)
      return reply.seeOther(`/process-flows/${id}#shape-${shapeId}`)
    } catch (error) {
      if (!(error instanceof Conflict)) throw error
      reply.flash(`${error.message} Nothing was undone.`, { warning: true })
      return reply.seeOther(`/process-flows/${id}`)
    }
  })

  app.post('/process-flows/:id/shapes/:shapeId/move', {
    config: { permission: 'manageInstances' },
    schema: { params: ShapeParams, body: Type.Object({ direction: Type.Union([Type.Literal('up'), Type.Literal('down')]) }) },
  }, async (request, reply) => {
    await moveShape(app.db, actorOf(request), request.params.id, request.params.shapeId, request.body.direction)
    return reply.seeOther(`/process-flows/${request.params.id}#shape-${request.params.shapeId}`)
  })
}
