// Updating a connector (help text, "updating a connector"): the "update available" button opens the
// choice (an htmx modal, or the same content as a full page without JavaScript); update in place,
// overwrite, or install the new version alongside; then what is left to do.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import type { Actor } from '../domain/actor.js'
import { pageOfConnector } from '../domain/connectors.js'
import { choiceField, mergeWithVersion, overwriteWithVersion, updateConnector } from '../domain/updates.js'
import { installVersionAlongside } from '../domain/install-alongside.js'
import { mergePreview, updateChoice } from '../domain/update-choice.js'
import { nextStepsAfterAlongside } from '../domain/alongside-next-steps.js'
import { mergeChoices } from '../forms/merge.js'
import { RevisionConflict } from '../domain/errors.js'
import { submitForm } from '../forms/submit.js'
import { nameWithVersion } from '../domain/versions.js'
import { IdParams, UUID } from './schemas.js'

const VersionBody = Type.Object({
  revision: Type.Integer({ minimum: 1 }),
  version: Type.String({ minLength: 1, maxLength: 40 }),
  submission: Type.Optional(Type.String({ pattern: UUID })),
})

/** "Its instance keeps working with it." / "Its 3 instances keep working with it." / "It has no instances yet." */
function instancesKept(n: number, one: string, many: string): string {
  if (n === 0) return 'It has no instances yet.'
  return n === 1 ? `Its instance ${one}.` : `Its ${n} instances ${many}.`
}

/** The merge form: a version choice plus `choice.<conflict id>` = mine | theirs per conflict. */
const MergeBody = Type.Object(
  {
    revision: Type.Integer({ minimum: 1 }),
    version: Type.String({ minLength: 1, maxLength: 40 }),
    submission: Type.Optional(Type.String({ pattern: UUID })),
    /** "preview": show what the choices so far would do, change nothing. */
    action: Type.Optional(Type.Literal('preview')),
  },
  { additionalProperties: Type.String() },
)

const AlongsideParams = Type.Object({ id: IdParams.properties.id, previousId: IdParams.properties.id })

