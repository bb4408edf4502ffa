// One way to remove things (help text, "removing a connector"): cog → settings → trash → type
// confirm. The same route helper and partial serve connectors, instances and process flows.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Db } from '../db/client.js'
import type { Actor, Permission } from '../domain/actor.js'
import type { HelpSlug } from '../help/pages.js'
import type { RemovalResult } from '../domain/removal.js'
import type { Impact } from '../domain/impact.js'
import type { EditForm } from '../domain/edit-form.js'
import { EditConflict, RevisionConflict } from '../domain/errors.js'
import { actorOf } from '../plugins/auth.js'
import { EditFields, IdParams } from './schemas.js'

/** The word to type. Case and surrounding spaces are forgiven; any other text is refused. */
export const CONFIRM_WORD = 'confirm'

export function isConfirmed(typed: string | undefined): boolean {
  return (typed ?? '').trim().toLowerCase() === CONFIRM_WORD
}

export interface RemovalRoute<Blocker> {
  /** e.g. `/instances/:id/delete` */
  path: string
  permission: Permission
  /** The help page of the prompt. */
  help: HelpSlug
  /** What is removed, in the words of the screen: "connector", "instance", "process flow". */
  what: string
  /**
   * The thing's name, where "cancel" goes and the version (or revision) the prompt shows; throws
   * NotFound for a missing or foreign id. What it touches is shown before anything is typed:
   * `impact` (a connector's), or `uses` (what would block the removal, listed with blockersPartial).
   * `blocked`, when known beforehand (a person with a history), says why it cannot be removed at all:
   * the prompt shows the reasons instead of the form. The removal checks again either way.
   */
  describe(
    db: Db,
    actor: Actor,
    id: string,
  ): Promise<{
    name: string
    backHref: string
    version: number
    impact?: Impact
    uses?: Blocker[]
    blocked?: Blocker[]
  }>
  /** Removes it unless it changed since the prompt was shown (a conflict); once per form submission. */
  remove(db: Db, actor: Actor, id: string, form: EditForm): Promise<RemovalResult<Blocker>>
  /** Where to go once removed. */
  afterRemoval: string
  /** The fragment that lists what blocks the removal, a path under views/ (e.g. `instances/shape-uses`). */
  blockersPartial?: string
}

// No length in the schema: an over-long word is refused by the route, beside its field.
const ConfirmBody = Type.Object({ confirm: Type.Optional(Type.String()), ...EditFields })

/** Who changed the thing since the prompt was shown, or null for any other error. */
function changedMeanwhile(error: unknown): string | null {
  if (error instanceof RevisionConflict)
    return `${error.authorName} saved a change to this connector meanwhile (revision ${error.revision}).`
  if (error instanceof EditConflict)
    return `${error.authorName ?? 'Somebody'} saved a change to this ${error.what} meanwhile.`
  return null
}

export function registerRemoval<Blocker>(fastify: FastifyInstance, route: RemovalRoute<Blocker>) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const render = async (id: string, actor: Actor, extra: Record<string, unknown>) => {
    const { blocked, ...thing } = await route.describe(app.db, actor, id)
    return {
      ...thing,
      ...(blocked?.length ? { blocked, beforehand: true } : {}),
      what: route.what,
      action: route.path.replace(':id', id),
      blockersPartial: route.blockersPartial,
      value: '',
      errors: {},
      ...extra,
    }
  }

  app.get(
    route.path,
    { config: { permission: route.permission, help: route.help }, schema: { params: IdParams } },
    async (request, reply) => {
      const data = await render(request.params.id, actorOf(request), {})
      return reply.page('shared/confirm-removal-page', data, 'shared/confirm-removal')
    },
  )

  app.post(
    route.path,
    { config: { permission: route.permission, help: route.help }, schema: { params: IdParams, body: ConfirmBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const typed = request.body.confirm ?? ''
      if (!isConfirmed(typed)) {
        const data = await render(request.params.id, actor, {
          value: typed,
          errors: { confirm: `Type the word ${CONFIRM_WORD} to remove this ${route.what}. Nothing was removed.` },
        })
        return reply.code(422).page('shared/confirm-removal-page', data, 'shared/confirm-removal')
      }
      let result: RemovalResult<Blocker>
      try {
        result = await route.remove(app.db, actor, request.params.id, {
          version: request.body.lockVersion,
          submission: request.body.submission,
        })
      } catch (error) {
        const meanwhile = changedMeanwhile(error)
        if (!meanwhile) throw error
        // The prompt again, as the thing is now: removing what somebody just changed is decided again.
        const data = await render(request.params.id, actor, {
          errors: {
            confirm: `${meanwhile} Nothing was removed: check it below, and remove it again if it is still needed.`,
          },
        })
        return reply.code(409).page('shared/confirm-removal-page', data, 'shared/confirm-removal')
      }
      if (!result.removed) {
        const data = await render(request.params.id, actor, { blocked: result.blockers })
        return reply.code(409).page('shared/confirm-removal-page', data, 'shared/confirm-removal')
      }
      // A form sent again after its removal answers like the first (the name is gone with the thing).
      reply.flash(result.name ? `The ${route.what} ${result.name} was removed.` : `The ${route.what} was removed.`)
      return reply.seeOther(route.afterRemoval)
    },
  )
}
