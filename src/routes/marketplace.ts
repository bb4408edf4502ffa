// The marketplace: browse by system type, search, install.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../plugins/auth.js'
import { SYSTEM_TYPES } from '../domain/definition.js'
import { browseMarketplace } from '../domain/marketplace.js'
import { installConnector, pageOfConnector } from '../domain/connectors.js'
import { nameWithVersion } from '../domain/versions.js'
import { IdParams, MarketplaceQuery, SubmissionBody } from './schemas.js'

export default async function marketplace(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/marketplace', { schema: { querystring: MarketplaceQuery } }, async (request, reply) => {
    const q = request.query.q?.trim() ?? ''
    const type = request.query.type || undefined
    const results = await browseMarketplace(app.db, actorOf(request), { q, type, page: request.query.page })
    return reply.page('marketplace', { results, q, type: type ?? '', systemTypes: SYSTEM_TYPES }, 'marketplace-results')
  })

  app.post('/marketplace/:id/install', {
    config: { permission: 'manageConnectors' },
    schema: { params: IdParams, body: SubmissionBody },
  }, async (request, reply) => {
    const actor = actorOf(request)
    const connector = await installConnector(app.db, actor, request.params.id, request.body.submission)
    const page = await pageOfConnector(app.db, actor, connector)
    const copy = connector.copies > 1 ? ` as another copy of ${connector.marketplaceName}: you now have ${connector.copies}` : ''
    reply.flash(`${nameWithVersion(connector.name, connector.version)} is installed${copy}. Now you can add instances for use in process flows.`)
    return reply.redirect(`/connectors?page=${page}#connector-${connector.id}`, 303)
  })
}
