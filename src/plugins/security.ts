// Security headers (a strict CSP: only our own scripts and styles), cookies, CSRF and rate limits.
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import type { Config } from '../config.js'

/** What a CSRF token is bound to: the session, or 'anonymous' before sign-in. */
export function csrfUserInfo(request: FastifyRequest): string {
  return request.user?.sessionId ?? 'anonymous'
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The options of every cookie the app sets or clears: out of scripts' reach, not sent with
 * cross-site requests, and in production only over HTTPS (HSTS says the site is HTTPS-only, and
 * behind a TLS-terminating proxy the request itself may look like plain HTTP).
 */
export function cookieOptions(production: boolean) {
  return { path: '/', httpOnly: true, sameSite: 'lax', secure: production ? true : 'auto' } as const
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'self'"],
          objectSrc: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'same-origin' },
      hsts: config.production ? { maxAge: 31536000, includeSubDomains: true } : false,
      global: false,
    })
    // Registered globally, helmet builds its middleware again at every request; its headers never
    // change, so they are computed at the first request and set from a cached object afterwards.
    let securityHeaders: Record<string, string> | undefined
    app.addHook('onRequest', async (_request, reply) => {
      if (securityHeaders) {
        reply.headers(securityHeaders)
        return
      }
      await reply.helmet()
      securityHeaders = Object.fromEntries(
        Object.entries(reply.raw.getHeaders()).map(([name, value]) => [name, String(value)]),
      )
    })
    await app.register(cookie, { secret: config.sessionSecret })
    await app.register(csrf, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: 'csrf',
      cookieOpts: { ...cookieOptions(config.production), signed: true },
      // Tokens are bound to the session, so a token from before sign-in or another session is refused.
      getUserInfo: csrfUserInfo,
      csrfOpts: { hmacKey: `${config.sessionSecret}:csrf` },
    })
    // Before validation: a forged request learns nothing, not even which fields a form has.
    app.addHook('preValidation', (request, reply, done) => {
      if (SAFE_METHODS.has(request.method)) return done()
      app.csrfProtection(request, reply, done)
    })
    if (config.trustProxy === false) {
      // Behind a proxy that is not trusted every client has the proxy's address, so one person's
      // failed sign-ins would count against everybody: tell the operator once.
      let warned = false
      app.addHook('onRequest', async (request) => {
        if (warned || !request.headers['x-forwarded-for']) return
        warned = true
        request.log.warn(
          'Requests come with X-Forwarded-For but TRUST_PROXY is not set: every client seems to come from the proxy\'s address (see README, "Configuration").',
        )
      })
    }
    // Only the 404 handler's limit (src/plugins/errors.ts); sign-in limits live in PostgreSQL. Its
    // counters are in this process's memory, and safe so: it only damps a scan of unknown paths, so N
    // processes allowing N times as many 404s protects nothing less. Sessions (PostgreSQL), CSRF and
    // flash (cookies signed with SESSION_SECRET) and submission keys (PostgreSQL) hold in any process.
    await app.register(rateLimit, { global: false })
  },
  { name: 'security' },
)
