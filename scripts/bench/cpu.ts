// `npm run bench:cpu`: CPU time per request of the main pages at full scale, the number that hardly
// moves when other processes share the machine (requests/s and p99 do). For comparing one change
// with the next; `npm run bench` is the whole benchmark with the targets.
//
//   BENCH_DATABASE=bench_cpu npm run bench:cpu   seeds that database once and keeps it (faster reruns)
//   REQUESTS=3000 ROUNDS=3 npm run bench:cpu      requests per measurement, measurements per page (median kept)
//   CPU_PROFILE=dir npm run bench:cpu             also writes the server's V8 CPU profile (node --cpu-prof) into dir
//
// Each page is asked for 1,000 times to warm up, then REQUESTS times over 8 connections (a light
// load: the CPU per request is what is measured, not the throughput), ROUNDS times. The server's
// CPU comes from /proc/<pid>/stat, its PostgreSQL backends' from theirs.
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import postgres from 'postgres'
import autocannon from 'autocannon'
import { openDatabase, SERVER_SETTINGS } from '../../src/db/client.js'
import { startSession } from '../../src/domain/users.js'
import { users } from '../../src/db/schema.js'
import { eq } from 'drizzle-orm'
import { scaleOf, seed, type Seeded } from './seed.js'
import { processCpuMs } from './cpu-time.js'

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REQUESTS = Number(process.env.REQUESTS ?? 3000)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const WARMUP = 1000
const CONNECTIONS = 8
const kept = process.env.BENCH_DATABASE
const name = kept ?? `bench_cpu_${Date.now()}`

const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} })
const url = new URL(SERVER_URL)
url.pathname = `/${name}`
const databaseUrl = url.toString()

const [existing] = await admin<{ seeded: string | null }[]>`
  select shobj_description(oid, 'pg_database') as seeded from pg_database where datname = ${name}`
if (!existing) await admin.unsafe(`create database "${name}"`)
const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: SERVER_SETTINGS })
let server: ChildProcess | undefined
try {
  const database = await openDatabase(databaseUrl, '', { max: 1 }) // applies the migrations
  // A kept database remembers what was seeded in its comment.
  let seeded: Seeded['large'] | undefined = existing?.seeded ? JSON.parse(existing.seeded) : undefined
  if (!seeded) {
    seeded = (await seed(sql, scaleOf(1))).large
    if (kept) await admin.unsafe(`comment on database "${name}" is '${JSON.stringify(seeded)}'`)
  }
  const [administrator] = await database.db
    .select({ id: users.id, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.id, seeded.users.administrator))
  const session = `sid=${await startSession(database.db, administrator!)}`
  await database.close()
  server = fork(path.join(import.meta.dirname, 'serve.ts'), ['app', databaseUrl], {
    execArgv: [
      '--import=tsx',
      ...(process.env.CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROFILE}`] : []),
    ],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const base = await new Promise<string>((resolve) =>
    server!.once('message', (message: { result: string }) => resolve(message.result)),
  )
  const connectorId = seeded.connectorId
  const first = await fetch(`${base}/connectors`, { headers: { cookie: session } })
  const csrf = first.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((c) => c.startsWith('csrf='))
  const cookie = [session, ...csrf].join('; ')

  const pages = [
    ['manage connectors', '/connectors'],
    ['manage connectors, q=shop', '/connectors?q=shop'],
    ['connector settings', `/connectors/${connectorId}/settings`],
    ['marketplace, q=warehouse', '/marketplace?q=warehouse'],
  ] as const
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  process.stdout.write(
    `${REQUESTS} requests × ${ROUNDS} rounds per page, ${CONNECTIONS} connections; CPU ms per request (median round)\n`,
  )
  for (const [label, pagePath] of pages) {
    const options = { url: `${base}${pagePath}`, connections: CONNECTIONS, headers: { cookie } }
    const check = await fetch(options.url, { headers: { cookie } })
    const bytes = (await check.arrayBuffer()).byteLength
    if (check.status !== 200) throw new Error(`${pagePath} answered ${check.status}`)
    await autocannon({ ...options, amount: WARMUP })
    const app: number[] = []
    const db: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const backends = async () => {
        const rows = await sql<
          { pid: number }[]
        >`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`
        return rows.reduce((sum, row) => sum + processCpuMs(row.pid), 0)
      }
      const before = { app: processCpuMs(server.pid!), db: await backends() }
      const result = await autocannon({ ...options, amount: REQUESTS })
      if (result.non2xx || result.errors)
        throw new Error(`${pagePath}: ${result.non2xx} non-2xx, ${result.errors} errors`)
      app.push((processCpuMs(server.pid!) - before.app) / REQUESTS)
      db.push(((await backends()) - before.db) / REQUESTS)
    }
    process.stdout.write(
      `  ${label.padEnd(28)} app ${median(app).toFixed(2)} + db ${median(db).toFixed(2)} ms  (app rounds ${app.map((v) => v.toFixed(2)).join(' ')}; ${(bytes / 1024).toFixed(1)} KB)\n`,
    )
  }
} finally {
  await sql.end()
  if (server) {
    const exited = new Promise((resolve) => server!.once('exit', resolve))
    server.send({ type: 'close', id: -1 })
    await exited
  }
  if (!kept) await admin.unsafe(`drop database if exists "${name}" with (force)`)
  await admin.end()
}
