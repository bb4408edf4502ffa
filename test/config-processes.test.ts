// The settings of many processes: WORKERS, DATABASE_POOL_SIZE, DRAIN_SECONDS.
import t from 'tap'
import { availableParallelism } from 'node:os'
import { ConfigError, readConfig } from '../src/config.js'
import { spawnScript } from './server-process.js'

const base = { SESSION_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') }
const server = { ...base, DATABASE_URL: 'postgres://app@db.internal/app' }

t.test('WORKERS is 1 by default, a number, or auto (one per core)', async (t) => {
  t.equal(readConfig(base).workers, 1)
  t.equal(readConfig({ ...server, WORKERS: '3' }).workers, 3)
  t.equal(readConfig({ ...server, WORKERS: 'auto' }).workers, availableParallelism())
  for (const bad of ['0', '-1', 'two', '1.5', '1000']) {
    t.throws(
      () => readConfig({ ...server, WORKERS: bad }),
      new ConfigError(`WORKERS must be a number of processes (1 to 256) or "auto" (one per core), not "${bad}".`),
    )
  }
})

t.test('WORKERS above 1 on the embedded database is refused', async (t) => {
  t.equal(readConfig({ ...base, WORKERS: '1' }).workers, 1, 'one process is fine')
  t.throws(() => readConfig({ ...base, WORKERS: '2' }), {
    message: /^WORKERS=2 needs a PostgreSQL server \(DATABASE_URL\): the embedded database serves one process only/,
  })
})

t.test('pool size and drain time', async (t) => {
  t.equal(readConfig(server).poolSize, 10)
  t.equal(readConfig({ ...server, DATABASE_POOL_SIZE: '4' }).poolSize, 4)
  t.throws(() => readConfig({ ...server, DATABASE_POOL_SIZE: '0' }), {
    message: 'DATABASE_POOL_SIZE must be a whole number from 1 to 1000, not "0".',
  })
  t.equal(readConfig(server).drainSeconds, 0)
  t.equal(readConfig({ ...server, DRAIN_SECONDS: '15' }).drainSeconds, 15)
  t.throws(() => readConfig({ ...server, DRAIN_SECONDS: 'soon' }), ConfigError)
})

t.test('npm start with WORKERS=2 and no DATABASE_URL exits with a clear message', async (t) => {
  const started = spawnScript('src/server.ts', [], { ...base, WORKERS: '2' })
  t.equal(await started.exited, 'code 78 signal null')
  t.match(
    started.output(),
    'Configuration error: WORKERS=2 needs a PostgreSQL server (DATABASE_URL): the embedded database serves one process only. Unset WORKERS, or set DATABASE_URL (see README, "Running in production").',
  )
})
