// Starts the process: reads the configuration, prepares the database, listens; on SIGTERM drains
// (/readyz answers 503), lets requests in flight finish, then closes the pool. With WORKERS above 1
// this process is the primary of a node:cluster (src/cluster.ts) and each worker runs `serve`.
import cluster from 'node:cluster'
import { setTimeout as sleep } from 'node:timers/promises'
import closeWithGrace from 'close-with-grace'
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify'
import { readConfig, ConfigError, type Config } from './config.js'
import { DatabaseNewerThanCode, openDatabase } from './db/client.js'
import { DataFolderInUse } from './db/data-folder-lock.js'
import { CREATE_ADMINISTRATOR, prepareDatabase, type Accounts } from './demo/seed.js'
import { buildApp, REDACTED_PATHS } from './app.js'
import { runPrimary, WORKER_LISTENING, WORKER_SHUTDOWN } from './cluster.js'

type Env = Record<string, string | undefined>

/** Pino's options: JSON lines in production (or LOG_FORMAT=json), readable lines otherwise. */
export function loggerOptions(config: Config, env: Env): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level: config.logLevel,
    redact: REDACTED_PATHS,
    ...(config.production || env.LOG_FORMAT === 'json'
      ? {}
      : { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname,reqId', translateTime: 'HH:MM:ss' } } }),
  }
}

export interface Serving {
  app: FastifyInstance
  url: string
  accounts: Accounts | undefined
}

/**
 * Opens the database (migrating it if needed), builds the app and listens. `prepare` publishes the
 * catalogue and, on an empty database, creates the demo company: the primary of a cluster did that once already.
 */
export async function serve(
  config: Config,
  env: Env,
  options: { prepare: boolean; worker?: string },
): Promise<Serving> {
  let accounts: Accounts | undefined
  const database = await openDatabase(config.databaseUrl, config.dataDir, {
    command: 'npm start',
    max: config.poolSize,
    ...(options.prepare
      ? {
          onMigrated: async (db) => {
            accounts = await prepareDatabase(db, { production: config.production })
          },
        }
      : {}),
  })
  const app = await buildApp({
    config,
    database,
    closeDatabase: true,
    logger: loggerOptions(config, env),
    runBatches: true,
  })
  const where = `${database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL server'}${options.worker ? `, ${options.worker}` : ''}`
  const readable = (address: string) => address.replace('[::1]', 'localhost')
  // Fastify logs one line per address it listens on: ours says it, instead of a second "listening" line.
  const address = await app.listen({
    port: config.port,
    host: config.host,
    listenTextResolver: (at) => `Connectors dashboard listening on ${readable(at)} (database: ${where})`,
  })
  const url = readable(address)
  database.lock?.update({ url })
  return { app, url, accounts }
}

/** What a new user or operator must know once the app listens. */
export function announce(
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>,
  url: string,
  accounts: Accounts | undefined,
): void {
  if (accounts?.kind === 'demo created') {
    log.info(
      `Demo company created. Sign in at ${url}/login with email ${accounts.signIn.email} and password ${accounts.signIn.password}`,
    )
  }
  if (accounts?.kind === 'no company') {
    log.warn(
      `Nobody can sign in yet: there is no company. Create the first administrator with: ${CREATE_ADMINISTRATOR} (the password is read from standard input, or from ADMIN_PASSWORD)`,
    )
  }
}

/**
 * On SIGTERM or SIGINT (or the primary's word, in a cluster): /readyz turns 503, DRAIN_SECONDS pass
 * for the load balancer to notice, then Fastify stops accepting connections, waits for the requests
 * in flight, and closes the pool (the database plugin's onClose hook runs after the server closed).
 */
function closeOnSignals(app: FastifyInstance, config: Config): void {
  let closing: Promise<void> | undefined
  const closer = closeWithGrace({ delay: config.drainSeconds * 1000 + 10_000 }, async ({ err }) => {
    closing ??= (async () => {
      if (err) app.log.error({ err }, 'closing after an error')
      app.drain()
      if (config.drainSeconds > 0 && !err) {
        app.log.info(`Draining: /readyz answers 503; closing in ${config.drainSeconds} s`)
        await sleep(config.drainSeconds * 1000)
      }
      await app.close()
      // The IPC channel would keep a worker alive.
      if (cluster.isWorker) cluster.worker!.disconnect()
    })()
    await closing
  })
  if (cluster.isWorker)
    process.on('message', (message) => {
      if (message === WORKER_SHUTDOWN) void closer.close()
    })
}

async function main(env: Env = process.env): Promise<void> {
  const config = readConfig(env)
  if (cluster.isPrimary && config.workers > 1) return runPrimary(config, loggerOptions(config, env), announce)
  const worker = cluster.isWorker ? `worker ${cluster.worker!.id}, process ${process.pid}` : undefined
  const { app, url, accounts } = await serve(config, env, { prepare: cluster.isPrimary, ...(worker ? { worker } : {}) })
  closeOnSignals(app, config)
  if (cluster.isWorker) process.send!({ type: WORKER_LISTENING, url })
  else announce(app.log, url, accounts)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await main()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`)
      process.exit(78)
    }
    if (error instanceof DataFolderInUse) {
      const url = error.holder.url ? `It may be the dashboard you want: open ${error.holder.url}. ` : ''
      process.stderr.write(
        `Not started: ${error.message}\n${url}To run a second one, give it a DATA_DIR of its own, or run both on a PostgreSQL server (DATABASE_URL; see README, "Configuration").\n`,
      )
      process.exit(75)
    }
    if (error instanceof DatabaseNewerThanCode) {
      process.stderr.write(`Not started: ${error.message}\n`)
      process.exit(65)
    }
    throw error
  }
}
