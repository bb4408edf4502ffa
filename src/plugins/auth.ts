// Who is signed in: one query per request, from the `sid` cookie. Every route needs a signed-in
// user unless its config says `public: true`; routes name the permission they need.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { can, type Permission } from '../domain/actor.js'
import { Forbidden } from '../domain/errors.js'
import { endSession, SESSION_DAYS, startSession, userForSession, type SessionUser } from '../domain/users.js'
import { cookieOptions } from './security.js'

export type CurrentUser = SessionUser

declare module 'fastify' {
  interface FastifyRequest {
    user: CurrentUser | null
  }
  interface FastifyReply {
    /** Starts a session for who signed in; false when their password changed meanwhile (see startSession). */
    signIn(user: { id: string; passwordHash: string }): Promise<boolean>
    signOut(): Promise<void>
  }
  interface FastifyContextConfig {
    /** Reachable without signing in. */
    public?: boolean
    /** What the signed-in user's role must allow. */
    permission?: Permission
    /** Reachable while the signed-in user must choose a new password (every other page leads there). */
    beforeNewPassword?: boolean
  }
}

export const SESSION_COOKIE = 'sid'

/** Where sign-in leads when it was not sent from a page of this site. */
export const AFTER_SIGN_IN = '/connectors'
const MAX_NEXT_LENGTH = 2000
// Any origin would do: a value is accepted only when it resolves to the origin it was resolved against.
const OWN_ORIGIN = new URL('http://dashboard.invalid/')
// Control characters, white space (Unicode spaces too), invisible format characters (bidi marks)
// and backslashes: browsers drop or reinterpret them, e.g. "/\t/evil.example" goes to "//evil.example".
const UNSAFE_IN_PATH = /[\p{Cc}\p{Cf}\p{Z}\s\\]/u

/**
 * A path on this site to go to after signing in (`next`), or null. Refused: anything that is not a
 * string starting with one "/", anything with an unsafe character raw or percent-decoded (up to
 * three times), and anything that resolves off this origin. The result is the path as a URL
 * parser writes it (ASCII, percent-encoded), so it is always a valid header value.
 */
export function sameOriginPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NEXT_LENGTH) return null
  let decoded = value
  for (let round = 0; ; round++) {
    if (UNSAFE_IN_PATH.test(decoded) || !decoded.startsWith('/') || decoded.startsWith('//')) return null
    let once: string
    try {
      once = decodeURIComponent(decoded)
    } catch {
      return null
    }
    if (once === decoded) break
    if (round === 3) return null
    decoded = once
  }
  const url = new URL(value, OWN_ORIGIN)
  if (url.origin !== OWN_ORIGIN.origin) return null
  const path = `${url.pathname}${url.search}${url.hash}`
  // "/.//evil.example" resolves to the path "//evil.example".
  return path.startsWith('/') && !path.startsWith('//') ? path : null
}

/** `next` as sign-in follows it: a same-origin path, or manage connectors. */
export function safeNext(value: unknown): string {
  return sameOriginPath(value) ?? AFTER_SIGN_IN
}

/** The signed-in user of a route that requires one (every route but the public ones). */
export function actorOf(request: FastifyRequest): CurrentUser {
  if (!request.user) throw new Error('route reached without a signed-in user')
  return request.user
}

function isHtmx(request: FastifyRequest) {
  return request.headers['hx-request'] === 'true'
}

export default fp<{ production: boolean }>(
  async (app, { production }) => {
    app.decorateRequest('user', null)
    const sessionCookie = { ...cookieOptions(production), maxAge: SESSION_DAYS * 24 * 3600 }
    /** Sessions started by a request still being answered. */
    const started = new WeakMap<FastifyRequest, string>()

    app.addHook('onRequest', async (request, reply) => {
      if (request.url.startsWith('/static/') || request.routeOptions.config?.health) return
      const token = request.cookies[SESSION_COOKIE]
      if (token && token.length <= 100) request.user = await userForSession(app.db, token)
      const config = request.routeOptions.config
      if (config?.public) return
      if (!request.user) return redirectToLogin(request, reply)
      // An administrator reset this person's password: nothing else until they choose their own.
      if (request.user.mustChangePassword && !config?.beforeNewPassword) return redirectTo(request, reply, NEW_PASSWORD)
    })

    // Before the body is validated: a role that may not do this learns nothing about its input.
    app.addHook('preValidation', async (request) => {
      const permission = request.routeOptions.config?.permission
      if (permission && request.user && !can(request.user, permission)) throw new Forbidden()
    })

    app.decorateReply('signIn', async function (this: FastifyReply, user: { id: string; passwordHash: string }) {
      const old = this.request.cookies[SESSION_COOKIE]
      // A new token on every sign-in: a session id planted before sign-in is worth nothing after it.
      if (old) await endSession(app.db, old)
      const userAgent = this.request.headers['user-agent'] ?? null
      const token = await startSession(app.db, user, { userAgent, ipAddress: this.request.ip })
      if (!token) return false
      started.set(this.request, token)
      this.setCookie(SESSION_COOKIE, token, sessionCookie)
      return true
    })

    // An answer that fails after sign-in started a session (its cookie may never reach the browser)
    // takes the session back: no session row outlives a sign-in that was not answered.
    app.addHook('onError', async (request, reply) => {
      const token = started.get(request)
      if (!token) return
      started.delete(request)
      await endSession(app.db, token)
      reply.clearCookie(SESSION_COOKIE, cookieOptions(production))
    })

    app.decorateReply('signOut', async function (this: FastifyReply) {
      const token = this.request.cookies[SESSION_COOKIE]
      if (token) await endSession(app.db, token)
      this.clearCookie(SESSION_COOKIE, cookieOptions(production))
    })
  },
  { name: 'auth', dependencies: ['database', 'security'] },
)

/** Where a person whose password was reset chooses a new one. */
export const NEW_PASSWORD = '/account/new-password'

function redirectToLogin(request: FastifyRequest, reply: FastifyReply) {
  // Back to this page after signing in, when it is a plain page of this site.
  const back = request.method === 'GET' ? sameOriginPath(request.url) : null
  return redirectTo(request, reply, back ? `/login?next=${encodeURIComponent(back)}` : '/login')
}

function redirectTo(request: FastifyRequest, reply: FastifyReply, login: string) {
  if (isHtmx(request)) {
    // htmx follows this with a full page load instead of swapping the login page into a fragment.
    return reply.code(401).header('HX-Redirect', login).send()
  }
  return reply.redirect(login, 303)
}
