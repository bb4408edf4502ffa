// Proof that the app is N identical, stateless processes on one PostgreSQL: two workers of one
// cluster (WORKERS=2) and one separate process, started together on one fresh database. Every
// request goes to the next process in turn, on a new connection (so the cluster's primary hands
// them to its workers in turn too): whatever one process did, the others know.
import t from 'tap'
import http from 'node:http'
import postgres from 'postgres'
import { SIGN_IN_LIMITS } from '../src/domain/sign-in-limits.js'
import { createUser } from '../src/domain/users.js'
import { openDatabase } from '../src/db/client.js'
import { emptyDatabase, serverUrl } from './databases.js'
import { startServer, waitForOutput, type StartedServer } from './server-process.js'

interface Answer {
  status: number
  body: string
  location: string | undefined
}

/** A user's browser whose every request goes to the next of `targets`, on a connection of its own. */
class RoundRobinBrowser {
  private cookies = new Map<string, string>()
  private next = 0
  csrfToken = ''

  constructor(readonly targets: string[]) {}

  request(method: 'GET' | 'POST', path: string, form?: Record<string, string>, target?: string): Promise<Answer> {
    const base = new URL(target ?? this.targets[this.next++ % this.targets.length]!)
    const body = form ? new URLSearchParams({ _csrf: this.csrfToken, ...form }).toString() : undefined
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
    if (body)
      Object.assign(headers, {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(Buffer.byteLength(body)),
      })
    return new Promise((resolve, reject) => {
      const request = http.request(
        { host: base.hostname, port: base.port, method, path, headers, agent: false },
        (response) => {
          let text = ''
          response
            .setEncoding('utf8')
            .on('data', (chunk) => {
              text += chunk
            })
            .on('end', () => {
              for (const cookie of response.headers['set-cookie'] ?? []) {
                const [pair] = cookie.split(';')
                const at = pair!.indexOf('=')
                const value = pair!.slice(at + 1)
                if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(cookie))
                  this.cookies.delete(pair!.slice(0, at))
                else this.cookies.set(pair!.slice(0, at), value)
              }
              const token = /name="_csrf" value="([^"]+)"/.exec(text)
              if (token) this.csrfToken = token[1]!
              resolve({ status: response.statusCode!, body: text, location: response.headers.location })
            })
        },
      )
      request.on('error', reject)
      request.end(body)
    })
  }

  get(path: string, target?: string) {
    return this.request('GET', path, undefined, target)
  }
  post(path: string, form: Record<string, string>, target?: string) {
    return this.request('POST', path, form, target)
  }

  async signIn(email: string, password: string): Promise<Answer> {
    await this.get('/login')
    return this.post('/login', { email, password })
  }
}

