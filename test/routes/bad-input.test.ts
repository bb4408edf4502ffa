// Malformed and hostile input at every route (generated from the route table): never a 5xx,
// never a stack trace, errors as HTML pages, nothing stored when the input was refused, names
// rendered escaped, and no redirect off this site.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { connectionShapes, connectors, instances, processFlows, users } from '../../src/db/schema.js'
import { offSite, setup, signedIn } from '../helpers.js'
import { buildWorld, fillRoute } from '../world.js'

const ctx = await setup(t)
const world = await buildWorld(ctx, ctx.company)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)

const STACK_TRACE = /(\bat [\w.<>]+ \(|\.ts:\d+:\d+|node_modules\/|Error: )/
const HOSTILE = [
  'x'.repeat(20_000),
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'; drop table connectors; --",
  '%00\u0000null byte',
  '{{constructor.constructor("return 1")()}}',
  '../../../../etc/passwd',
  '😀 ünïcödé',
  '/\t/evil.example',
  '/%0d%0aSet-Cookie:%20sid=planted',
  '\\\\evil.example\r\nLocation: //evil.example',
]

async function counts() {
  const [c, i, f, s, u] = await Promise.all([connectors, instances, processFlows, connectionShapes, users].map((table) => ctx.db.select().from(table)))
  return [c!.length, i!.length, f!.length, s!.length, u!.length]
}

const writes = ctx.app.routeTable.filter((r) => r.method === 'POST' && r.url !== '/logout')
for (const route of writes) {
  t.test(`${route.method} ${route.url} survives hostile input`, async (t) => {
    const url = fillRoute(route, world)
    for (const value of HOSTILE) {
      const fields = ['name', 'email', 'password', 'confirm', 'role', 'enabled', 'direction', 'instance', 'endpoint', 'step', 'action', 'timeZone', 'rateLimitAmount', 'authMethod', 'submission', 'next', 'unknownField']
      const response = await admin.post(url, Object.fromEntries(fields.map((f) => [f, value])))
      t.ok(response.statusCode < 500, `${JSON.stringify(value.slice(0, 30))}: ${response.statusCode}`)
      if (response.statusCode >= 400) t.match(response.headers['content-type'], /^text\/html/, 'an error is an HTML page')
      t.notMatch(response.body, STACK_TRACE, 'no stack trace')
      t.notMatch(response.body, '<script>alert(1)</script>', 'rendered escaped')
      t.notMatch(response.body, '<img src=x onerror', 'rendered escaped')
    }
    // Repeated fields (arrays where one value is expected) and wrong types.
    const repeated = await admin.post(url, { name: ['a', 'b'], confirm: ['confirm', 'confirm'], enabled: ['true', 'false'] })
    t.ok(repeated.statusCode < 500, `repeated fields: ${repeated.statusCode}`)
  })
}

t.test('a huge body is refused with 413, an unknown content type with 415, invalid UTF-8 with a 4xx', async (t) => {
  const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  const before = await counts()
  const huge = await ctx.app.inject({ method: 'POST', url: '/process-flows', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${admin.csrfToken}&name=${'x'.repeat(300_000)}` })
  t.equal(huge.statusCode, 413)
  t.notMatch(huge.body, STACK_TRACE)
  t.match(huge.headers['content-type'], /^text\/html/)
  const xml = await ctx.app.inject({ method: 'POST', url: '/process-flows', headers: { cookie, 'content-type': 'application/xml' }, payload: '<flow><name>x</name></flow>' })
  t.equal(xml.statusCode, 415)
  t.match(xml.headers['content-type'], /^text\/html/)
  const utf8 = await ctx.app.inject({ method: 'POST', url: '/process-flows', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: Buffer.concat([Buffer.from(`_csrf=${admin.csrfToken}&name=`), Buffer.from([0xc3, 0x28, 0xff])]) })
  t.equal(utf8.statusCode, 400, 'invalid UTF-8 is refused')
  t.match(utf8.headers['content-type'], /^text\/html/)
  const badEncoding = await ctx.app.inject({ method: 'POST', url: '/process-flows', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${admin.csrfToken}&name=%E0%A4%A` })
  t.ok(badEncoding.statusCode < 500, `broken percent-encoding: ${badEncoding.statusCode}`)
  const json = await ctx.app.inject({ method: 'POST', url: '/process-flows', headers: { cookie, 'content-type': 'application/json' }, payload: JSON.stringify({ _csrf: admin.csrfToken, name: 'via json' }) })
  t.equal(json.statusCode, 415, 'only forms are accepted')
  t.same(await counts(), before, 'nothing stored')
})

t.test('junk query strings and ids get a 4xx page', async (t) => {
  for (const url of ['/connectors?page=-1', '/connectors?page=1e9', '/connectors?page[]=1', '/marketplace?type=<script>', '/connectors?q=' + 'x'.repeat(1000), '/process-flows?page=abc',
    '/connectors/not-a-uuid/settings', '/instances/%00/settings', '/process-flows/../../etc/passwd', `/process-flows/${world.flowId}/shapes/new?instance=nope`]) {
    const response = await admin.get(url)
    t.ok(response.statusCode >= 400 && response.statusCode < 500 || response.statusCode === 200, `${url}: ${response.statusCode}`)
    t.ok(response.statusCode < 500)
    t.notMatch(response.body, STACK_TRACE)
  }
})

t.test('names with HTML are stored as typed and shown escaped', async (t) => {
  const name = '<b>Bold</b> & "quoted" <script>x()</script>'
  const created = await admin.post('/process-flows', { name })
  t.equal(created.statusCode, 303)
  const [flow] = await ctx.db.select().from(processFlows).where(eq(processFlows.name, name))
  t.ok(flow, 'stored as typed')
  const page = await admin.get(`/process-flows/${flow!.id}`)
  t.match(page.body, '&lt;b&gt;Bold&lt;/b&gt; &amp; &quot;quoted&quot; &lt;script&gt;x()&lt;/script&gt;')
  t.notMatch(page.body, '<script>x()</script>')
})

t.test('every redirect of this file stays on this site', async (t) => {
  t.ok(ctx.redirects.length >= 5, `${ctx.redirects.length} redirects checked`)
  t.same(offSite(ctx.redirects), [])
})
