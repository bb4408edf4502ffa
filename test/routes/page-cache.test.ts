// Manage connectors is made once per version of the company's data and served again (one statement:
// the session's, which reads the version too), and never after a change: whoever made it, from
// another process (a second app on the same database, with its own memory), or by hand in SQL. What
// is per request (the CSRF token, the signed-in person) is never shared; roles and companies never mix.
import t from 'tap'
import { gunzipSync } from 'node:zlib'
import { eq, sql } from 'drizzle-orm'
import { connectors, instances, users } from '../../src/db/schema.js'
import { buildApp } from '../../src/app.js'
import { hiddenFields, setup, signedIn, testConfig, textOf } from '../helpers.js'
import { install, publishNextVersion } from '../connector-fixtures.js'
import { holeValues, keptPart, PageCache } from '../../src/plugins/page-cache.js'
import { deflatePage, gzipKept } from '../../src/plugins/compression.js'

let statements = 0
const ctx = await setup(t, { onQuery: () => void (statements += 1) })
const admin = ctx.company.users.administrator
const readOnly = ctx.company.users['read-only']
const xero = await install(ctx.db, admin, 'xero')
await install(ctx.db, ctx.other.users.administrator, 'shopify')

// Another server process: its own memory, the same database.
const sibling = await buildApp({ config: testConfig(), database: ctx.database })
t.teardown(() => sibling.close())

const counted = async <T>(work: () => Promise<T>) => {
  statements = 0
  const result = await work()
  return { result, statements }
}

t.test('made once, served again with one statement, the same list', async (t) => {
  const client = await signedIn(ctx.app, admin)
  // Not asked for yet (signing in shows /connectors).
  const first = await counted(() => client.get('/connectors?q=xe'))
  const again = await counted(() => client.get('/connectors?q=xe'))
  t.equal(again.result.statusCode, 200)
  t.ok(first.statements > 1, `made from the database the first time (${first.statements} statements)`)
  t.equal(again.statements, 1, 'served again: only the session (and the data version with it) is read')
  const list = (html: string) => /<section id="connector-list"[\s\S]*<\/section>/.exec(html)![0]
  t.equal(list(again.result.body), list(first.result.body), 'the same list')
  t.match(textOf(again.result.body), /Xero/)

  const partial = await counted(() =>
    client.get('/connectors?q=xe', { 'hx-request': 'true', 'hx-request-type': 'partial' }),
  )
  t.equal(partial.statements, 1, 'the fragment htmx asks for comes from the same page')
  t.equal(partial.result.body.trim(), list(first.result.body).trim(), 'the fragment alone')
})

t.test('a change shows at the next request, whoever made it', async (t) => {
  const client = await signedIn(ctx.app, admin)
  await client.get('/connectors')

  await ctx.db.execute(sql`update connectors set name = 'Xero (books)' where id = ${xero.id}`)
  t.match(textOf((await client.get('/connectors')).body), /Xero \(books\)/, 'a change made in SQL by hand')

  // The sibling process adds an instance through its own screens.
  const elsewhere = await signedIn(sibling, admin)
  await elsewhere.get(`/connectors/${xero.id}/instances/new`)
  await elsewhere.get('/connectors')
  await ctx.db.insert(instances).values({
    companyId: admin.companyId,
    connectorId: xero.id,
    name: 'Books - UK',
    authMethodKey: 'oauth2',
    timeZone: 'Europe/London',
    dateFormat: 'ISO 8601',
    rateLimitAmount: 10,
    rateLimitUnit: 'second',
    createdBy: admin.id,
  })
  t.match(textOf((await elsewhere.get('/connectors')).body), /Books - UK/, 'the sibling sees it')
  t.match(textOf((await client.get('/connectors')).body), /Books - UK/, 'and so does this process')

  await ctx.db.delete(instances).where(eq(instances.name, 'Books - UK'))
  t.notMatch(textOf((await client.get('/connectors')).body), /Books - UK/, 'removed: gone at once')

  // A change that is rolled back changes nothing: the page is still the one kept.
  await client.get('/connectors')
  await ctx.db
    .transaction(async (tx) => {
      await tx.update(connectors).set({ name: 'Never' }).where(eq(connectors.id, xero.id))
      throw new Error('rolled back')
    })
    .catch(() => {})
  const after = await counted(() => client.get('/connectors'))
  t.equal(after.statements, 1, 'still served again after a rolled back change')
  t.notMatch(textOf(after.result.body), /Never/)
})