/** The form of `action` in `html`: its hidden fields. */
function hiddenFields(html: string, action: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*action="${action.replace(/[?]/g, '\\?')}"[^>]*>([\\s\\S]*?)</form>`).exec(html)
  if (!form) throw new Error(`no form posting to ${action}`)
  return Object.fromEntries(
    [...form[1]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [
      m[1]!,
      m[2]!.replace(/&amp;/g, '&'),
    ]),
  )
}

/** The process ids that logged a request they served. */
function servingPids(server: StartedServer): Set<number> {
  return new Set([...server.output().matchAll(/"pid":(\d+)[^\n]*"msg":"request completed"/g)].map((m) => Number(m[1])))
}

t.test('three processes on one database behave as one', { skip: !serverUrl && 'needs DATABASE_URL' }, async (t) => {
  const url = await emptyDatabase(t)
  const env = {
    DATABASE_URL: url,
    SESSION_SECRET: 'one-secret-shared-by-every-process-0123456789',
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    DATABASE_POOL_SIZE: '3',
  }
  // Started at the same moment: they migrate and create the demo company once, one after the other.
  const [cluster, single] = await Promise.all([startServer({ ...env, WORKERS: '2' }), startServer(env)])
  t.teardown(() => {
    cluster.child.kill('SIGKILL')
    single.child.kill('SIGKILL')
  })
  await waitForOutput(cluster, /2 workers serving on/)
  const demoLine = /Sign in at \S+\/login with email (\S+) and password (\S+?)"/
  const demos = [cluster, single].map((s) => demoLine.exec(s.output())).filter(Boolean)
  t.equal(demos.length, 1, 'one process created the demo company')
  const [, email, password] = demos[0]!
  const check = postgres(url, { max: 1, onnotice: () => {} })
  t.teardown(() => check.end())
  t.equal((await check`select count(*)::int as n from companies`)[0]!.n, 1, 'one company')
  t.equal(
    (await check`select count(*)::int as n from drizzle.__drizzle_migrations`)[0]!.n,
    (await check`select count(distinct created_at)::int as n from drizzle.__drizzle_migrations`)[0]!.n,
    'each migration applied once',
  )

  const browser = new RoundRobinBrowser([cluster.url, single.url])

  t.test('signed in on one, the others know the session', async (t) => {
    const signedIn = await browser.signIn(email!, password!)
    t.equal(signedIn.status, 303, 'the sign-in form from one process is accepted by the other')
    for (let i = 0; i < 6; i++) {
      const page = await browser.get('/connectors')
      t.equal(page.status, 200, `request ${i}`)
      t.match(page.body, 'Manage connectors')
    }
  })

  t.test('a form rendered by one process is submitted to another; its flash shows on a third', async (t) => {
    const marketplace = await browser.get('/marketplace', cluster.url)
    const action = /action="(\/marketplace\/[^"]+\/install)"/.exec(marketplace.body)![1]!
    const installed = await browser.post(action, hiddenFields(marketplace.body, action), single.url)
    t.equal(installed.status, 303)
    const page = await browser.get(installed.location!.replace(/#.*/, ''), cluster.url)
    t.match(page.body, /is installed/, 'the message set by one process is shown by another')
  })

  t.test('a double submit to two processes at once does the work once', async (t) => {
    for (let round = 0; round < 3; round++) {
      const marketplace = await browser.get('/marketplace')
      const action = [...marketplace.body.matchAll(/action="(\/marketplace\/[^"]+\/install)"/g)][round + 1]![1]!
      const form = hiddenFields(marketplace.body, action)
      const [before] = await check`select count(*)::int as n from connectors`
      const [a, b] = await Promise.all([
        browser.post(action, form, cluster.url),
        browser.post(action, form, single.url),
      ])
      t.same([a.status, b.status], [303, 303], `round ${round}: both answered`)
      t.equal(b.location, a.location, `round ${round}: with the same answer`)
      const [after] = await check`select count(*)::int as n from connectors`
      t.equal(after!.n, before!.n + 1, `round ${round}: one connector more, no duplicate`)
    }
  })

  t.test('a removal sent to two processes at once removes once; no orphans', async (t) => {
    for (let round = 0; round < 3; round++) {
      const [connector] =
        await check`select c.id from connectors c where not exists (select 1 from instances i where i.connector_id = c.id) order by c.created_at desc limit 1`
      const path = `/connectors/${connector!.id}/delete`
      const prompt = await browser.get(path)
      t.equal(prompt.status, 200)
      const form = { ...hiddenFields(prompt.body, path), confirm: 'confirm' }
      const [a, b] = await Promise.all([browser.post(path, form, cluster.url), browser.post(path, form, single.url)])
      t.same([a.status, b.status], [303, 303], `round ${round}: both answered like the first, never "not found"`)
      const events =
        await check`select count(*)::int as n from audit_events where subject_id = ${connector!.id} and action = 'remove'`
      t.equal(events[0]!.n, 1, `round ${round}: removed once`)
    }
    const orphans =
      await check`select count(*)::int as n from instances i left join connectors c on c.id = i.connector_id where c.id is null`
    t.equal(orphans[0]!.n, 0, 'no instance without its connector')
  })

  t.test(
    'a removal and a new instance of the same connector on two processes at once: one wins, never an orphan',
    async (t) => {
      const results: string[] = []
      for (let round = 0; round < 3; round++) {
        const marketplace = await browser.get('/marketplace?q=Xero')
        const action = /action="(\/marketplace\/[^"]+\/install)"/.exec(marketplace.body)![1]!
        const installed = await browser.post(action, hiddenFields(marketplace.body, action))
        const id = /#connector-([0-9a-f-]+)/.exec(installed.location!)![1]!
        const [row] = await check`select definition from connectors where id = ${id}`
        const definition = row!.definition as {
          authMethods: { key: string; fields: { key: string }[] }[]
          variables: { key: string }[]
        }
        const method = definition.authMethods[0]!
        const removal = `/connectors/${id}/delete`
        const wizard = `/connectors/${id}/instances/new`
        const prompt = await browser.get(removal)
        const removalForm = { ...hiddenFields(prompt.body, removal), confirm: 'confirm' }
        const opened = await browser.get(wizard)
        const instanceForm = {
          submission: /name="submission" value="([^"]+)"/.exec(opened.body)![1]!,
          step: 'credentials',
          action: 'save',
          name: `Racer ${round}`,
          timeZone: 'UTC',
          dateFormat: 'Y-m-d',
          rateLimitAmount: '5',
          rateLimitUnit: 'minute',
          authMethod: method.key,
          ...Object.fromEntries([
            ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
            ...definition.variables.map((v) => [`var.${v.key}`, 'x']),
          ]),
        }
        const [removed, added] = await Promise.all([
          browser.post(removal, removalForm, cluster.url),
          browser.post(wizard, instanceForm, single.url),
        ])
        t.ok(
          (removed.status === 303) !== (added.status === 303),
          `round ${round}: one winner (removal ${removed.status}, new instance ${added.status})`,
        )
        results.push(removed.status === 303 ? 'removed' : 'instance added')
      }
      const orphans =
        await check`select count(*)::int as n from instances i left join connectors c on c.id = i.connector_id where c.id is null`
      t.equal(orphans[0]!.n, 0, `no instance without its connector (${results.join(', ')})`)
    },
  )

  t.test('wrong passwords spread across processes lock the account after the same count as on one', async (t) => {
    const limit = SIGN_IN_LIMITS['account and address'].max
    const database = await openDatabase(url, '', { max: 1 })
    t.teardown(() => database.close())
    const [company] = await check`select id from companies`
    const password = 'a long enough password for both'
    for (const who of ['almost', 'locked']) {
      await createUser(database.db, {
        companyId: company!.id as string,
        role: 'user',
        name: who,
        email: `${who}@demo.example`,
        password,
      })
    }
    const almost = new RoundRobinBrowser([cluster.url, single.url])
    for (let i = 0; i < limit - 1; i++)
      t.equal((await almost.signIn('almost@demo.example', 'wrong guess')).status, 422, `almost: wrong ${i + 1}`)
    t.equal(
      (await almost.signIn('almost@demo.example', password)).status,
      303,
      `${limit - 1} failures: the right password still signs in`,
    )
    const guesser = new RoundRobinBrowser([cluster.url, single.url])
    for (let i = 0; i < limit; i++)
      t.equal((await guesser.signIn('locked@demo.example', 'wrong guess')).status, 422, `locked: wrong ${i + 1}`)
    t.equal(
      (await guesser.signIn('locked@demo.example', password)).status,
      429,
      `${limit} failures on any processes: refused, even the right password`,
    )
    t.equal((await guesser.signIn('locked@demo.example', password)).status, 429, 'on the next process too')
  })

  t.test('every process served', async (t) => {
    t.equal(servingPids(cluster).size, 2, 'both workers of the cluster')
    t.equal(servingPids(single).size, 1, 'and the separate process')
  })

  t.test('a worker that dies is replaced, with a log line', async (t) => {
    const [, pid] = /worker 1, process (\d+)\)/.exec(cluster.output())!
    process.kill(Number(pid), 'SIGKILL')
    await waitForOutput(
      cluster,
      new RegExp(
        `Worker 1 \\(process ${pid}\\) stopped unexpectedly \\(code null, signal SIGKILL\\); starting a new one`,
      ),
      10_000,
    )
    await waitForOutput(
      cluster,
      new RegExp(`listening on ${cluster.url.replace(/[.]/g, '\\.')} \\(database: PostgreSQL server, worker 3,`),
      20_000,
    )
    for (let i = 0; i < 4; i++)
      t.equal((await browser.get('/connectors', cluster.url)).status, 200, 'the cluster still serves')
  })

  t.test('SIGTERM stops the cluster cleanly', async (t) => {
    cluster.child.kill('SIGTERM')
    t.equal(await cluster.exited, 'code 0 signal null')
    t.match(cluster.output(), 'SIGTERM: asking 2 workers to drain and close')
    t.equal((await browser.get('/connectors', single.url)).status, 200, 'the other process serves on')
  })
})

t.test(
  'a cluster refuses a database migrated by a newer version',
  { skip: !serverUrl && 'needs DATABASE_URL' },
  async (t) => {
    const url = await emptyDatabase(t)
    const database = await openDatabase(url, '', { max: 1 })
    await database.close()
    const check = postgres(url, { max: 1, onnotice: () => {} })
    t.teardown(() => check.end())
    await check`insert into drizzle.__drizzle_migrations (hash, created_at) select 'from-a-newer-version', max(created_at) + 60000 from drizzle.__drizzle_migrations`
    const { spawnScript } = await import('./server-process.js')
    const refused = spawnScript('src/server.ts', [], { DATABASE_URL: url, WORKERS: '2' })
    t.equal(await refused.exited, 'code 65 signal null', 'exits non-zero before any worker starts')
    t.match(refused.output(), /Not started: The database has 1 migration this version of the dashboard does not know/)
    t.notMatch(refused.output(), /listening/)
  },
)
