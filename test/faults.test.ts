// The database going away mid-use, and SIGTERM: against the real PostgreSQL server, through a
// proxy that can drop, refuse or slow its connections.
import t from 'tap'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { buildApp } from '../src/app.js'
import { openDatabase } from '../src/db/client.js'
import { publishCatalogue } from '../src/marketplace/publishing.js'
import { readCatalogue } from '../src/marketplace/manifest.js'
import { createCompany, createUser } from '../src/domain/users.js'
import { createFlow, getFlow } from '../src/domain/flows.js'
import type { LightMyRequestResponse } from 'fastify'
import { Client, PASSWORD, testConfig, textOf } from './helpers.js'
import { DatabaseProxy } from './proxy.js'

const serverUrl = process.env.DATABASE_URL
if (!serverUrl) {
  if (process.env.CI) t.fail('DATABASE_URL must be set in CI: these tests need the PostgreSQL server')
  else t.test('database faults', { skip: 'needs a PostgreSQL server (DATABASE_URL)' }, () => {})
} else {
  const { default: postgres } = await import('postgres')
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  const name = `faults_${Date.now()}_${randomBytes(3).toString('hex')}`
  await admin.unsafe(`create database "${name}"`)
  const direct = new URL(serverUrl)
  direct.pathname = `/${name}`
  const proxy = new DatabaseProxy({ host: direct.hostname, port: Number(direct.port || 5432) })
  await proxy.start()
  t.teardown(async () => {
    await proxy.stop()
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })

  const database = await openDatabase(proxy.url(direct.toString()), '', { max: 4 })
  t.teardown(() => database.close())
  await publishCatalogue(database.db, await readCatalogue())
  const company = await createCompany(database.db, 'Faulty Ltd')
  const user = await createUser(database.db, {
    companyId: company.id,
    email: 'admin@faulty.test',
    name: 'Fay',
    role: 'administrator',
    password: PASSWORD,
  })

  t.test('the database going away answers a clear 503, and the app recovers by itself', async (t) => {
    const app = await buildApp({ config: testConfig(), database })
    t.teardown(() => app.close())
    const client = new Client(app)
    await client.signIn(user.email)
    t.equal((await client.get('/connectors')).statusCode, 200)

    await proxy.stop()
    const down = await client.get('/connectors')
    t.equal(down.statusCode, 503)
    t.match(textOf(down.body), 'The database cannot be reached right now. Please try again in a moment.')
    const downPost = await client.post('/process-flows', { name: 'While down' })
    t.equal(downPost.statusCode, 503, 'a form sent meanwhile gets the same page')

    await proxy.start()
    let back = await client.get('/connectors')
    for (let tries = 0; back.statusCode !== 200 && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      back = await client.get('/connectors')
    }
    t.equal(back.statusCode, 200, 'back without a restart')
    t.match(textOf(back.body), 'Manage connectors')
  })

  t.test(
    'a database that stops answering (frozen, or the network broken): every request gets the 503 page within 5 seconds',
    async (t) => {
      const app = await buildApp({ config: testConfig(), database })
      t.teardown(() => app.close())
      const clients = await Promise.all(
        [0, 1, 2].map(async () => {
          const client = new Client(app)
          await client.signIn(user.email)
          return client
        }),
      )
      const requests = (wave: number) =>
        clients.flatMap((client, i) => [
          () => client.get('/connectors'),
          () => client.get('/connectors?q=o', { 'HX-Request': 'true', 'HX-Request-Type': 'partial' }),
          () => client.post('/process-flows', { name: `While silent ${wave}-${i}` }),
        ])
      async function timed(send: () => Promise<LightMyRequestResponse>) {
        const started = performance.now()
        const response = await send()
        return { response, ms: performance.now() - started }
      }

      proxy.silent = true
      t.teardown(() => {
        proxy.silent = false
      })
      for (const wave of [1, 2]) {
        const answers = await Promise.all(requests(wave).map(timed))
        t.same(
          answers.map((a) => a.response.statusCode),
          answers.map(() => 503),
          `wave ${wave}: every request answered 503`,
        )
        const slowest = Math.max(...answers.map((a) => a.ms))
        t.ok(slowest <= 5_000, `wave ${wave}: every answer within 5 s (slowest ${Math.round(slowest)} ms)`)
        t.ok(
          answers.every(
            (a) =>
              String(a.response.headers['content-type']).startsWith('text/html') &&
              /database cannot be reached/.test(textOf(a.response.body)),
          ),
          `wave ${wave}: each is the HTML page saying the database cannot be reached`,
        )
      }

      proxy.silent = false
      let back = await clients[0]!.get('/connectors')
      for (let tries = 0; back.statusCode !== 200 && tries < 50; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        back = await clients[0]!.get('/connectors')
      }
      t.equal(back.statusCode, 200, 'back by itself once the database answers again')
    },
  )

  t.test(
    "a change that waits on a row locked elsewhere is stopped by the server's statement timeout: a 503 within 5 seconds, nothing changed",
    async (t) => {
      const app = await buildApp({ config: testConfig(), database })
      t.teardown(() => app.close())
      const client = new Client(app)
      await client.signIn(user.email)
      const flow = await createFlow(database.db, user, { name: 'Locked flow' })
      await client.get(`/process-flows/${flow.id}`)

      const holder = postgres(direct.toString(), { max: 1, onnotice: () => {} })
      t.teardown(() => holder.end())
      let release!: () => void
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      let locked!: () => void
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve
      })
      const holding = holder.begin(async (tx) => {
        await tx`select id from process_flows where id = ${flow.id} for update`
        locked()
        await released
      })
      await isLocked

      const started = performance.now()
      const rename = await client.post(`/process-flows/${flow.id}`, { name: 'Renamed meanwhile', lockVersion: '1' })
      const ms = performance.now() - started
      release()
      await holding
      t.equal(rename.statusCode, 503)
      t.ok(ms <= 5_000, `answered within 5 s (${Math.round(ms)} ms)`)
      t.match(textOf(rename.body), /database cannot be reached/)
      t.equal((await getFlow(database.db, user, flow.id)).name, 'Locked flow', 'nothing changed')
    },
  )

  t.test('SIGTERM lets in-flight requests finish, then closes the pool', async (t) => {
    const root = path.join(import.meta.dirname, '..')
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      DATABASE_URL: proxy.url(direct.toString()),
      PORT: '0',
      LOG_FORMAT: 'json',
      DATA_DIR: path.join(root, 'data', 'faults-test'),
    }
    for (const key of Object.keys(env)) if (key === 'NODE_OPTIONS' || key.startsWith('TAP')) delete env[key]
    const server = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    t.teardown(() => {
      server.kill('SIGKILL')
    })
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)))
    let output = ''
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000)
      server.stdout.on('data', (chunk) => {
        output += chunk
        const match = /listening on (http:\/\/\S+)/.exec(output)
        if (match) {
          clearTimeout(timer)
          resolve(match[1]!)
        }
      })
      server.stderr.on('data', (chunk) => {
        output += chunk
      })
    })
    proxy.delay = 400
    const inFlight = Promise.all(
      [1, 2, 3].map(() =>
        fetch(`${url}/connectors`, { redirect: 'manual' }).then(async (r) => {
          await r.text()
          return r.status
        }),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, 100))
    server.kill('SIGTERM')
    t.same(await inFlight, [303, 303, 303], 'requests already in flight got their answers')
    t.equal(await exited, 0, 'the process exits cleanly')
    proxy.delay = 0
    const [left] =
      await admin`select count(*)::int as n from pg_stat_activity where datname = ${name} and application_name <> 'psql'`
    t.ok((left as { n: number }).n <= 4, "the server closed its pool (only this test's connections remain)")
  })
}
