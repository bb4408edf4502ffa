// Starts the process: reads the configuration, prepares the database, listens, closes cleanly.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { readConfig, ConfigError } from './config.js'
import { openDatabase } from './db/client.js'
import { prepareDatabase } from './db/seed.js'
import { buildApp, REDACTED_PATHS } from './app.js'

export async function start(env: Record<string, string | undefined> = process.env): Promise<FastifyInstance> {
  const config = readConfig(env)
  const database = await openDatabase(config.databaseUrl, config.dataDir)
  let demo
  try {
    demo = await prepareDatabase(database.db, { production: config.production })
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
  if (demo) app.log.info(`Demo company created. Sign in at ${url}/login with email ${demo.email} and password ${demo.password}`)
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
    throw error
  }
}
