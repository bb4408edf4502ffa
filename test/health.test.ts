// /healthz and /readyz: what a load balancer or orchestrator asks, and the drain on SIGTERM.
import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'drizzle-orm'
import { knownMigrations } from '../src/db/client.js'
import { Client, PASSWORD, setup } from './helpers.js'
import { startServer } from './server-process.js'

t.test('health checks over app.inject', async (t) => {
  const lines: string[] = []
  let queries = 0
  const ctx = await setup(t, {
    logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } },
    onQuery: () => {
      queries++
    },
  })
  const signedIn = new Client(ctx.app)
  await signedIn.signIn(ctx.company.users.administrator.email, PASSWORD)

  t.test('/healthz answers 200 without signing in and without a database call', async (t) => {
    queries = 0
    const anonymous = await ctx.app.inject({ method: 'GET', url: '/healthz' })
    t.equal(anonymous.statusCode, 200)
    t.equal(anonymous.body, 'ok', 'says nothing else')
    t.equal(anonymous.headers['cache-control'], 'no-store')
    t.notOk(anonymous.headers['set-cookie'], 'sets no cookie')
    const withSession = await signedIn.get('/healthz')
    t.equal(withSession.statusCode, 200)
    t.equal(queries, 0, 'not even to read the session a cookie names')
  })

  t.test('/readyz answers 200 when the database is reachable and migrated', async (t) => {
    const ready = await ctx.app.inject({ method: 'GET', url: '/readyz' })
    t.equal(ready.statusCode, 200)
    t.equal(ready.body, 'ok')
    t.notOk(ready.headers['set-cookie'])
  })

  t.test('/readyz answers 503 on a database newer than the code, saying nothing about why', async (t) => {
    const newer = Math.max(...knownMigrations()) + 60_000
    await ctx.db.execute(
      sql.raw(`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-version', ${newer})`),
    )
    t.teardown(() => ctx.db.execute(sql.raw(`delete from drizzle.__drizzle_migrations where created_at = ${newer}`)))
    const notReady = await ctx.app.inject({ method: 'GET', url: '/readyz' })
    t.equal(notReady.statusCode, 503)
    t.equal(notReady.body, 'unavailable')
    t.ok(
      lines.some((line) => line.includes('Not ready: /readyz answers 503 (the database is newer than this code)')),
      'the operator is told once, in the log',
    )
  })

  t.test('neither is rate-limited', async (t) => {
    const answers = await Promise.all(
      Array.from({ length: 150 }, (_, i) => ctx.app.inject({ method: 'GET', url: i % 2 ? '/healthz' : '/readyz' })),
    )
    t.same(new Set(answers.map((a) => a.statusCode)), new Set([200]))
  })

  t.test('neither is logged at info', async (t) => {
    const before = lines.length
    await ctx.app.inject({ method: 'GET', url: '/healthz' })
    await ctx.app.inject({ method: 'GET', url: '/readyz' })
    await ctx.app.inject({ method: 'GET', url: '/login' })
    const logged = lines.slice(before).join('')
    t.notMatch(logged, /healthz|readyz/)
    t.match(logged, '"url":"/login"', 'other requests are')
  })

  t.test('/readyz turns 503 once the app drains; /healthz stays 200', async (t) => {
    ctx.app.drain()
    t.equal((await ctx.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503)
    t.equal((await ctx.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
    t.equal(
      (await signedIn.get('/connectors')).statusCode,
      200,
      'requests are still served while the load balancer notices',
    )
  })
})

/** Reads one HTTP response's status from a raw connection. */
function statusOf(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    socket.on('data', (chunk) => {
      data += chunk
      const line = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (line) resolve(line[1]!)
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error(`closed without an answer: ${JSON.stringify(data)}`)))
  })
}

t.test('on SIGTERM /readyz turns 503 first, a request in flight finishes, then the database closes', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'connectors-drain-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const server = await startServer({ DATA_DIR: dataDir, DRAIN_SECONDS: '2' })
  t.teardown(() => {
    server.child.kill('SIGKILL')
  })
  t.equal((await fetch(`${server.url}/readyz`)).status, 200)

  // A request in flight: its body arrives in two parts, the second after the drain is over.
  const { port } = new URL(server.url)
  const socket = net.connect(Number(port), '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  const body = 'email=a%40b.test&password=wrong'
  socket.write(
    `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  )
  const answered = statusOf(socket)

  server.child.kill('SIGTERM')
  let readyz = 200
  for (let i = 0; i < 20 && readyz === 200; i++) {
    readyz = (await fetch(`${server.url}/readyz`)).status
    if (readyz === 200) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(readyz, 503, '/readyz answers 503 at once')
  t.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the process is still up and serving while draining')
  t.equal((await fetch(`${server.url}/login`)).status, 200, 'other requests are still served while draining')
  t.notOk(server.dead(), 'it has not closed yet')

  await new Promise((resolve) => setTimeout(resolve, 2500))
  socket.write(body.slice(10))
  t.match(await answered, /^[2-4]\d\d$/, 'the request in flight gets its answer after the listener closed')
  socket.end()
  t.equal(await server.exited, 'code 0 signal null', 'then it exits cleanly')
  t.match(server.output(), 'Draining: /readyz answers 503; closing in 2 s')
  t.notOk(existsSync(path.join(dataDir, 'pglite.lock')), 'and the database was closed')
})
