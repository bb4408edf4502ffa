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
  t.same(
    names,
    [...names].sort((a, b) => (a!.toLowerCase() < b!.toLowerCase() ? -1 : 1)),
    'sorted by name, whatever the case',
  )
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
  const [latest] = await ctx.db
    .select()
    .from(marketplaceVersions)
    .where(eq(marketplaceVersions.id, shopify!.latestVersionId!))
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

t.test(
  'connectors the company already has are marked installed, with a link to them; installing again says it makes another copy',
  async (t) => {
    const [xero] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, 'xero'))
    const card = async () => {
      const body = (await admin.get('/marketplace?q=xero')).body
      const start = body.indexOf(`<article aria-labelledby="mp-${xero!.id}"`)
      return body.slice(start, body.indexOf('</article>', start))
    }
    const before = await card()
    t.notMatch(textOf(before), 'installed', 'not installed yet: no mark')
    t.match(before, />install<span class="visually-hidden"> Xero<\/span><\/button>/)

    const first = await admin.post(`/marketplace/${xero!.id}/install`, {})
    t.notMatch(
      textOf((await admin.get(first.headers.location as string)).body),
      'another copy',
      'the first install is not a copy',
    )
    const [installed] = await ctx.db.select().from(connectors).where(eq(connectors.marketplaceConnectorId, xero!.id))
    const once = await card()
    t.match(textOf(once), 'installed open its settings (installed Xero)')
    t.match(once, `href="/connectors/${installed!.id}/settings"`, 'one copy: a link to its settings')
    t.match(
      once,
      />install another copy<span class="visually-hidden"> of Xero<\/span><\/button>/,
      'the button says a second install makes another copy',
    )

    const second = await admin.post(`/marketplace/${xero!.id}/install`, {})
    const flash = textOf((await admin.get(second.headers.location as string)).body)
    t.match(
      flash,
      /Xero \(2\) \(version [\d.]+\) is installed as another copy of Xero: you now have 2\./,
      'the flash says it is another copy',
    )
    const twice = await card()
    t.match(textOf(twice), 'installed 2 times see the 2 copies of Xero')
    t.match(
      twice,
      `href="/connectors?marketplace=${xero!.id}"`,
      'several copies: the manage connectors page filtered to them',
    )
    const copies = await admin.get(`/connectors?marketplace=${xero!.id}`)
    t.equal(copies.statusCode, 200)
    t.match(textOf(copies.body), '2 connectors installed from Xero')
    t.same(
      [...copies.body.matchAll(/<h2 id="connector-[^"]+-name">([^<]+)<\/h2>/g)].map((m) => m[1]),
      ['Xero', 'Xero (2)'],
      'only the copies of Xero',
    )

    const reader = await signedIn(ctx.app, ctx.company.users['read-only'])
    t.match(
      textOf((await reader.get('/marketplace?q=xero')).body),
      'installed 2 times',
      'everyone sees what the company has',
    )
    const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
    t.notMatch(
      textOf((await outsider.get('/marketplace?q=xero')).body),
      'installed',
      "another company's copies are not counted",
    )
    t.match(
      textOf((await outsider.get(`/connectors?marketplace=${xero!.id}`)).body),
      'None of your connectors is installed from this marketplace connector',
    )
  },
)

t.test(
  'a search made after choosing a system type says it searched only that type, with a link to search all',
  async (t) => {
    const within = textOf((await admin.get('/marketplace?type=Accounting&q=shop')).body)
    t.match(within, 'No connector matches “shop”, searched in Accounting only. Search all system types')
    t.match(
      (await admin.get('/marketplace?type=Accounting&q=shop')).body,
      'href="/marketplace?q=shop">Search all system types</a>',
    )
    const found = await admin.get('/marketplace?type=eCommerce&q=shop', {
      'hx-request': 'true',
      'hx-request-type': 'partial',
    })
    t.match(
      textOf(found.body),
      /^\d+ connectors? matching “shop”, searched in eCommerce only\. Search all system types/,
    )
    t.match(found.body, 'href="/marketplace?q=shop">Search all system types</a>')
    t.notMatch(
      textOf((await admin.get('/marketplace?q=shop')).body),
      'only',
      'a search of every type says nothing of the kind',
    )
    t.notMatch(
      textOf((await admin.get('/marketplace?type=eCommerce')).body),
      'Search all system types',
      'nor does browsing a type',
    )
  },
)

