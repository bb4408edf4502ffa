// Malformed and hostile input at every route (generated from the route table): never a 5xx,
// never a stack trace, errors as HTML pages, nothing stored when the input was refused, names
// rendered escaped, and no redirect off this site.
import t from 'tap'
import { eq } from 'drizzle-orm'
import {
  connectionShapes,
  connectorRevisions,
  connectors,
  instances,
  marketplaceConnectors,
  processFlows,
  users,
} from '../../src/db/schema.js'
import { createFlow } from '../../src/domain/flows.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { LIMITS } from '../../src/domain/limits.js'
import { Client, offSite, setup, signedIn, textOf } from '../helpers.js'
import { elementById, formsOf, isTextField, submission, type HtmlForm } from '../html.js'
import { buildWorld, fillRoute, fillRouteVariants } from '../world.js'
import { install, publishNextVersion } from '../connector-fixtures.js'

const ctx = await setup(t)
const world = await buildWorld(ctx, ctx.company)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)
// Lists of more than one page: process flows, manage connectors (the marketplace has more than one already).
await Promise.all(
  Array.from({ length: 25 }, (_, i) =>
    createFlow(ctx.db, ctx.company.users.administrator!, { name: `Flow ${String(i).padStart(2, '0')}` }),
  ),
)
const catalogue = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.kind, 'prebuilt'))
for (const entry of catalogue.slice(0, 19))
  await installConnector(ctx.db, ctx.company.users.administrator!, { marketplaceConnectorId: entry.id })
// More than one page of updates available (25 a page): copies of one connector, then its next version.
for (let i = 0; i < 26; i++) await install(ctx.db, ctx.company.users.administrator!, 'sftp')
await publishNextVersion(ctx.db, 'sftp')
// A revision history of more than one page (50 a page) for the world's connector.
const [worldConnector] = await ctx.db.select().from(connectors).where(eq(connectors.id, world.connectorId))
await ctx.db.insert(connectorRevisions).values(
  Array.from({ length: 55 }, (_, i) => ({
    connectorId: world.connectorId,
    number: worldConnector!.revision + 1 + i,
    authorId: ctx.company.users.administrator!.id,
    summary: `change ${i + 1}`,
    definition: worldConnector!.definition,
    marketplaceVersionId: worldConnector!.marketplaceVersionId,
  })),
)
await ctx.db
  .update(connectors)
  .set({ revision: worldConnector!.revision + 55 })
  .where(eq(connectors.id, world.connectorId))
// The instance pickers (a connection shape's instance) of more than one page (20 a page).
await ctx.db.insert(instances).values(
  Array.from({ length: 20 }, (_, i) => ({
    companyId: ctx.company.id,
    connectorId: world.connectorId,
    name: `Xero ${String(i).padStart(2, '0')}`,
    authMethodKey: worldConnector!.definition.authMethods[0]!.key,
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: 5,
    rateLimitUnit: 'minute',
    createdBy: ctx.company.users.administrator!.id,
  })),
)

const STACK_TRACE = /(\bat [\w.<>]+ \(|\.ts:\d+:\d+|node_modules\/|Error: )/
/** What Fastify's validator says: never for users' eyes. */
const SCHEMA_WORDING = /must NOT have|must match|must be|must have required|(body|querystring|params)\/|\bschema\b/
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
  const [c, i, f, s, u] = await Promise.all(
    [connectors, instances, processFlows, connectionShapes, users].map((table) => ctx.db.select().from(table)),
  )
  return [c!.length, i!.length, f!.length, s!.length, u!.length]
}

const writes = ctx.app.routeTable.filter((r) => r.method === 'POST' && r.url !== '/logout')
for (const route of writes) {
  t.test(`${route.method} ${route.url} survives hostile input`, async (t) => {
    const url = fillRoute(route, world)
    for (const value of HOSTILE) {
      const fields = [
        'name',
        'email',
        'password',
        'confirm',
        'role',
        'enabled',
        'direction',
        'instance',
        'endpoint',
        'step',
        'action',
        'timeZone',
        'rateLimitAmount',
        'authMethod',
        'submission',
        'next',
        'unknownField',
      ]
      const response = await admin.post(url, Object.fromEntries(fields.map((f) => [f, value])))
      t.ok(response.statusCode < 500, `${JSON.stringify(value.slice(0, 30))}: ${response.statusCode}`)
      if (response.statusCode >= 400)
        t.match(response.headers['content-type'], /^text\/html/, 'an error is an HTML page')
      t.notMatch(response.body, STACK_TRACE, 'no stack trace')
      t.notMatch(response.body, SCHEMA_WORDING, 'no schema wording')
      t.notMatch(response.body, '<script>alert(1)</script>', 'rendered escaped')
      t.notMatch(response.body, '<img src=x onerror', 'rendered escaped')
    }
    // Repeated fields (arrays where one value is expected) and wrong types.
    const repeated = await admin.post(url, {
      name: ['a', 'b'],
      confirm: ['confirm', 'confirm'],
      enabled: ['true', 'false'],
    })
    t.ok(repeated.statusCode < 500, `repeated fields: ${repeated.statusCode}`)
  })
}

