// The marketplace: browse by system type, search, install.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../plugins/auth.js'
import { SYSTEM_TYPES } from '../domain/enums.js'
import { browseMarketplace } from '../domain/marketplace.js'
import { installConnector } from '../domain/connector-install.js'
import { pageOfConnector } from '../domain/connectors.js'
import { nameWithVersion } from '../domain/versions.js'
import { IdParams, MarketplaceQuery, SubmissionBody } from './schemas.js'
import { movedTo, nearestPage, pageParam, searchOf } from './lists.js'
import { withQuery } from '../views/format.js'

export default async function marketplace(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get(
    '/marketplace',
    { config: { help: 'installing-a-prebuilt-connector' }, schema: { querystring: MarketplaceQuery } },
    async (request, reply) => {
      const actor = actorOf(request)
      const search = searchOf(request.query.q)
      const asked = [request.query.type].flat()[0] || undefined
      const type = SYSTEM_TYPES.find((t) => t === asked)
      // Made once per version of the company's data and the marketplace's (see plugins/page-cache.ts); the
      // results are kept with holes for their install forms' CSRF token and one-time submission keys.
      const cached = await reply.cached(() =>
        nearestPage(request.query.page, (page) => browseMarketplace(app.db, actor, { q: search.q, type, page })),
      )
      const { list: results, moved } = cached.value
      const url = withQuery('/marketplace', { q: search.q, type, page: pageParam(results.page) })
      if ((moved || type !== asked) && movedTo(request, reply, url)) return reply
      return reply.page(
        'marketplace/page',
        { results, q: search.q, searchCut: search.cut, type: type ?? '', systemTypes: SYSTEM_TYPES },
        'marketplace/marketplace-results',
        cached,
      )
    },
  )

  app.post(
    '/marketplace/:id/install',
    {
      config: { permission: 'manageConnectors', help: 'installing-a-prebuilt-connector', back: '/marketplace' },
      schema: { params: IdParams, body: SubmissionBody },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const connector = await installConnector(app.db, actor, {
        marketplaceConnectorId: request.params.id,
        submission: request.body.submission,
      })
      const page = await pageOfConnector(app.db, actor, connector)
      const copy =
        connector.copies > 1 ? ` as another copy of ${connector.marketplaceName}: you now have ${connector.copies}` : ''
      reply.flash(
        `${nameWithVersion(connector.name, connector.version)} is installed${copy}. Now you can add instances for use in process flows.`,
      )
      return reply.redirect(`/connectors?page=${page}#connector-${connector.id}`, 303)
    },
  )
}
