// Health checks for load balancers and orchestrators: /healthz (the process is up) and /readyz
// (it can serve: database reachable and migrated, not shutting down). Public, tiny, never
// rate-limited, not logged at info, and saying nothing else about the app.
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'
import { migrationState } from '../db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** From now on /readyz answers 503 (on SIGTERM), so that the load balancer stops sending requests here. */
    drain(): void
  }
  interface FastifyContextConfig {
    /** A health check: answered without reading the session, so /healthz never touches the database. */
    health?: boolean
  }
}

function answer(reply: FastifyReply, ok: boolean) {
  return reply
    .code(ok ? 200 : 503)
    .header('cache-control', 'no-store')
    .type('text/plain; charset=utf-8')
    .send(ok ? 'ok' : 'unavailable')
}

export default fp(
  async (app) => {
    let draining = false
    /** What /readyz last answered: a change is logged once, not every probe. */
    let wasReady: boolean | undefined
    app.decorate('drain', () => {
      draining = true
    })
    const route = { config: { public: true, health: true, rateLimit: false as const }, logLevel: 'warn' as const }

    app.get('/healthz', route, async (_request, reply) => answer(reply, true))

    app.get('/readyz', route, async (request, reply) => {
      let reason = 'shutting down'
      if (!draining) {
        try {
          const state = await migrationState(app.db)
          reason =
            state === 'current'
              ? ''
              : `the database is ${state === 'behind' ? 'not migrated yet' : 'newer than this code'}`
        } catch (error) {
          reason = `the database is unreachable (${(error as Error).message})`
        }
      }
      const ready = reason === ''
      if (ready !== wasReady && (wasReady !== undefined || !ready)) {
        if (ready) request.log.warn('Ready again: /readyz answers 200')
        else request.log.warn(`Not ready: /readyz answers 503 (${reason})`)
      }
      wasReady = ready
      return answer(reply, ready)
    })
  },
  { name: 'health', dependencies: ['database'] },
)
