// The manage connectors page.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../plugins/auth.js'
import { listConnectors } from '../domain/connectors.js'
import { ListQuery } from './schemas.js'

export default async function connectors(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/connectors', { schema: { querystring: ListQuery } }, async (request, reply) => {
    const q = request.query.q?.trim() ?? ''
    const list = await listConnectors(app.db, actorOf(request), { q, page: request.query.page })
    return reply.page('connectors', { list, q }, 'connector-list')
  })
}
