// The manage connectors page.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../plugins/auth.js'
import { getConnector, listConnectors, removeConnector } from '../domain/connectors.js'
import { registerRemoval } from './removal.js'
import { impactOf } from '../domain/impact.js'
import { Type } from 'typebox'
import { ListQuery, UUID } from './schemas.js'

/** `?marketplace=<id>`: the copies installed from one marketplace connector (linked from the marketplace). */
const ConnectorListQuery = Type.Object({ ...ListQuery.properties, marketplace: Type.Optional(Type.String({ pattern: UUID })) })

export default async function connectors(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/connectors', { schema: { querystring: ConnectorListQuery } }, async (request, reply) => {
    const q = request.query.q?.trim() ?? ''
    const marketplace = request.query.marketplace ?? ''
    const list = await listConnectors(app.db, actorOf(request), { q, installedFrom: marketplace || undefined, page: request.query.page })
    return reply.page('connectors', { list, q, marketplace }, 'connector-list')
  })

  registerRemoval(app, {
    path: '/connectors/:id/delete',
    permission: 'manageConnectors',
    what: 'connector',
    describe: async (db, actor, id) => {
      const connector = await getConnector(db, actor, id)
      return { name: connector.name, backHref: `/connectors/${id}/settings`, impact: await impactOf(db, actor, id, connector.definition) }
    },
    remove: removeConnector,
    afterRemoval: '/connectors',
    blockersPartial: 'instance-uses',
  })
}