t.test('a huge body is refused with 413, an unknown content type with 415, invalid UTF-8 with a 4xx', async (t) => {
  const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  const before = await counts()
  const huge = await ctx.app.inject({
    method: 'POST',
    url: '/process-flows',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${admin.csrfToken}&name=${'x'.repeat(300_000)}`,
  })
  t.equal(huge.statusCode, 413)
  t.notMatch(huge.body, STACK_TRACE)
  t.match(huge.headers['content-type'], /^text\/html/)
  const xml = await ctx.app.inject({
    method: 'POST',
    url: '/process-flows',
    headers: { cookie, 'content-type': 'application/xml' },
    payload: '<flow><name>x</name></flow>',
  })
  t.equal(xml.statusCode, 415)
  t.match(xml.headers['content-type'], /^text\/html/)
  const utf8 = await ctx.app.inject({
    method: 'POST',
    url: '/process-flows',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: Buffer.concat([Buffer.from(`_csrf=${admin.csrfToken}&name=`), Buffer.from([0xc3, 0x28, 0xff])]),
  })
  t.equal(utf8.statusCode, 400, 'invalid UTF-8 is refused')
  t.match(utf8.headers['content-type'], /^text\/html/)
  const badEncoding = await ctx.app.inject({
    method: 'POST',
    url: '/process-flows',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${admin.csrfToken}&name=%E0%A4%A`,
  })
  t.ok(badEncoding.statusCode < 500, `broken percent-encoding: ${badEncoding.statusCode}`)
  const json = await ctx.app.inject({
    method: 'POST',
    url: '/process-flows',
    headers: { cookie, 'content-type': 'application/json' },
    payload: JSON.stringify({ _csrf: admin.csrfToken, name: 'via json' }),
  })
  t.equal(json.statusCode, 415, 'only forms are accepted')
  t.same(await counts(), before, 'nothing stored')
})

t.test('junk ids and query strings get a page, never a 5xx', async (t) => {
  for (const url of [
    '/connectors?page[]=1',
    '/marketplace?type=<script>',
    '/connectors?page=1&page=2',
    '/connectors/not-a-uuid/settings',
    '/instances/%00/settings',
    '/process-flows/../../etc/passwd',
    `/process-flows/${world.flowId}/shapes/new?instance=nope`,
  ]) {
    const response = await admin.get(url)
    t.ok(response.statusCode < 500, `${url}: ${response.statusCode}`)
    t.notMatch(response.body, STACK_TRACE)
    t.notMatch(response.body, SCHEMA_WORDING, 'no schema wording')
  }
})

// Lists: every GET route whose query has `page` shows the nearest real page for any page number.
const lists = ctx.app.routeTable.filter((r) => r.method === 'GET' && r.query.includes('page'))
t.ok(lists.length >= 3, 'the list routes are found in the route table')

/** "page 2 of 2" on a list page, or null when the list fits on one page. */
const pageShown = (html: string) => /page (\d+) of (\d+)/.exec(textOf(html))?.slice(1).map(Number) ?? null

for (const route of lists) {
  t.test(`GET ${route.url} clamps out-of-range pages to the nearest real page`, async (t) => {
    const base = fillRoute(route, world)
    const first = await admin.get(base)
    t.equal(first.statusCode, 200)
    const [, pages] = pageShown(first.body) ?? [1, 1]
    t.ok(pages! > 1, `the list has more than one page (${pages})`)
    const last = await admin.get(`${base}?page=${pages}`)
    t.same(pageShown(last.body), [pages, pages], 'the last page is served at its own address')
    for (const [asked, expected] of [
      ['999999', pages],
      ['99999999999999999999999', pages],
      [String(pages! + 1), pages],
      ['-1', 1],
      ['0', 1],
      ['abc', 1],
      ['1.5', 1],
      ['%20', 1],
      ['2abc', 1],
    ] as const) {
      const response = await admin.get(`${base}?page=${asked}`)
      t.equal(response.statusCode, 303, `?page=${asked} moves to a real page`)
      const location = new URL(response.headers.location as string, 'http://app.test')
      t.equal(location.pathname, base)
      t.equal(
        location.searchParams.get('page'),
        expected === 1 ? null : String(expected),
        `?page=${asked} → page ${expected}`,
      )
      const shown = await admin.get(`${location.pathname}${location.search}`)
      t.equal(shown.statusCode, 200)
      t.same(pageShown(shown.body), [expected, pages])
    }
    // An htmx swap shows the real page in place and corrects the address bar.
    const swapped = await admin.get(`${base}?page=999999`, { 'hx-request': 'true', 'hx-request-type': 'partial' })
    t.equal(swapped.statusCode, 200)
    t.equal(swapped.headers['hx-replace-url'], `${base}?page=${pages}`)
  })
}