export default async function updates(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const manage = { permission: 'manageConnectors', help: 'updating-a-connector' } as const
  const choice = { ...manage, back: '/connectors/:id/update' }

  app.get('/connectors/:id/update', { config: manage, schema: { params: IdParams } }, async (request, reply) => {
    const choice = await updateChoice(app.db, actorOf(request), request.params.id)
    return reply.page('updates/page', { ...choice }, 'updates/update-choice')
  })

  /** Back to manage connectors, on the page that shows the connector. */
  const backToList = async (actor: ReturnType<typeof actorOf>, connector: { id: string; name: string }) =>
    `/connectors?page=${await pageOfConnector(app.db, actor, connector)}#connector-${connector.id}`

  /**
   * A request that lost a race (somebody saved the connector after this screen was shown): the choice
   * again, as the connector is now, and why nothing was done. Never a 404 for a connector that exists.
   */
  const lostRace = async (reply: FastifyReply, actor: Actor, id: string, conflict: RevisionConflict, what: string) => {
    const choice = await updateChoice(app.db, actor, id)
    const errors = {
      '': `Somebody else just updated this connector (${conflict.authorName} saved revision ${conflict.revision} meanwhile), so nothing was ${what}. Below is where it stands now; choose again if it is still needed.`,
    }
    return reply.code(409).page('updates/page', { ...choice, errors }, 'updates/update-choice')
  }

  app.post(
    '/connectors/:id/update',
    { config: manage, schema: { params: IdParams, body: VersionBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      try {
        const updated = await updateConnector(app.db, actor, { connectorId: request.params.id, ...request.body })
        reply.flash(
          `${updated.name} is updated ${updated.from ? `from version ${updated.from} ` : ''}to version ${updated.to}. ${instancesKept(updated.instanceCount, 'keeps working with it', 'keep working with it')} The update is in its revision history.`,
        )
        return reply.redirect(await backToList(actor, updated), 303)
      } catch (error) {
        if (error instanceof RevisionConflict) return lostRace(reply, actor, request.params.id, error, 'updated')
        throw error
      }
    },
  )

  app.post(
    '/connectors/:id/overwrite',
    { config: choice, schema: { params: IdParams, body: VersionBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      try {
        const overwritten = await overwriteWithVersion(app.db, actor, {
          connectorId: request.params.id,
          ...request.body,
        })
        const lost = overwritten.customisations.length
          ? ` Its customisations are gone from it but kept in its revision history (revision ${overwritten.lastCustomisedRevision}).`
          : ''
        reply.flash(
          `${overwritten.name} is overwritten with version ${overwritten.to}.${lost} ${instancesKept(overwritten.instanceCount, 'stays attached', 'stay attached')}`,
        )
        return reply.redirect(await backToList(actor, overwritten), 303)
      } catch (error) {
        if (error instanceof RevisionConflict) return lostRace(reply, actor, request.params.id, error, 'overwritten')
        throw error
      }
    },
  )

  // "update and keep my changes": the conflicts side by side, mine or theirs for each, then apply.
  app.get('/connectors/:id/merge', { config: manage, schema: { params: IdParams } }, async (request, reply) => {
    const preview = await mergePreview(app.db, actorOf(request), request.params.id)
    return reply.page('updates/merge-page', { ...preview, choices: {}, errors: {}, choiceField })
  })

  app.post(
    '/connectors/:id/merge',
    { config: manage, schema: { params: IdParams, body: MergeBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const choices = mergeChoices(request.body)
      const { revision, version, submission } = request.body
      if (request.body.action === 'preview') {
        const preview = await mergePreview(app.db, actor, request.params.id, choices)
        return reply.page(
          'updates/merge-page',
          { ...preview, choices, errors: {}, choiceField },
          'updates/merge-preview',
        )
      }
      return submitForm(
        reply,
        () =>
          mergeWithVersion(app.db, actor, { connectorId: request.params.id, revision, version, submission, choices }),
        {
          done: async (merged) => {
            const kept = merged.kept.length ? ` Your changes are kept: ${merged.kept.join('; ')}.` : ''
            reply.flash(
              `${merged.name} is updated ${merged.from ? `from version ${merged.from} ` : ''}to version ${merged.to}.${kept} ${instancesKept(merged.instanceCount, 'keeps working with it', 'keep working with it')} The update is in its revision history.`,
            )
            return reply.seeOther(await backToList(actor, merged))
          },
          conflict: (error) =>
            error instanceof RevisionConflict
              ? `${error.authorName} saved a change to this connector meanwhile (revision ${error.revision}), so nothing was updated. The merge below now includes their change; check your choices and apply again.`
              : null,
          again: async ({ errors }) => {
            const preview = await mergePreview(app.db, actor, request.params.id, choices)
            return reply.page('updates/merge-page', { ...preview, choices, errors, choiceField })
          },
        },
      )
    },
  )

  app.post(
    '/connectors/:id/install-alongside',
    { config: choice, schema: { params: IdParams, body: VersionBody } },
    async (request, reply) => {
      const { version, submission } = request.body
      const installed = await installVersionAlongside(app.db, actorOf(request), {
        connectorId: request.params.id,
        version,
        submission,
      })
      reply.flash(
        `${nameWithVersion(installed.name, installed.version)} is installed alongside ${installed.previousName}. Here is what is left to do.`,
      )
      return reply.redirect(`/connectors/${installed.id}/installed-alongside/${installed.previousId}`, 303)
    },
  )

  app.get(
    '/connectors/:id/installed-alongside/:previousId',
    { config: manage, schema: { params: AlongsideParams } },
    async (request, reply) => {
      const steps = await nextStepsAfterAlongside(
        app.db,
        actorOf(request),
        request.params.id,
        request.params.previousId,
      )
      return reply.page('updates/installed-alongside-page', { ...steps })
    },
  )
}
