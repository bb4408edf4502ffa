import t from 'tap'
import { eq } from 'drizzle-orm'
import { connectors, marketplaceConnectors, marketplaceVersions } from '../../src/db/schema.js'
import { readCatalogue } from '../../src/marketplace/manifest.js'
import { setup, signedIn, textOf } from '../helpers.js'

const ctx = await setup(t)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)
const catalogue = await readCatalogue()
const [shopify] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, 'shopify'))

t.test('the marketplace lists every prebuilt connector, a page at a time', async (t) => {
  const first = await admin.get('/marketplace')
  t.equal(first.statusCode, 200)
  t.match(textOf(first.body), `${catalogue.length} connectors`)
  const names = [...first.body.matchAll(/<h2 id="mp-[^"]+">([^<]+)<\/h2>/g)].map((m) => m[1])
  t.equal(names.length, Math.min(24, catalogue.length))
  t.same(names, [...names].sort((a, b) => (a!.toLowerCase() < b!.toLowerCase() ? -1 : 1)), 'sorted by name, whatever the case')
  t.match(first.body, /href="\/marketplace\?page=2" rel="next">next page</)
  const second = await admin.get('/marketplace?page=2')
  t.equal([...second.body.matchAll(/<h2 id="mp-/g)].length, catalogue.length - 24)
})

t.test('browsing by system type shows only that type', async (t) => {
  const response = await admin.get('/marketplace?type=eCommerce')
  const text = textOf(response.body)
  t.match(text, 'Shopify')
  t.notMatch(text, 'Xero')
  const expected = catalogue.filter((c) => c.manifest.systemType === 'eCommerce').length
  t.match(text, `${expected} connector${expected === 1 ? '' : 's'} in eCommerce`)
})

t.test('search finds connectors by name or description, whatever the case', async (t) => {
  const byName = textOf((await admin.get('/marketplace?q=SHOPIFY')).body)
  t.match(byName, /1 connector matching “SHOPIFY”/)
  const xero = catalogue.find((c) => c.manifest.key === 'xero')!.manifest
  const phrase = xero.description.slice(20, 32)
  t.notMatch(xero.name.toLowerCase(), phrase.toLowerCase())
  const byDescription = textOf((await admin.get(`/marketplace?q=${encodeURIComponent(phrase.toUpperCase())}`)).body)
  t.match(byDescription, xero.name)
  const none = await admin.get('/marketplace?q=%25_nothing_%25')
  t.match(textOf(none.body), 'No connector matches “%_nothing_%”')
})

t.test('htmx search gets only the results fragment; a plain request the whole page', async (t) => {
  const fragment = await admin.get('/marketplace?q=shop', { 'hx-request': 'true', 'hx-request-type': 'partial' })
  t.equal(fragment.statusCode, 200)
  t.match(fragment.body, /^<section id="marketplace-results"/)
  t.notMatch(fragment.body, '<html')
  t.match(fragment.headers.vary, /HX-Request-Type/)
  const full = await admin.get('/marketplace?q=shop', { 'hx-request': 'true', 'hx-request-type': 'full' })
  t.match(full.body, /^<!doctype html>/)
})

t.test('install creates the connector from the latest version and shows it on manage connectors', async (t) => {
  const form = await admin.get('/marketplace?q=shopify')
  const submission = /name="submission" value="([^"]+)"/.exec(form.body)![1]!
  const response = await admin.post(`/marketplace/${shopify!.id}/install`, { submission })
  t.equal(response.statusCode, 303)
  const [installed] = await ctx.db.select().from(connectors).where(eq(connectors.companyId, ctx.company.id))
  t.ok(installed)
  t.equal(response.headers.location, `/connectors?page=1#connector-${installed!.id}`)
  const [latest] = await ctx.db.select().from(marketplaceVersions).where(eq(marketplaceVersions.id, shopify!.latestVersionId!))
  t.equal(installed!.marketplaceVersionId, latest!.id, 'based on the latest marketplace version')
  const page = await admin.get(response.headers.location as string)
  const text = textOf(page.body)
  t.match(text, `Shopify (version ${latest!.version}) is installed.`)
  t.match(text, `version ${latest!.version}`)
  t.match(text, `installed by ${ctx.company.users.administrator.name}`)
  t.match(page.body, `aria-label="settings for Shopify"`)

  const again = await admin.post(`/marketplace/${shopify!.id}/install`, { submission })
  t.equal(again.statusCode, 303, 'the same form sent twice')
  const afterDouble = await ctx.db.select().from(connectors).where(eq(connectors.companyId, ctx.company.id))
  t.equal(afterDouble.length, 1, 'does the work once')

  const copy = await admin.post(`/marketplace/${shopify!.id}/install`, {})
  t.equal(copy.statusCode, 303)
  const list = textOf((await admin.get('/connectors')).body)
  t.match(list, 'Shopify (2)', 'installing it again installs a second copy, told apart by name')
})

t.test('a read-only user sees no install button and cannot install', async (t) => {
  const reader = await signedIn(ctx.app, ctx.company.users['read-only'])
  const page = await reader.get('/marketplace')
  t.notMatch(page.body, '/install"')
  const response = await reader.post(`/marketplace/${shopify!.id}/install`, {})
  t.equal(response.statusCode, 403)
})

t.test('another company\'s custom connectors are never shown nor installable', async (t) => {
  const [custom] = await ctx.db.insert(marketplaceConnectors).values({
    key: 'secret-erp', kind: 'custom', companyId: ctx.other.id, name: 'Their Secret ERP', description: 'built by the other company', systemType: 'ERP',
  }).returning()
  const [version] = await ctx.db.insert(marketplaceVersions).values({
    marketplaceConnectorId: custom!.id, version: 'Version 1', releaseNotes: 'first', definition: catalogue[0]!.manifest.versions[0]!.definition,
  }).returning()
  await ctx.db.update(marketplaceConnectors).set({ latestVersionId: version!.id }).where(eq(marketplaceConnectors.id, custom!.id))
  t.notMatch(textOf((await admin.get('/marketplace?q=secret')).body), 'Their Secret ERP')
  const install = await admin.post(`/marketplace/${custom!.id}/install`, {})
  t.equal(install.statusCode, 404)
  const owner = await signedIn(ctx.app, ctx.other.users.administrator)
  t.match(textOf((await owner.get('/marketplace?q=secret')).body), 'Their Secret ERP ERP · your company')
})

t.test('unknown ids, junk queries and missing tokens get a 4xx page, never a 500', async (t) => {
  t.equal((await admin.post('/marketplace/00000000-0000-4000-8000-000000000000/install', {})).statusCode, 404)
  t.equal((await admin.post('/marketplace/not-an-id/install', {})).statusCode, 404)
  for (const [url, to] of [['/marketplace?page=abc', '/marketplace'], ['/marketplace?type=Spaceships', '/marketplace'], ['/marketplace?page=0', '/marketplace'], ['/marketplace?type=CRM&page=99', '/marketplace?type=CRM']] as const) {
    const response = await admin.get(url)
    t.equal(response.statusCode, 303, `${url} goes to the nearest real page`)
    t.equal(response.headers.location, to)
  }
  const forged = await admin.post(`/marketplace/${shopify!.id}/install`, { _csrf: 'nope' })
  t.equal(forged.statusCode, 403)
  const huge = await admin.get(`/marketplace?q=${'x'.repeat(500)}`)
  t.equal(huge.statusCode, 200, 'an over-long search is answered on the page')
  t.match(textOf(huge.body), 'Searches are limited to 200 characters: this one used the first 200.')
  t.notMatch(huge.body, /at .*\.ts:\d+/, 'no stack trace')
})
