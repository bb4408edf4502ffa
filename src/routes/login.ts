// Signing in and out.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { authenticate } from '../domain/users.js'
import { LIMITS, tooLongMessage } from '../domain/limits.js'

/** Only a path on this site: never `//other.site` or an absolute URL. */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : '/connectors'
}

const LoginBody = Type.Object({
  email: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  next: Type.Optional(Type.String()),
})

export default async function login(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/login', {
    config: { public: true },
    schema: { querystring: Type.Object({ next: Type.Optional(Type.String()) }) },
  }, async (request, reply) => {
    if (request.user) return reply.redirect(safeNext(request.query.next), 303)
    return reply.page('login', { values: { email: '' }, errors: {}, next: safeNext(request.query.next) })
  })

  // A second limit per account, so one account cannot be guessed at from many addresses.
  const accountLimit = app.createRateLimit({
    max: 10,
    timeWindow: '5 minutes',
    keyGenerator: (request) => `account:${String((request.body as { email?: string } | undefined)?.email ?? '').trim().toLowerCase()}`,
  })

  app.post('/login', {
    config: {
      public: true,
      rateLimit: {
        max: 20,
        timeWindow: '1 minute',
        errorResponseBuilder: (_request, context) => ({ statusCode: 429, message: `Too many sign-in attempts from your address. Wait ${context.after}, then try again.` }),
      },
    },
    preHandler: async (request, reply) => {
      const limit = await accountLimit(request)
      if (!limit.isAllowed && limit.isExceeded) {
        reply.header('retry-after', limit.ttlInSeconds)
        throw Object.assign(new Error('Too many sign-in attempts for this account. Wait a few minutes, then try again.'), { statusCode: 429 })
      }
    },
    schema: { body: LoginBody },
  }, async (request, reply) => {
    const email = (request.body.email ?? '').trim()
    const password = request.body.password ?? ''
    const next = safeNext(request.body.next)
    const errors: Record<string, string> = {}
    if (!email) errors.email = 'Enter your email address.'
    else if (email.length > LIMITS.email) errors.email = tooLongMessage(LIMITS.email)
    if (!password) errors.password = 'Enter your password.'
    else if (password.length > LIMITS.password) errors.password = tooLongMessage(LIMITS.password)
    const user = Object.keys(errors).length === 0 ? await authenticate(app.db, email, password) : null
    if (!user) {
      if (Object.keys(errors).length === 0) errors[''] = 'That email and password do not match an account.'
      return reply.code(422).page('login', { values: { email }, errors, next })
    }
    await reply.signIn(user.id)
    request.log.info({ userId: user.id }, 'signed in')
    return reply.redirect(next, 303)
  })

  app.post('/logout', async (_request, reply) => {
    await reply.signOut()
    reply.flash('You have signed out.')
    return reply.redirect('/login', 303)
  })
}
