import t from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import { connectors, marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { CONNECTORS_PAGE_SIZE, INSTANCES_SHOWN } from '../../src/domain/connectors.js'
import { createInstance } from '../../src/domain/instances.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { setup, signedIn, testConfig, textOf } from '../helpers.js'

const ctx = await setup(t)
const actor = ctx.company.users.administrator
const entries = await ctx.db
  .select()
  .from(marketplaceConnectors)
  .orderBy(sql`lower(${marketplaceConnectors.name})`, marketplaceConnectors.id)
const byKey = (key: string) => entries.find((e) => e.key === key)!

// More connectors than fit on one page.
for (const entry of entries) await installConnector(ctx.db, actor, { marketplaceConnectorId: entry.id })
const installedCount = entries.length
const theirs = await installConnector(ctx.db, ctx.other.users.administrator, {
  marketplaceConnectorId: byKey('xero').id,
})

const client = await signedIn(ctx.app, actor)

t.test('manage connectors lists connectors with kind, version, installer and cog, a page at a time', async (t) => {
  const page = await client.get('/connectors')
  t.equal(page.statusCode, 200)
  const text = textOf(page.body)
  t.match(text, `${installedCount} connectors`)
  t.equal(
    [...page.body.matchAll(/class="connector" id="connector-/g)].length,
    Math.min(CONNECTORS_PAGE_SIZE, installedCount),
  )
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

t.test("another company's connector answers exactly like a missing one", async (t) => {
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

t.test(
  `a connector with more than ${INSTANCES_SHOWN} instances shows the first ${INSTANCES_SHOWN} and a link to all of them`,
  async (t) => {
    const xero = (
      await ctx.db
        .select()
        .from(connectors)
        .where(and(eq(connectors.companyId, ctx.company.id), eq(connectors.name, 'Xero')))
    )[0]!
    const method = xero.definition.authMethods[0]!
    const values = Object.fromEntries([
      ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
      ...xero.definition.variables.map((v) => [`var.${v.key}`, 'x']),
    ])
    const names = ['Xero - AU', 'Xero - CA', 'Xero - DE', 'Xero - FR', 'Xero - UK']
    for (const name of names) {
      await createInstance(ctx.db, actor, new SecretBox(testConfig().encryptionKey), {
        connectorId: xero.id,
        name,
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: '5',
        rateLimitUnit: 'minute',
        authMethod: method.key,
        values,
      })
    }
    const page = await client.get('/connectors?q=xero')
    const text = textOf(page.body)
    for (const name of names.slice(0, INSTANCES_SHOWN)) t.match(text, name)
    for (const name of names.slice(INSTANCES_SHOWN)) t.notMatch(text, name, `${name} is folded away`)
    t.match(text, 'show all 5 instances of Xero')
    const link = new RegExp(
      `<a class="show-all" href="/connectors/${xero.id}/instances" data-hx-get="/connectors/${xero.id}/instances"`,
    )
    t.match(page.body, link, 'a plain link, and htmx on top')
    t.match(page.body, /data-hx-target="closest .instance-list" data-hx-swap="outerHTML"/)

    const whole = await client.get(`/connectors/${xero.id}/instances`)
    t.equal(whole.statusCode, 200)
    t.match(textOf(whole.body), /Instances of Xero.*5 instances.*Xero - AU.*Xero - CA.*Xero - DE.*Xero - FR.*Xero - UK/)
    t.notMatch(whole.body, /title="instance settings" autofocus/, 'the page leaves focus where the browser puts it')

    const fragment = await client.get(`/connectors/${xero.id}/instances`, {
      'hx-request': 'true',
      'hx-request-type': 'partial',
    })
    t.match(fragment.body, /^<div class="instance-list">/, 'the list that replaces the folded one')
    t.equal([...fragment.body.matchAll(/<li id="instance-/g)].length, 5)
    t.notMatch(fragment.body, 'show all')
    t.match(
      fragment.body,
      /aria-label="settings for instance Xero - FR" title="instance settings" autofocus>/,
      'focus on the first instance it adds',
    )

    t.equal(
      (await client.get(`/connectors/${theirs.id}/instances`)).statusCode,
      404,
      "another company's connector is not found",
    )
  },
)