// Searches: every GET route whose query has `q` answers an over-long search on the page.
for (const route of ctx.app.routeTable.filter((r) => r.method === 'GET' && r.query.includes('q'))) {
  t.test(`GET ${route.url} answers an over-long search on the page`, async (t) => {
    const typed = 'x'.repeat(LIMITS.search + 50)
    const response = await admin.get(`${fillRoute(route, world)}?q=${typed}`)
    t.equal(response.statusCode, 200)
    t.match(textOf(response.body), `Searches are limited to ${LIMITS.search} characters`)
    const box = formsOf(response.body)
      .flatMap((f) => f.fields)
      .find((f) => f.name === 'q')!
    t.equal(box.value, typed.slice(0, LIMITS.search), 'the search box shows what was searched')
    t.equal(box.attrs.maxlength, String(LIMITS.search))
    t.match(
      elementById(response.body, box.attrs['aria-describedby'] ?? '')?.text ?? '',
      'Searches are limited',
      'the note is tied to the search box',
    )
  })
}

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

// Forms: every text field of every screen has a maxlength, and the server keeps to it: one
// character more is refused beside the field (4xx, the form again with the value kept, never a
// schema error); exactly maxlength characters are not refused for their length.
const anonymous = new Client(ctx.app)
const screens = [
  { url: '/login', client: anonymous },
  ...ctx.app.routeTable
    .filter((r) => r.method === 'GET' && r.url !== '/login')
    .flatMap((r) => fillRouteVariants(r, world).map((url) => ({ url, client: admin }))),
]
/** A form's address as a route: ids and item keys left out, so each template's form is tried once. */
const routeOf = (action: string) =>
  action
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, ':id')
    .replace(/\/(variables|auth-methods|endpoints)\/[a-z0-9_]+/, '/$1/:key')
interface FieldCase {
  screen: (typeof screens)[number]
  action: string
  id: string
  max: number
  secret: boolean
}
const fieldCases = new Map<string, FieldCase>()
const withoutMaxlength: string[] = []
for (const screen of screens) {
  const response = await screen.client.get(screen.url)
  if (response.statusCode !== 200) continue
  for (const form of formsOf(response.body)) {
    for (const field of form.fields.filter(isTextField)) {
      if (!field.attrs.maxlength) withoutMaxlength.push(`${screen.url}: ${form.action} ${field.name}`)
      else if (form.method === 'post') {
        const key = `${routeOf(form.action)} ${field.name.replace(/\..*$/, '.*')}`
        if (!fieldCases.has(key))
          fieldCases.set(key, {
            screen,
            action: form.action,
            id: field.id,
            max: Number(field.attrs.maxlength),
            secret: field.type === 'password',
          })
      }
    }
  }
}

t.test('every text field of every screen has a maxlength', async (t) => {
  t.same(withoutMaxlength, [])
  t.ok(fieldCases.size > 30, `fields of POST forms found on the screens: ${fieldCases.size}`)
})

/** The text of the messages tied to a field (aria-describedby), or '' when it is not marked invalid. */
function messageBeside(html: string, id: string): string {
  const field = elementById(html, id)
  if (field?.attrs['aria-invalid'] !== 'true') return ''
  return (field.attrs['aria-describedby'] ?? '')
    .split(' ')
    .map((ref) => elementById(html, ref)?.text ?? '')
    .join(' ')
    .trim()
}

for (const [key, c] of fieldCases) {
  t.test(`POST ${key}: over maxlength is refused beside the field, maxlength is not`, async (t) => {
    // The screen is read again before each try: revisions, tokens and one-time keys stay fresh.
    const submit = async (value: string) => {
      const page = await c.screen.client.get(c.screen.url)
      const form: HtmlForm = formsOf(page.body).find(
        (f) => f.action === c.action && f.fields.some((x) => x.id === c.id),
      )!
      return c.screen.client.post(c.action, submission(form, { [c.id]: value }))
    }
    const over = await submit('x'.repeat(c.max + 1))
    t.ok(over.statusCode >= 400 && over.statusCode < 500, `refused with a 4xx: ${over.statusCode}`)
    t.match(over.headers['content-type'], 'text/html')
    t.notMatch(over.body, SCHEMA_WORDING, 'no schema wording')
    t.ok(messageBeside(over.body, c.id), `a message beside the field: "${messageBeside(over.body, c.id)}"`)
    const field = elementById(over.body, c.id)
    if (!c.secret)
      t.equal(
        field?.tag === 'textarea' ? field.text : field?.attrs.value,
        'x'.repeat(c.max + 1),
        'the typed value is kept',
      )
    const atMax = await submit('x'.repeat(c.max))
    t.ok(atMax.statusCode < 500)
    t.notMatch(messageBeside(atMax.body, c.id), /at most/, `${c.max} characters are not too many`)
  })
}

t.test('every redirect of this file stays on this site', async (t) => {
  t.ok(ctx.redirects.length >= 5, `${ctx.redirects.length} redirects checked`)
  t.same(offSite(ctx.redirects), [])
})