t.test('a custom connector\'s free-text version is named once: never "version Version 1"', async (t) => {
  const [custom] = await ctx.db
    .insert(marketplaceConnectors)
    .values({
      key: 'payroll',
      kind: 'custom',
      companyId: ctx.company.id,
      name: 'Payroll',
      description: 'our payroll system',
      systemType: 'Other',
    })
    .returning()
  const [release] = await ctx.db
    .insert(marketplaceVersions)
    .values({
      marketplaceConnectorId: custom!.id,
      version: 'Version 1 - 3rd December 2026',
      releaseNotes: 'first',
      definition: catalogue[0]!.manifest.versions[0]!.definition,
    })
    .returning()
  await ctx.db
    .update(marketplaceConnectors)
    .set({ latestVersionId: release!.id })
    .where(eq(marketplaceConnectors.id, custom!.id))
  t.match(
    textOf((await admin.get('/marketplace?q=payroll')).body),
    'Payroll Other · your company · Version 1 - 3rd December 2026 our payroll system',
  )
  const installed = await admin.post(`/marketplace/${custom!.id}/install`, {})
  const list = textOf((await admin.get(installed.headers.location as string)).body)
  t.match(list, 'Payroll (Version 1 - 3rd December 2026) is installed.')
  t.match(list, 'Payroll custom Version 1 - 3rd December 2026 · installed by')
  const [connector] = await ctx.db.select().from(connectors).where(eq(connectors.marketplaceConnectorId, custom!.id))
  t.match(
    textOf((await admin.get(`/connectors/${connector!.id}/revisions`)).body),
    'installed Version 1 - 3rd December 2026 from the marketplace',
  )
  // The settings page's own "version …" line is left to the settings wizard's split (connector-settings.eta).
  for (const page of ['/marketplace?q=payroll', '/connectors', `/connectors/${connector!.id}/revisions/1`]) {
    t.notMatch(textOf((await admin.get(page)).body), /version Version/i, `${page} says the version once`)
  }
})

t.test('a read-only user sees no install button and cannot install', async (t) => {
  const reader = await signedIn(ctx.app, ctx.company.users['read-only'])
  const page = await reader.get('/marketplace')
  t.notMatch(page.body, '/install"')
  const response = await reader.post(`/marketplace/${shopify!.id}/install`, {})
  t.equal(response.statusCode, 403)
})

t.test("another company's custom connectors are never shown nor installable", async (t) => {
  const [custom] = await ctx.db
    .insert(marketplaceConnectors)
    .values({
      key: 'secret-erp',
      kind: 'custom',
      companyId: ctx.other.id,
      name: 'Their Secret ERP',
      description: 'built by the other company',
      systemType: 'ERP',
    })
    .returning()
  const [version] = await ctx.db
    .insert(marketplaceVersions)
    .values({
      marketplaceConnectorId: custom!.id,
      version: 'Version 1',
      releaseNotes: 'first',
      definition: catalogue[0]!.manifest.versions[0]!.definition,
    })
    .returning()
  await ctx.db
    .update(marketplaceConnectors)
    .set({ latestVersionId: version!.id })
    .where(eq(marketplaceConnectors.id, custom!.id))
  t.notMatch(textOf((await admin.get('/marketplace?q=secret')).body), 'Their Secret ERP')
  const install = await admin.post(`/marketplace/${custom!.id}/install`, {})
  t.equal(install.statusCode, 404)
  const owner = await signedIn(ctx.app, ctx.other.users.administrator)
  t.match(textOf((await owner.get('/marketplace?q=secret')).body), 'Their Secret ERP ERP · your company')
})

t.test('unknown ids, junk queries and missing tokens get a 4xx page, never a 500', async (t) => {
  t.equal((await admin.post('/marketplace/00000000-0000-4000-8000-000000000000/install', {})).statusCode, 404)
  t.equal((await admin.post('/marketplace/not-an-id/install', {})).statusCode, 404)
  for (const [url, to] of [
    ['/marketplace?page=abc', '/marketplace'],
    ['/marketplace?type=Spaceships', '/marketplace'],
    ['/marketplace?page=0', '/marketplace'],
    ['/marketplace?type=CRM&page=99', '/marketplace?type=CRM'],
  ] as const) {
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