t.test('what is per request is never shared; people and companies never mix', async (t) => {
  const one = await signedIn(ctx.app, admin)
  const two = await signedIn(ctx.app, admin)
  await one.get('/connectors')
  const shared = await counted(() => two.get('/connectors'))
  t.equal(shared.statements, 1, 'a second session of the same person: the page kept for them')
  t.not(one.csrfToken, two.csrfToken, 'each session has its own CSRF token in the page')

  const reader = await signedIn(ctx.app, readOnly)
  const read = await reader.get('/connectors')
  t.match(textOf(read.body), /Xero/)
  t.notMatch(read.body, /add new instance/, 'a read-only user is not shown what only an administrator may do')
  t.match((await one.get('/connectors')).body, /add new instance/, 'the administrator still is')
  t.match(read.body, new RegExp(`read-only of Acme Retail`), 'the header names who is signed in')

  const other = await signedIn(ctx.app, ctx.other.users.administrator)
  const theirs = textOf((await other.get('/connectors')).body)
  t.match(theirs, /Shopify/)
  t.notMatch(theirs, /Xero/, "another company's list, never this one's")
})

t.test('the page around a kept list is kept with it; a flash message is shown once, never kept', async (t) => {
  const client = await signedIn(ctx.app, admin)
  const address = '/marketplace?q=xe'
  const header = (html: string) => textOf(/<header class="topbar">[\s\S]*?<\/header>/.exec(html)![0])
  const named = header((await client.get(address)).body)
  t.match(named, `${admin.name} · administrator`, 'the header names who is signed in')
  t.teardown(() => ctx.db.update(users).set({ name: admin.name }).where(eq(users.id, admin.id)))

  // A change made behind the data version's back (its triggers off, as nothing in the app can) is
  // not shown: the whole page, its header too, is the one kept; only its forms' holes are filled.
  await ctx.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`)
    await tx.update(users).set({ name: 'Behind the version' }).where(eq(users.id, admin.id))
  })
  const kept = await counted(() => client.get(address))
  t.equal(kept.statements, 1)
  t.equal(header(kept.result.body), named, 'the kept header')
  const tokens = [...kept.result.body.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1])
  t.ok(tokens.length > 1 && tokens.every((token) => token === client.csrfToken), "the sign-out form: this page's token")

  await ctx.db.update(users).set({ name: 'Renamed Admin' }).where(eq(users.id, admin.id))
  t.match(header((await client.get(address)).body), 'Renamed Admin · administrator', 'a real change shows at once')

  // A message for this request only: shown on the kept page, then gone, and the page still kept.
  client.cookies.set('flash', ctx.app.signCookie(JSON.stringify({ message: 'Shown once only' })))
  const flashed = await counted(() => client.get(address))
  t.match(textOf(flashed.result.body), 'Shown once only', 'the flash message shows on a kept page')
  t.equal(flashed.statements, 1, 'its list still the kept one')
  const next = await counted(() => client.get(address))
  t.notMatch(textOf(next.result.body), 'Shown once only', 'then it is gone')
  t.equal(next.statements, 1)
  const other = await signedIn(ctx.app, admin)
  t.notMatch(textOf((await other.get(address)).body), 'Shown once only', "never in another session's page")

  // The sign-out form of a kept page, its token filled at this request, works.
  const signOut = await client.post('/logout', hiddenFields(next.result.body, '/logout'))
  t.equal(signOut.statusCode, 303, 'signed out from a kept page')
  t.equal((await client.get(address)).statusCode, 303, 'and the session is over')
})

t.test('the cache itself', async (t) => {
  const user = { ...admin, sessionId: 's', mustChangePassword: false, dataVersion: '3.1' }
  const cache = new PageCache(true, 1000)
  let loads = 0
  const load = async () => ({ n: ++loads })
  t.same((await cache.get(user, '/a', load)).value, { n: 1 })
  t.same((await cache.get(user, '/a', load)).value, { n: 1 }, 'kept')
  t.same(
    (await cache.get({ ...user, dataVersion: '2.1' }, '/a', load)).value,
    { n: 2 },
    'a request behind: made, not kept',
  )
  t.same((await cache.get(user, '/a', load)).value, { n: 1 }, 'the newest is still kept')
  t.same((await cache.get({ ...user, dataVersion: '3.2' }, '/a', load)).value, { n: 3 }, 'the marketplace moved on')
  t.equal(cache.size, 1, 'the older version was dropped')
  const now = { ...user, dataVersion: '3.2' }
  cache.keepFragment(await cache.get(now, '/a', load), 'list', { texts: [Buffer.alloc(600)], holes: [] })
  cache.keepFragment(await cache.get(now, '/b', load), 'list', { texts: [Buffer.alloc(600)], holes: [] })
  t.equal(cache.size, 1, 'over the budget (2 × 600 bytes of 1,000): the least recently used went')
  t.same((await cache.get(now, '/b', load)).value, { n: 4 }, 'the one used last is kept')
  t.same((await cache.get(now, '/a', load)).value, { n: 5 }, 'the other is made again')
  // A kept part is one allocation of its own size: what the budget counts is what it holds on to.
  const part = keptPart('<form>\u0000csrf\u0000 › \u0000key\u0000</form>')
  t.same(part.holes, ['csrf', 'key'])
  t.same(
    part.texts.map((text) => text.toString()),
    ['<form>', ' › ', '</form>'],
  )
  t.ok(
    part.texts.every((text) => text.buffer === part.texts[0]!.buffer && text.buffer.byteLength === 18),
    'not slices of a shared 8 KB slab',
  )
  t.throws(() => keptPart('a\u0000name\u0000b'), /not a hole/)
  const frozen = new PageCache(true, 1000, true)
  const value = (await frozen.get(user, '/a', async () => ({ list: [1] }))).value
  t.throws(() => value.list.push(2), 'a kept value cannot be changed by a route or a template')
})

t.test('connector settings and the marketplace: their data kept, their forms made at every request', async (t) => {
  const client = await signedIn(ctx.app, admin)
  const settings = `/connectors/${xero.id}/settings`
  const first = await counted(() => client.get(settings))
  const again = await counted(() => client.get(settings))
  t.ok(again.statements < first.statements, `settings: ${first.statements} statements, then ${again.statements}`)
  await ctx.db.execute(sql`update connectors set name = 'Xero (ledger)' where id = ${xero.id}`)
  t.match(textOf((await client.get(settings)).body), /Xero \(ledger\)/, 'a change shows at the next request')

  const search = '/marketplace?q=xero'
  const keys = (html: string) => [...html.matchAll(/name="submission" value="([^"]+)"/g)].map((m) => m[1])
  const before = await counted(() => client.get(search))
  const kept = await counted(() => client.get(search))
  t.equal(kept.statements, 1, 'the marketplace search: served again from what was loaded')
  t.ok(keys(before.result.body).length > 0, 'install forms')
  t.notSame(keys(kept.result.body), keys(before.result.body), 'each page its own one-time submission keys')
  t.equal(new Set(keys(kept.result.body)).size, keys(kept.result.body).length, 'each form its own')
  const tokens = new Set([...kept.result.body.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]))
  t.same([...tokens], [client.csrfToken], "every form of the kept results carries this page's CSRF token")
  const install = /action="(\/marketplace\/[^"]+\/install)"[\s\S]*?name="submission" value="([^"]+)"/.exec(
    kept.result.body,
  )!
  const installed = await client.post(install[1]!, { submission: install[2]! })
  t.equal(installed.statusCode, 303, 'an install form of the kept results works')
  const version = await publishNextVersion(ctx.db, 'xero')
  t.match(textOf((await client.get(search)).body), version, 'a new version published shows')
  t.match(textOf((await client.get(search)).body), /Xero/)
})

t.test('a kept page is compressed once: only its holes and CRC are made at each request', async (t) => {
  const client = await signedIn(ctx.app, admin)
  const withoutTokens = (html: string) => html.replace(/(name="_csrf" value=")[^"]+/g, '$1')
  const gzip = { 'accept-encoding': 'br, gzip' }
  const plainPage = (await client.get('/connectors')).body
  const page = await client.get('/connectors', gzip)
  t.equal(page.headers['content-encoding'], 'gzip', 'the page: gzip, made around the kept list')
  t.match(String(page.headers.vary), /Accept-Encoding/, 'caches are told it depends on Accept-Encoding')
  // gunzip checks the member's length and CRC.
  t.equal(withoutTokens(gunzipSync(page.rawPayload).toString()), withoutTokens(plainPage), 'the page as sent plain')

  const partial = { 'hx-request': 'true', 'hx-request-type': 'partial' }
  const plainList = (await client.get('/connectors', partial)).body
  const list = await client.get('/connectors', { ...partial, ...gzip })
  t.equal(list.headers['content-encoding'], 'gzip')
  t.equal(gunzipSync(list.rawPayload).toString(), plainList, 'the fragment htmx asks for, the same')
  const brOnly = await client.get('/connectors', { 'accept-encoding': 'br' })
  t.equal(brOnly.headers['content-encoding'], 'br', 'a browser without gzip: brotli, as before')

  // A kept list with forms: their tokens and new keys go in as stored blocks between kept blocks.
  const search = await client.get('/marketplace?q=o', gzip)
  t.equal(search.headers['content-encoding'], 'gzip', 'the marketplace too, its install forms and all')
  const html = gunzipSync(search.rawPayload).toString()
  const tokens = [...html.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1])
  const keys = [...html.matchAll(/name="submission" value="([^"]+)"/g)].map((m) => m[1]!)
  t.ok(tokens.length > 2 && tokens.every((token) => token === tokens[0]), "every form: this page's token")
  t.not(tokens[0], client.csrfToken, 'made for this request')
  t.ok(keys.length > 1 && keys.every((key) => /^[0-9a-f-]{36}$/.test(key)) && new Set(keys).size === keys.length)
  t.notMatch(html, '\ufffd', 'no byte of a placeholder in the page')
  const install = /action="(\/marketplace\/[^"]+\/install)"[\s\S]*?name="submission" value="([^"]+)"/.exec(html)!
  const installed = await client.post(install[1]!, { _csrf: tokens[0]!, submission: install[2]! })
  t.equal(installed.statusCode, 303, 'and its forms work, with its token')

  // Texts are compressed around placeholders, never referring back into a hole: the text after a
  // hole that repeats the value it had then still reads as written, whatever the hole holds now.
  const parts = [keptPart('<p>\u0000csrf\u0000 token-one › token-one</p>\u0000key\u0000'), keptPart('\u0000csrf\u0000')]
  const deflated = deflatePage(parts, holeValues(Buffer.from('token-one')))
  const now = holeValues(Buffer.from('token-two'))
  const sent = gunzipSync(gzipKept(parts, deflated, now)!).toString()
  t.match(sent, /^<p>token-two token-one › token-one<\/p>[0-9a-f-]{36}token-two$/, 'empty texts at the end too')
  t.equal(
    gzipKept(parts, deflated, holeValues(Buffer.from('longer-token'))),
    null,
    'a value of another length: not spliced',
  )
})

t.test('a kept page is the page made without the cache, byte for byte (its tokens and keys aside)', async (t) => {
  const uncached = await buildApp({ config: testConfig(), database: ctx.database, pageCache: false })
  t.teardown(() => uncached.close())
  const kept = await signedIn(ctx.app, admin)
  const made = await signedIn(uncached, admin)
  const perRequest = (html: string) =>
    html.replace(/(name="_csrf" value=")[^"]+/g, '$1').replace(/(name="submission" value=")[^"]+/g, '$1')
  const partial = { 'hx-request': 'true', 'hx-request-type': 'partial' }
  // Their texts hold "›", "·" and "“”": several bytes each in UTF-8, as the kept parts are.
  for (const address of [
    '/connectors',
    '/connectors?q=xe',
    `/connectors/${xero.id}/settings`,
    '/marketplace?q=o',
    '/connectors/updates',
    '/settings/audit-log',
  ]) {
    for (const headers of [{}, partial, { 'accept-encoding': 'gzip' }] as Record<string, string>[]) {
      await kept.get(address, headers)
      const again = await kept.get(address, headers)
      const body = again.headers['content-encoding'] === 'gzip' ? gunzipSync(again.rawPayload).toString() : again.body
      const expected = await made.get(address, { ...headers, 'accept-encoding': 'identity' })
      t.equal(again.statusCode, 200)
      t.equal(perRequest(body), perRequest(expected.body), `${address} ${JSON.stringify(headers)}`)
    }
  }
})
