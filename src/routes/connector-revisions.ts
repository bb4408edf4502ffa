// The revision history's own pages, reached from the connector wizard's last step (connector-settings.ts):
// one revision, rolling back to it, and undoing a removal (the undo in the message after removing an item).
//
//   /connectors/:id/revisions/:number            one revision (GET)
//   /connectors/:id/revisions/:number/rollback   what rolling back changes (GET), roll back (POST)
//   /connectors/:id/revisions/:number/undo       put back what that revision removed (POST)
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import { ITEM_KINDS } from '../domain/definition-edit.js'
import { RevisionConflict } from '../domain/errors.js'
import { RemovalNotUndone, undoRemoval } from '../domain/undo-removal.js'
import { getRevision } from '../domain/revision-history.js'
import { rollbackConnector, rollbackPreview } from '../domain/rollback.js'
import { IdParams, UUID } from './schemas.js'
import { STEP_OF, WIZARD_HELP, stepPath } from './connector-settings.js'

/** Where the forms of the connector wizard are. */
const SETTINGS = '/connectors/:id/settings'
const RevisionParams = Type.Object({
  id: IdParams.properties.id,
  number: Type.Integer({ minimum: 1, maximum: 2_000_000_000 }),
})
const SubmissionOnly = Type.Object({ submission: Type.Optional(Type.String({ pattern: UUID })) })

export default async function connectorRevisionsRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get(
    '/connectors/:id/revisions/:number',
    { config: { help: WIZARD_HELP }, schema: { params: RevisionParams } },
    async (request, reply) => {
      const revision = await getRevision(app.db, actorOf(request), request.params.id, request.params.number)
      return reply.page('connector-settings/revision-page', { revision })
    },
  )

  // Roll back to an earlier revision: what it changes and touches first, then a new revision.
  const RollbackBody = Type.Object({
    revision: Type.Integer({ minimum: 1 }),
    submission: Type.Optional(Type.String({ pattern: UUID })),
  })
  const rollbackRoute = {
    config: { permission: 'manageConnectors', help: 'updating-a-connector' } as const,
    schema: { params: RevisionParams },
  }

  app.get('/connectors/:id/revisions/:number/rollback', rollbackRoute, async (request, reply) => {
    const preview = await rollbackPreview(app.db, actorOf(request), request.params.id, request.params.number)
    return reply.page('connector-settings/rollback-page', { ...preview, errors: {} })
  })

  app.post(
    '/connectors/:id/revisions/:number/rollback',
    { ...rollbackRoute, schema: { ...rollbackRoute.schema, body: RollbackBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const { id, number } = request.params
      try {
        const saved = await rollbackConnector(app.db, actor, { connectorId: id, number, ...request.body })
        reply.flash(
          saved.changed
            ? `${saved.name} is rolled back to revision ${number}, saved as revision ${saved.revision}. Every earlier revision is still in the history.`
            : `${saved.name} already has the definition of revision ${number}, so nothing was saved.`,
        )
        return reply.seeOther(stepPath(id, 'revisions'))
      } catch (error) {
        if (!(error instanceof RevisionConflict)) throw error
        const preview = await rollbackPreview(app.db, actor, id, number)
        const errors = {
          '': `${error.authorName} saved a change to this connector meanwhile (revision ${error.revision}), so nothing was rolled back. This page now shows what rolling back changes from their revision; roll back again if it is still needed.`,
        }
        return reply.code(409).page('connector-settings/rollback-page', { ...preview, errors })
      }
    },
  )

  // Undo a removal (the "undo" in the message after removing a variable, authentication method or
  // endpoint): the item is put back where it was, as a new revision. Refused, with the reason, when
  // the connector changed since in a way that leaves no place for it.
  app.post(
    '/connectors/:id/revisions/:number/undo',
    {
      config: { permission: 'manageConnectors', help: WIZARD_HELP, back: SETTINGS },
      schema: { params: RevisionParams, body: SubmissionOnly },
    },
    async (request, reply) => {
      const { id, number } = request.params
      try {
        const saved = await undoRemoval(app.db, actorOf(request), {
          connectorId: id,
          number,
          submission: request.body.submission,
        })
        const { removed } = saved
        const word = ITEM_KINDS[removed.kind].word
        reply.flash(
          saved.changed
            ? `The ${word} ${removed.name} is back in ${saved.name}, saved as revision ${saved.revision}.`
            : `The ${word} ${removed.name} is already in ${saved.name}, so nothing was saved.`,
        )
        return reply.seeOther(`${stepPath(id, STEP_OF[removed.kind])}#${removed.kind}-${removed.key}`)
      } catch (error) {
        if (!(error instanceof RemovalNotUndone)) throw error
        reply.flash(`${error.message} Nothing was undone.`, { warning: true })
        return reply.seeOther(stepPath(id, error.kind ? STEP_OF[error.kind] : 'revisions'))
      }
    },
  )
}
