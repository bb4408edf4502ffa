// Your account (linked from your name in the header): your own password and your sessions. Open to
// every role, for oneself only (help: managing people).
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { actorOf, AFTER_SIGN_IN, NEW_PASSWORD } from '../plugins/auth.js'
import {
  changeOwnPassword,
  chooseNewPassword,
  endOtherSessions,
  endOwnSession,
  listSessions,
  type AccountActor,
} from '../domain/account.js'
import { NotFound } from '../domain/errors.js'
import { submitForm } from '../forms/submit.js'
import { PASSWORD_MIN_LENGTH } from '../domain/passwords.js'

const Text = Type.Optional(Type.String())
const config = { help: 'managing-people' } as const

export default async function accountRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const page = async (actor: AccountActor, extra: Record<string, unknown> = {}) => ({
    sessions: await listSessions(app.db, actor),
    minLength: PASSWORD_MIN_LENGTH,
    errors: {},
    ...extra,
  })

  app.get('/account', { config }, async (request, reply) => reply.page('account/page', await page(actorOf(request))))

  app.post(
    '/account/password',
    { config, schema: { body: Type.Object({ current: Text, password: Text, confirm: Text }) } },
    async (request, reply) => {
      const actor = actorOf(request)
      const input = {
        current: request.body.current ?? '',
        password: request.body.password ?? '',
        confirm: request.body.confirm ?? '',
        address: request.ip,
      }
      return submitForm(reply, () => changeOwnPassword(app.db, actor, input), {
        done: (ended) => {
          reply.flash(
            ended
              ? `Your password is changed. Your ${ended === 1 ? 'other session has' : `${ended} other sessions have`} ended.`
              : 'Your password is changed.',
          )
          return reply.seeOther('/account')
        },
        again: async ({ errors }) => reply.page('account/page', await page(actor, { errors })),
      })
    },
  )

  app.post(
    '/account/sessions/end',
    { config, schema: { body: Type.Object({ session: Text }) } },
    async (request, reply) => {
      const actor = actorOf(request)
      try {
        const session = await endOwnSession(app.db, actor, request.body.session ?? '')
        if (session.current) {
          await reply.signOut()
          reply.flash('You have signed out.')
          return reply.seeOther('/login')
        }
        reply.flash(`Your session on ${session.device} has ended.`)
      } catch (error) {
        if (!(error instanceof NotFound)) throw error
        // Ended meanwhile (on another tab, or it expired): what was wanted is done.
        reply.flash('That session had already ended.')
      }
      return reply.seeOther('/account')
    },
  )

  app.post('/account/sessions/end-others', { config }, async (request, reply) => {
    const ended = await endOtherSessions(app.db, actorOf(request))
    reply.flash(
      ended
        ? `You are signed out everywhere else: ${ended === 1 ? '1 session' : `${ended} sessions`} ended.`
        : 'You were not signed in anywhere else.',
    )
    return reply.seeOther('/account')
  })

  // After an administrator reset your password: every page leads here until you choose your own
  // (no help link: it would lead here too).
  const choose = { beforeNewPassword: true }
  app.get(NEW_PASSWORD, { config: choose }, async (request, reply) =>
    actorOf(request).mustChangePassword
      ? reply.page('account/new-password-page', { errors: {}, minLength: PASSWORD_MIN_LENGTH })
      : reply.seeOther('/account'),
  )
  app.post(
    NEW_PASSWORD,
    { config: choose, schema: { body: Type.Object({ password: Text, confirm: Text }) } },
    async (request, reply) => {
      const actor = actorOf(request)
      // Without a reset, a new password needs the current one (your account page).
      if (!actor.mustChangePassword) return reply.seeOther('/account')
      const input = { password: request.body.password ?? '', confirm: request.body.confirm ?? '' }
      return submitForm(reply, () => chooseNewPassword(app.db, actor, input), {
        done: () => {
          reply.flash('Your new password is saved.')
          return reply.seeOther(AFTER_SIGN_IN)
        },
        again: async ({ errors }) =>
          reply.page('account/new-password-page', { errors, minLength: PASSWORD_MIN_LENGTH }),
      })
    },
  )
}
