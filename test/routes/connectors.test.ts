import t from 'tap'
import { eq, sql } from 'drizzle-orm'
import { marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector, CONNECTORS_PAGE_SIZE } from '../../src/domain/connectors.js'
import { setup, signedIn, textOf } from '../helpers.js'

const ctx = await setup(t)
const actor = ctx.company.users.administrator
const entries = await ctx.db.select().from(marketplaceConnectors).orderBy(sql`lower(${marketplaceConnectors.name})`, marketplaceConnectors.id)
const byKey = (key: string) => entries.find((e) => e.key === key)!

// More connectors than fit on one page.
for (const entry of entries) await installConnector(ctx.db, actor, { marketplaceConnectorId: entry.id })
const installedCount = entries.length
const theirs = await installConnector(ctx.db, ctx.other.users.administrator, { marketplaceConnectorId: byKey('xero').id })

const client = await signedIn(ctx.app, actor)

t.test('manage connectors lists connectors with kind, version, installer and cog, a page at a time', async (t) => {
  const page = await client.get('/connectors')
  t.equal(page.statusCode, 200)
  const text = textOf(page.body)
  t.match(text, `${installedCount} connectors`)
  t.equal([...page.body.matchAll(/class="connector" id="connector-/g)].length, Math.min(CONNECTORS_PAGE_SIZE, installedCount))
  const first = entries[0]!
  t.match(page.body, `aria-label="settings for ${first.name}"`)
  t.match(text, `${first.name} prebuilt`)
  t.match(text, `installed by ${actor.name}`)
  t.match(page.body, /<a class="button primary" href="\/marketplace">add new connector<\/a>/)
  const last = await client.get(`/connectors?page=${Math.ceil(installedCount / CONNECTORS_PAGE_SIZE)}`)
  t.match(textOf(last.body), entries.at(-1)!.name)
})

t.test('filters by name on the server, with or without htmx', async (t) => {
  const page = await client.get('/connectors?q=shop')
  t.match(textOf(page.body), '1 connector matching “shop”')
  const fragment = await client.get('/connectors?q=XERO', { 'hx-request': 'true', 'hx-request-type': 'partial' })
  t.match(fragment.body, /^<section id="connector-list"/)
  t.match(textOf(fragment.body), /1 connector matching “XERO” Xero/)
})

t.test('the settings cog opens the connector settings', async (t) => {
  const page = await client.get('/connectors?q=shopify')
  const href = /href="(\/connectors\/[^"]+\/settings)" aria-label="settings for Shopify"/.exec(page.body)![1]!
  const settings = await client.get(href)
  t.equal(settings.statusCode, 200)
  t.match(textOf(settings.body), 'Settings for Shopify')
  t.match(textOf(settings.body), 'Basic details')
})

t.test('another company\'s connector answers exactly like a missing one', async (t) => {
  const foreign = await client.get(`/connectors/${theirs.id}/settings`)
  const missing = await client.get('/connectors/00000000-0000-4000-8000-000000000000/settings')
  t.equal(foreign.statusCode, 404)
  t.equal(missing.statusCode, 404)
  t.equal(textOf(foreign.body), textOf(missing.body))
  t.notMatch(textOf((await client.get('/connectors?q=xero')).body), '(2)', 'their Xero is not counted in ours')
})

t.test('a user of another company sees only their own connectors', async (t) => {
  const otherClient = await signedIn(ctx.app, ctx.other.users.user)
  const text = textOf((await otherClient.get('/connectors')).body)
  t.match(text, '1 connector')
  t.match(text, 'Xero')
  t.notMatch(text, 'Shopify')
})
