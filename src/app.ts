// buildApp(): the whole application as one Fastify instance. Nothing listens here.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { fastifyTrustProxy, type Config } from './config.js'
import { openDatabase, type Database } from './db/client.js'
import database from './plugins/database.js'
import health from './plugins/health.js'
import input, { BODY_LIMIT } from './plugins/input.js'
import security from './plugins/security.js'
import auth from './plugins/auth.js'
import views from './plugins/views.js'
import assets from './plugins/assets.js'
import compression from './plugins/compression.js'
import errors from './plugins/errors.js'
import batchRunner from './plugins/batch-runner.js'
import pageCache from './plugins/page-cache.js'
import routes from './routes/index.js'

export interface AppOptions {
  config: Config
  /** An open database (tests share one per file); otherwise opened from the config and closed with the app. */
  database?: Database
  /** Close `database` when the app closes (the server hands its database over). */
  closeDatabase?: boolean
  logger?: FastifyServerOptions['logger']
  /** Carry out bulk updates in the background (plugins/batch-runner.ts): the server does; tests choose. */
  runBatches?: boolean
  /** How long the runner rests between two chunks (default 0: at once; browser tests slow it to watch it). */
  batchPauseMs?: number
  /** Keep list pages made until the company's data changes (plugins/page-cache.ts); default true. */
  pageCache?: boolean
}

/** Log fields that may carry secrets; pino writes "[Redacted]" instead. */
export const REDACTED_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.secrets',
  '*.credentials',
  '*.token',
  '*._csrf',
]

/** A route as registered: what the security tests walk so that no route can be forgotten. */
export interface RouteEntry {
  method: string
  url: string
  public: boolean
  permission: string | undefined
  /** A save's page to go back to, when it is not its own path's GET page (see plugins/errors.ts). */
  back: string | undefined
  /** The help page of its screen (`config.help`), whose link the layout shows. */
  help: string | undefined
  /** The query parameters its schema names (e.g. `page`, `q`): what the generated tests try. */
  query: string[]
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteEntry[]
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel, redact: REDACTED_PATHS },
    bodyLimit: BODY_LIMIT,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>()

  const routeTable: RouteEntry[] = []
  app.decorate('routeTable', routeTable)
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || route.url.includes('*')) continue
      const config = route.config as { public?: boolean; permission?: string; back?: string; help?: string } | undefined
      const query = Object.keys((route.schema?.querystring as { properties?: object } | undefined)?.properties ?? {})
      routeTable.push({
        method,
        url: route.url,
        public: config?.public === true,
        permission: config?.permission,
        back: config?.back,
        help: config?.help,
        query,
      })
    }
  })

  const db = options.database ?? (await openDatabase(config.databaseUrl, config.dataDir))
  await app.register(database, {
    database: db,
    owned: !options.database || options.closeDatabase === true,
    encryptionKey: config.encryptionKey,
  })
  await app.register(health)
  await app.register(batchRunner, { enabled: options.runBatches === true, pauseMs: options.batchPauseMs ?? 0 })
  await app.register(input)
  await app.register(security, { config })
  await app.register(auth, { production: config.production })
  await app.register(pageCache, { enabled: options.pageCache ?? true, production: config.production })
  await app.register(views, { production: config.production })
  await app.register(assets)
  await app.register(errors)
  // Last of the hooks that change a response's body, so it compresses what is really sent.
  await app.register(compression)
  await app.register(routes)
  return app
}
