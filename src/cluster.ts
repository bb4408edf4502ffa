// WORKERS above 1: this process prepares the database once, then runs that many workers with
// node:cluster (each with its own connection pool; they share the listening port), replaces a
// worker that dies, and on SIGTERM tells each to drain and close.
import cluster, { type Worker } from 'node:cluster'
import { createServer } from 'node:net'
import { pino, type LoggerOptions } from 'pino'
import type { Config } from './config.js'
import { openDatabase } from './db/client.js'
import { prepareDatabase, type Accounts } from './demo/seed.js'

/** A worker tells the primary it listens: `{ type: WORKER_LISTENING, url }`. */
export const WORKER_LISTENING = 'connectors-dashboard:listening'
/** The primary tells a worker to drain and close, as SIGTERM would. */
export const WORKER_SHUTDOWN = 'connectors-dashboard:shutdown'

/** A worker that dies this soon after it started counts as failing to start: the next waits longer. */
const QUICK_DEATH_MS = 10_000
const MAX_RESTART_DELAY_MS = 30_000

/** What the single process says once it listens (the demo sign-in...), said once for the whole cluster. */
export type Announce = (log: pino.Logger, url: string, accounts: Accounts | undefined) => void

export async function runPrimary(config: Config, loggerOptions: LoggerOptions, announce: Announce): Promise<void> {
  const log = pino(loggerOptions)
  // Migrate, publish the catalogue and create the demo company once, before any worker serves.
  let accounts: Accounts | undefined
  const database = await openDatabase(config.databaseUrl, config.dataDir, {
    max: 1,
    onMigrated: async (db) => {
      accounts = await prepareDatabase(db, { production: config.production })
    },
  })
  await database.close()

  let shuttingDown = false
  let announced = false
  let quickDeaths = 0
  const startedAt = new Map<Worker, number>()
  const listening = new Set<Worker>()

  // PORT=0 (any free port): chosen here, so that a replacement worker shares the others' port.
  const port = config.port === 0 ? await freePort(config.host) : config.port
  const fork = () => {
    startedAt.set(cluster.fork({ PORT: String(port) }), Date.now())
  }

  cluster.on('message', (worker, message: { type?: string; url?: string }) => {
    if (message?.type !== WORKER_LISTENING) return
    listening.add(worker)
    if (!announced && listening.size === config.workers) {
      announced = true
      log.info(`${config.workers} workers serving on ${message.url}`)
      announce(log, message.url!, accounts)
    }
  })

  cluster.on('exit', (worker, code, signal) => {
    const wasListening = listening.delete(worker)
    const lived = Date.now() - (startedAt.get(worker) ?? 0)
    startedAt.delete(worker)
    if (shuttingDown) {
      if (Object.keys(cluster.workers ?? {}).length === 0) log.info('All workers closed')
      return
    }
    if (!announced && !wasListening) {
      // The first start failed (the port is taken, the database unreachable...): no use retrying in a loop.
      log.error(
        `Worker ${worker.id} (process ${worker.process.pid}) could not start (code ${code}, signal ${signal}); stopping`,
      )
      shuttingDown = true
      for (const other of Object.values(cluster.workers ?? {})) other?.kill('SIGKILL')
      process.exitCode = 1
      return
    }
    quickDeaths = lived < QUICK_DEATH_MS ? quickDeaths + 1 : 0
    const delay = quickDeaths ? Math.min(500 * 2 ** (quickDeaths - 1), MAX_RESTART_DELAY_MS) : 0
    log.error(
      `Worker ${worker.id} (process ${worker.process.pid}) stopped unexpectedly (code ${code}, signal ${signal}); starting a new one${delay ? ` in ${delay / 1000} s` : ''}`,
    )
    setTimeout(() => {
      if (!shuttingDown) fork()
    }, delay)
  })

  const shutDown = (signal: NodeJS.Signals) => {
    if (shuttingDown) return
    shuttingDown = true
    log.info(`${signal}: asking ${Object.keys(cluster.workers ?? {}).length} workers to drain and close`)
    for (const worker of Object.values(cluster.workers ?? {})) {
      // One still starting serves nothing yet: it is stopped (SIGTERM's default) rather than told.
      if (worker && listening.has(worker)) worker.send(WORKER_SHUTDOWN)
      else worker?.process.kill('SIGTERM')
    }
    // A worker that does not close in time is stopped; the workers bound their own grace first.
    setTimeout(
      () => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGKILL')
        process.exitCode = 1
      },
      config.drainSeconds * 1000 + 15_000,
    ).unref()
  }
  process.on('SIGTERM', shutDown).on('SIGINT', shutDown)

  for (let i = 0; i < config.workers; i++) fork()
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
