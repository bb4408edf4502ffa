// Starts the process: reads the configuration, prepares the database, listens, closes cleanly.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { readConfig, ConfigError } from './config.js'
import { openDatabase } from './db/client.js'
import { DataFolderInUse } from './db/data-folder-lock.js'
import { CREATE_ADMINISTRATOR, prepareDatabase } from './demo/seed.js'
import { buildApp, REDACTED_PATHS } from './app.js'

export async function start(env: Record<string, string | undefined> = process.env): Promise<FastifyInstance> {
  const config = readConfig(env)
  const database = await openDatabase(config.databaseUrl, config.dataDir, { command: 'npm start' })
  let accounts
  try {
    accounts = await prepareDatabase(database.db, { production: config.production })
  } catch (error) {
    await database.close()
    throw error
  }
  const app = await buildApp({
    config,
    database,
    closeDatabase: true,
    logger: {
      level: config.logLevel,
      redact: REDACTED_PATHS,
      ...(config.production || env.LOG_FORMAT === 'json' ? {} : { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname,reqId', translateTime: 'HH:MM:ss' } } }),
    },
  })
  const where = database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL server'
  const readable = (address: string) => address.replace('[::1]', 'localhost')
  // Fastify logs one line per address it listens on: ours says it, instead of a second "listening" line.
  const address = await app.listen({
    port: config.port, host: config.host,
    listenTextResolver: (at) => `Connectors dashboard listening on ${readable(at)} (database: ${where})`,
  })
  const url = readable(address)
  database.lock?.update({ url })
  if (accounts.kind === 'demo created') {
    app.log.info(`Demo company created. Sign in at ${url}/login with email ${accounts.signIn.email} and password ${accounts.signIn.password}`)
  }
  if (accounts.kind === 'no company') {
    app.log.warn(`Nobody can sign in yet: there is no company. Create the first administrator with: ${CREATE_ADMINISTRATOR} (the password is read from standard input, or from ADMIN_PASSWORD)`)
  }
  return app
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const app = await start()
    closeWithGrace({ delay: 10_000 }, async ({ err }) => {
      if (err) app.log.error({ err }, 'closing after an error')
      await app.close()
    })
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`)
      process.exit(78)
    }
    if (error instanceof DataFolderInUse) {
      const url = error.holder.url ? `It may be the dashboard you want: open ${error.holder.url}. ` : ''
      process.stderr.write(`Not started: ${error.message}\n${url}To run a second one, give it a DATA_DIR of its own, or run both on a PostgreSQL server (DATABASE_URL; see README, "Configuration").\n`)
      process.exit(75)
    }
    throw error
  }
}
