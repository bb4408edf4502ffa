// Who is signed in: one query per request, from the `sid` cookie. Every route needs a signed-in
// user unless its config says `public: true`; routes name the permission they need.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { can, type Actor, type Permission } from '../domain/actor.js'
import { Forbidden } from '../domain/errors.js'
import { endSession, SESSION_DAYS, startSession, userForSession } from '../domain/users.js'

export type CurrentUser = Actor & { sessionId: string }

declare module 'fastify' {
  interface FastifyRequest {
    user: CurrentUser | null
  }
  interface FastifyReply {
    signIn(userId: string): Promise<void>
    signOut(): Promise<void>
  }
  interface FastifyContextConfig {
    /** Reachable without signing in. */
    public?: boolean
    /** What the signed-in user's role must allow. */
    permission?: Permission
  }
}

export const SESSION_COOKIE = 'sid'

/** The signed-in user of a route that requires one (every route but the public ones). */
export function actorOf(request: FastifyRequest): CurrentUser {
  if (!request.user) throw new Error('route reached without a signed-in user')
  return request.user
}

function isHtmx(request: FastifyRequest) {
  return request.headers['hx-request'] === 'true'
}

export default fp(async (app) => {
  app.decorateRequest('user', null)

  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/static/')) return
    const token = request.cookies[SESSION_COOKIE]
    if (token && token.length <= 100) request.user = await userForSession(app.db, token)
    const config = request.routeOptions.config
    if (config?.public) return
    if (!request.user) return redirectToLogin(request, reply)
  })

  // Before the body is validated: a role that may not do this learns nothing about its input.
  app.addHook('preValidation', async (request) => {
    const permission = request.routeOptions.config?.permission
    if (permission && request.user && !can(request.user, permission)) throw new Forbidden()
  })

  app.decorateReply('signIn', async function (this: FastifyReply, userId: string) {
    const old = this.request.cookies[SESSION_COOKIE]
    // A new token on every sign-in: a session id planted before sign-in is worth nothing after it.
    if (old) await endSession(app.db, old)
    const token = await startSession(app.db, userId)
    this.setCookie(SESSION_COOKIE, token, {
      path: '/', httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: SESSION_DAYS * 24 * 3600,
    })
  })

  app.decorateReply('signOut', async function (this: FastifyReply) {
    const token = this.request.cookies[SESSION_COOKIE]
    if (token) await endSession(app.db, token)
    this.clearCookie(SESSION_COOKIE, { path: '/' })
  })
}, { name: 'auth', dependencies: ['database', 'security'] })

function redirectToLogin(request: FastifyRequest, reply: FastifyReply) {
  const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : ''
  if (isHtmx(request)) {
    // htmx follows this with a full page load instead of swapping the login page into a fragment.
    return reply.code(401).header('HX-Redirect', `/login${next}`).send()
  }
  return reply.redirect(`/login${next}`, 303)
}
