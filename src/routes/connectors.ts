// The manage connectors page.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../plugins/auth.js'
import {
  getConnector,
  INSTANCES_SHOWN,
  listConnectors,
  listInstancesOfConnector,
  removeConnector,
} from '../domain/connectors.js'
import { registerRemoval } from './removal.js'
import { impactOf } from '../domain/impact.js'
import { movedTo, nearestPage, pageParam, searchOf } from './lists.js'
import { withQuery } from '../views/format.js'
import { Type } from 'typebox'
import { IdParams, ListQuery, QueryText } from './schemas.js'
import { isId } from '../domain/ids.js'

/** `?marketplace=<id>`: the copies installed from one marketplace connector (linked from the marketplace). */
const ConnectorListQuery = Type.Object({ ...ListQuery.properties, marketplace: QueryText })

export default async function connectors(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get(
    '/connectors',
    { config: { help: 'manage-connectors' }, schema: { querystring: ConnectorListQuery } },
    async (request, reply) => {
      const actor = actorOf(request)
      const search = searchOf(request.query.q)
      // Anything but one id (an address typed by hand) shows every connector, as no filter does.
      const asked = [request.query.marketplace].flat()[0]
      const marketplace = asked && isId(asked) ? asked : ''
      // Made once per version of the company's data (and address and role): see plugins/page-cache.ts.
      const cached = await reply.cached(async () => {
        const { list, moved } = await nearestPage(request.query.page, (page) =>
          listConnectors(app.db, actor, { q: search.q, installedFrom: marketplace || undefined, page }),
        )
        return { list, moved, q: search.q, searchCut: search.cut, marketplace }
      })
      const { list, moved } = cached.value
      if (
        moved &&
        movedTo(request, reply, withQuery('/connectors', { q: search.q, marketplace, page: pageParam(list.page) }))
      )
        return reply
      return reply.page('connectors/page', cached.value, 'connectors/connector-list', cached)
    },
  )

  // Every instance of a connector: the manage connectors page shows the first few and links here; htmx
  // swaps the whole list in their place, focus on the first one it adds.
  app.get(
    '/connectors/:id/instances',
    { config: { help: 'manage-connectors' }, schema: { params: IdParams } },
    async (request, reply) => {
      const { connector, instances } = await listInstancesOfConnector(app.db, actorOf(request), request.params.id)
      return reply.page(
        'connectors/instances-page',
        { connector, instances, focusFrom: INSTANCES_SHOWN },
        'connectors/instances',
      )
    },
  )

  registerRemoval(app, {
    path: '/connectors/:id/delete',
    permission: 'manageConnectors',
    help: 'removing-a-connector',
    what: 'connector',
    describe: async (db, actor, id) => {
      const connector = await getConnector(db, actor, id)
      return {
        name: connector.name,
        backHref: `/connectors/${id}/settings`,
        version: connector.revision,
        impact: await impactOf(db, actor, id, connector.definition),
      }
    },
    remove: removeConnector,
    afterRemoval: '/connectors',
    blockersPartial: 'connectors/instance-uses',
  })
}
