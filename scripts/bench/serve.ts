// A server process of the benchmark, started by scripts/bench.ts and driven over IPC:
//   serve.ts app DATABASE_URL   the app as in production
//     … no-page-cache            the same, making every page at every request (no plugins/page-cache.ts)
//     … counting                 counting the SQL statements it sends and capturing them when asked: through
//                                postgres.js's debug hook, which costs every query a stack trace (`new
//                                Error()`), so a server measured under load does not count
//   serve.ts reference          a bare Fastify route sending, from memory, bytes it is given
// Each runs in its own process so that neither shares an event loop with the load generator.
import Fastify, { type FastifyInstance } from 'fastify'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildApp, REDACTED_PATHS } from '../../src/app.js'
import type { Config } from '../../src/config.js'
import { openDatabase } from '../../src/db/client.js'
import { BENCH_ENCRYPTION_KEY, BENCH_SESSION_SECRET } from './keys.js'

export type Request =
  | { id: number; type: 'statements' }
  | { id: number; type: 'capture'; on: boolean }
  | { id: number; type: 'memory' }
  | { id: number; type: 'close' }

export interface CapturedStatement {
  sql: string
  params: unknown[]
}

function benchConfig(databaseUrl: string): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    production: true,
    databaseUrl,
    dataDir: path.join(tmpdir(), 'connectors-bench'),
    sessionSecret: BENCH_SESSION_SECRET,
    encryptionKey: BENCH_ENCRYPTION_KEY,
    logLevel: 'warn',
    trustProxy: false,
    workers: 1,
    poolSize: 10,
    drainSeconds: 0,
  }
}

async function serveApp(databaseUrl: string, pageCache: boolean, counting: boolean): Promise<FastifyInstance> {
  const config = benchConfig(databaseUrl)
  let statements = 0
  let captured: CapturedStatement[] | null = null
  const onQuery = (sql: string, params: unknown[]) => {
    statements += 1
    captured?.push({ sql, params })
  }
  const database = await openDatabase(config.databaseUrl, config.dataDir, counting ? { onQuery } : {})
  const app = await buildApp({
    config,
    database,
    closeDatabase: true,
    pageCache,
    logger: { level: config.logLevel, redact: REDACTED_PATHS },
  })
  await app.listen({ port: config.port, host: config.host })
  answer((request) => {
    if (!counting) return null
    if (request.type === 'statements') return statements
    if (request.type === 'capture') {
      const result = captured
      captured = request.on ? [] : null
      return result
    }
    return undefined
  }, app)
  return app
}

/** `/` sends the page's bytes as they are; `/compressed` sends them as the app compressed them (`encoding`), already compressed. */
async function serveReference(body: Buffer, compressed: Buffer, encoding: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: 'warn' } })
  app.get('/', (_request, reply) => {
    reply.type('text/html; charset=utf-8').send(body)
  })
  app.get('/compressed', (_request, reply) => {
    reply.type('text/html; charset=utf-8').header('content-encoding', encoding).send(compressed)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  answer(() => undefined, app)
  return app
}

/** Answers the parent's requests; `memory` and `close` are common to both servers. */
function answer(handle: (request: Request) => unknown, app: FastifyInstance) {
  process.on('message', async (request: Request) => {
    if (request.type === 'close') {
      // A load that just ended may leave requests in flight; never wait on them for long.
      await Promise.race([app.close(), new Promise((resolve) => setTimeout(resolve, 5000))])
      process.send!({ id: request.id }, () => process.exit(0))
      return
    }
    const result = request.type === 'memory' ? process.memoryUsage().rss : handle(request)
    process.send!({ id: request.id, result })
  })
  // The parent exits or dies: so does this server.
  process.on('disconnect', () => process.exit(0))
  const address = app.server.address()
  process.send!({ id: 0, result: typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : null })
}

const [role, argument, ...options] = process.argv.slice(2)
if (role === 'app') await serveApp(argument!, !options.includes('no-page-cache'), options.includes('counting'))
else if (role === 'reference') {
  // The page's bytes arrive as the first message, so they need not fit in argv.
  const { body, compressed, encoding } = await new Promise<{ body: string; compressed: string; encoding: string }>(
    (resolve) => process.once('message', resolve),
  )
  await serveReference(Buffer.from(body, 'base64'), Buffer.from(compressed, 'base64'), encoding)
} else {
  process.stderr.write('usage: serve.ts app DATABASE_URL [no-page-cache] [counting] | serve.ts reference\n')
  process.exit(64)
}
