// Signing in and out.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { authenticate, normaliseEmail } from '../domain/users.js'
import {
  minutesInWords,
  recordSuccessfulSignIn,
  reserveSignInAttempt,
  type LimitName,
} from '../domain/sign-in-limits.js'
import { safeNext } from '../plugins/auth.js'
import { LIMITS, tooLongMessage } from '../domain/limits.js'

// `next` may come repeated or in any shape: anything but one same-origin path is ignored, not refused.
const Next = Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))

const LoginBody = Type.Object({
  email: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  next: Next,
})

const TOO_MANY: Record<LimitName, string> = {
  'account and address': 'Too many failed sign-ins for this account from your address.',
  account: 'Too many failed sign-ins for this account.',
  address: 'Too many failed sign-ins from your address.',
}

export default async function login(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get(
    '/login',
    {
      config: { public: true },
      schema: { querystring: Type.Object({ next: Next }) },
    },
    async (request, reply) => {
      const next = safeNext(request.query.next)
      if (request.user) return reply.redirect(next, 303)
      return reply.page('login/page', { values: { email: '' }, errors: {}, next })
    },
  )

  app.post('/login', { config: { public: true }, schema: { body: LoginBody } }, async (request, reply) => {
    const typed = request.body.email ?? ''
    const password = request.body.password ?? ''
    const next = safeNext(request.body.next)
    const form = (status: number, errors: Record<string, string>) =>
      reply.code(status).page('login/page', { values: { email: typed }, errors, next })

    const errors: Record<string, string> = {}
    const normalised = normaliseEmail(typed)
    if ('error' in normalised) errors.email = normalised.error
    if (!password) errors.password = 'Enter your password.'
    else if (password.length > LIMITS.password) errors.password = tooLongMessage(LIMITS.password)
    if ('error' in normalised || Object.keys(errors).length) return form(422, errors)
    const { email } = normalised

    const attempt = await reserveSignInAttempt(app.db, email, request.ip)
    if (!attempt.allowed) {
      request.log.info({ email, limit: attempt.limit }, 'sign-in refused: too many failures')
      reply.header('retry-after', String(attempt.retryAfterSeconds))
      return form(429, { '': `${TOO_MANY[attempt.limit]} Try again in ${minutesInWords(attempt.retryAfterSeconds)}.` })
    }
    const user = await authenticate(app.db, email, password)
    // A password reset (or the person deactivated) between the check and the session: the same refusal.
    if (!user || !(await reply.signIn(user))) {
      request.log.info({ email }, 'sign-in failed')
      return form(422, { '': 'That email and password do not match an account.' })
    }
    await recordSuccessfulSignIn(app.db, attempt.reservation)
    request.log.info({ userId: user.id, email }, 'signed in')
    return reply.redirect(next, 303)
  })

  app.post('/logout', { config: { beforeNewPassword: true } }, async (_request, reply) => {
    await reply.signOut()
    reply.flash('You have signed out.')
    return reply.redirect('/login', 303)
  })
}
