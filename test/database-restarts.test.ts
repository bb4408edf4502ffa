// The PostgreSQL server stopped (as a crash, `-m immediate`, and cleanly) and started again, over and
// over, while signed-in users read pages and create process flows: the app's process stays up,
// answers every request within 5 s with the page or a 503 "database unavailable" page, serves
// normally within 3 s of the server's return, and every process flow it answered 303 for is stored.
// The server is a cluster of this test's own (created on a free port and dropped at the end).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Cluster, postgresBinaries } from './cluster.js'
import { BrowserSession, startServer } from './server-process.js'
import { textOf } from './helpers.js'

const RESTARTS = Number(process.env.RESTARTS ?? 10)
const SESSIONS = 4
/** The longest any request may wait for its answer, the database up or down. */
const ANSWER_WITHIN = 5_000
/** How soon after the server is back the app must serve pages again. */
const BACK_WITHIN = 3_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Answer {
  what: string
  status: number
  ms: number
  body: string
  contentType: string
}

const bin = postgresBinaries()
if (!bin) {
  if (process.env.CI)
    t.fail('CI needs the PostgreSQL server binaries (initdb, pg_ctl) for this test: install postgresql or set PG_BIN')
  else
    t.test(
      'database restarts under load',
      { skip: 'needs initdb and pg_ctl (install postgresql or set PG_BIN)' },
      () => {},
    )
} else {
  t.test('the database server stopping and starting under load', async (t) => {
    const cluster = await Cluster.create(bin)
    t.teardown(() => cluster.drop())
    await cluster.start()
    const dataDir = await mkdtemp(path.join(tmpdir(), 'restarts-'))
    t.teardown(() => rm(dataDir, { recursive: true, force: true }))
    const server = await startServer({ DATABASE_URL: cluster.url, DATA_DIR: dataDir })
    t.teardown(() => {
      server.child.kill('SIGKILL')
    })
    t.ok(server.demo, 'the demo company was created on the new server')

    const sessions = await Promise.all(
      Array.from({ length: SESSIONS }, async () => {
        const session = new BrowserSession(server.url)
        await session.signIn(server.demo!.email, server.demo!.password)
        await session.request('GET', '/process-flows')
        return session
      }),
    )

    const answers: Answer[] = []
    const acknowledged: string[] = []
    const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
    let loading = true

    async function ask(
      session: BrowserSession,
      what: string,
      method: 'GET' | 'POST',
      url: string,
      options: Parameters<BrowserSession['request']>[2] = {},
    ) {
      const started = performance.now()
      try {
        const response = await session.request(method, url, { ...options, timeout: 15_000 })
        answers.push({
          what,
          status: response.status,
          ms: performance.now() - started,
          body: response.body,
          contentType: response.headers.get('content-type') ?? '',
        })
        if (response.status === 503) await sleep(50) // as a user would, a moment before trying again
        return response.status
      } catch (error) {
        answers.push({ what, status: 0, ms: performance.now() - started, body: String(error), contentType: '' })
        await sleep(100)
        return 0
      }
    }

    const load = sessions.map(async (session, s) => {
      for (let n = 0; loading; n++) {
        await ask(session, 'page', 'GET', '/process-flows')
        await ask(session, 'htmx fragment', 'GET', '/connectors?q=o', {
          headers: { 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
        })
        const name = `Load ${run} ${s}-${n}`
        if ((await ask(session, 'create process flow', 'POST', '/process-flows', { form: { name } })) === 303)
          acknowledged.push(name)
      }
    })

    const probe = sessions[0]!
    const backAfter: number[] = []
    for (let i = 0; i < RESTARTS && !server.dead(); i++) {
      await sleep(500)
      await cluster.stop(i % 3 === 2 ? 'fast' : 'immediate')
      await sleep(1_000)
      await cluster.start()
      const back = performance.now()
      while (!server.dead() && performance.now() - back < 10_000) {
        const { status } = await probe
          .request('GET', '/process-flows', { timeout: 10_000 })
          .catch(() => ({ status: 0 }))
        if (status === 200) break
        await sleep(50)
      }
      backAfter.push(performance.now() - back)
    }
    await sleep(600)
    loading = false
    await Promise.all(load)

    const crash = /^.*closing after an error.*$/m.exec(server.output())?.[0] ?? server.output().slice(-2000)
    t.notOk(
      server.dead(),
      `the process stays up${server.dead() ? `; it exited (${await server.exited}):\n${crash.slice(0, 3000)}` : ''}`,
    )
    t.equal(backAfter.length, RESTARTS, `${RESTARTS} stops and starts`)
    const slowestReturn = Math.max(...backAfter)
    t.ok(
      slowestReturn <= BACK_WITHIN,
      `pages served again within ${BACK_WITHIN} ms of each return (slowest ${Math.round(slowestReturn)} ms)`,
    )

    const byStatus: Record<string, Answer[]> = {}
    for (const answer of answers) (byStatus[String(answer.status)] ??= []).push(answer)
    t.same(
      Object.keys(byStatus).filter((s) => !['200', '303', '503'].includes(s)),
      [],
      `only 200, 303 and 503 answers (${Object.entries(byStatus)
        .map(([s, list]) => `${s}: ${list!.length}`)
        .join(', ')})${answers
        .filter((a) => ![200, 303, 503].includes(a.status))
        .slice(0, 3)
        .map((a) => `\n${a.what} ${a.status}: ${textOf(a.body).slice(0, 300)}`)
        .join('')}`,
    )
    t.ok((byStatus['503']?.length ?? 0) > 0, 'the outages were seen (some requests answered 503)')
    t.ok(
      (byStatus['303']?.length ?? 0) > 0 && (byStatus['200']?.length ?? 0) > 0,
      'pages and writes succeeded between the outages',
    )
    const slowest = answers.reduce((a, b) => (b.ms > a.ms ? b : a))
    t.ok(
      slowest.ms <= ANSWER_WITHIN,
      `every request answered within ${ANSWER_WITHIN} ms (slowest: ${slowest.what}, ${slowest.status}, ${Math.round(slowest.ms)} ms)`,
    )

    const unavailable = answers.filter((a) => a.status === 503)
    const notHtml = unavailable.filter((a) => !a.contentType.startsWith('text/html'))
    t.same(
      notHtml.map((a) => a.contentType),
      [],
      'every 503 is an HTML page',
    )
    const unexplained = unavailable.filter(
      (a) => !/database cannot be reached/i.test(textOf(a.body)) || !/try again/i.test(textOf(a.body)),
    )
    t.same(
      unexplained.map((a) => `${a.what}: ${textOf(a.body).slice(0, 200)}`),
      [],
      'every 503 says the database cannot be reached and to try again',
    )
    const fragments = unavailable.filter((a) => a.what === 'htmx fragment')
    t.ok(
      fragments.length > 0 && fragments.every((a) => !a.body.includes('<html') && a.body.includes('role="alert"')),
      'an htmx request gets the message alone, to swap in where its answer goes',
    )

    const { default: postgres } = await import('postgres')
    const sql = postgres(cluster.url, { max: 1, onnotice: () => {} })
    t.teardown(() => sql.end())
    const stored = new Set(
      (await sql<{ name: string }[]>`select name from process_flows where name like ${`Load ${run} %`}`).map(
        (r) => r.name,
      ),
    )
    t.ok(acknowledged.length > 20, `many process flows created (${acknowledged.length})`)
    t.same(
      acknowledged.filter((name) => !stored.has(name)),
      [],
      'every process flow answered 303 is in the database',
    )
  })
}
