// "Updates without fear": the impact list on every page where a change can hurt, "update and keep my
// changes" (the three-way merge with a choice per conflict) and rolling back to any revision.
import t from 'tap'
import { and, asc, eq } from 'drizzle-orm'
import { auditEvents, connectorRevisions, connectors, marketplaceVersions, processFlows } from '../../src/db/schema.js'
import type { ConnectorDefinition } from '../../src/domain/definition.js'
import { saveDefinition } from '../../src/domain/revisions.js'
import { setup, signedIn, textOf as tagless } from '../helpers.js'
import { addFlow, addInstance, connectorRow, install, publishNextVersion } from '../connector-fixtures.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const client = await signedIn(ctx.app, admin)

async function modify(id: string, change: (d: ConnectorDefinition) => void) {
  const row = await connectorRow(ctx.db, id)
  const definition = structuredClone(row.definition)
  change(definition)
  return saveDefinition(ctx.db, admin, { connectorId: id, revision: row.revision, definition })
}

/** What a user reads: tags gone, and no space before punctuation that followed one. */
const textOf = (html: string) => tagless(html).replace(/ ([,.:;)])/g, '$1')
const endpoint = (d: ConnectorDefinition, key: string) => d.endpoints.find((e) => e.key === key)!
const submissionOf = (html: string, action: string) =>
  new RegExp(`action="${action}"[^>]*>[\\s\\S]*?name="submission" value="([^"]+)"`).exec(html)![1]!
const revisionsOf = async (id: string) =>
  ctx.db
    .select()
    .from(connectorRevisions)
    .where(eq(connectorRevisions.connectorId, id))
    .orderBy(asc(connectorRevisions.number))
const auditOf = async (id: string, action: string) =>
  ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, id), eq(auditEvents.action, action)))

// Shopify with two instances used by an enabled and a disabled flow, then a version 2.3.0 that
// changes the orders endpoint's URL, drops the locations endpoint and the OAuth method.
const shop = await install(ctx.db, admin, 'shopify')
const uk = await addInstance(ctx.db, admin, shop.id, 'Shopify - UK', 'admin_api_token')
const us = await addInstance(ctx.db, admin, shop.id, 'Shopify - US', 'oauth')
await addInstance(ctx.db, admin, shop.id, 'Shopify - spare', 'admin_api_token')
await addFlow(ctx.db, admin, 'Orders sync', [
  { instanceId: uk.id, endpointKey: 'get_orders' },
  { instanceId: uk.id, endpointKey: 'get_products' },
])
const { flow: oldExport } = await addFlow(ctx.db, admin, 'Old export', [
  { instanceId: us.id, endpointKey: 'get_locations' },
])
await ctx.db.update(processFlows).set({ enabled: false }).where(eq(processFlows.id, oldExport.id))
const breakingVersion = await publishNextVersion(ctx.db, 'shopify', (d) => {
  endpoint(d, 'get_orders').url = '/orders.json?status={{order_status}}&limit=100'
  d.endpoints = d.endpoints.filter((e) => e.key !== 'get_locations')
  d.authMethods = d.authMethods.filter((a) => a.key !== 'oauth')
})

t.test(
  'the update choice lists every instance, the flows and shapes using it, and flags what the new version breaks',
  async (t) => {
    const page = await client.get(`/connectors/${shop.id}/update`)
    t.equal(page.statusCode, 200)
    const impact = textOf(/<section class="impact"[\s\S]*?<\/section>/.exec(page.body)![0])
    t.match(
      impact,
      `${shop.name} has 3 instances, used by 3 connection shapes in 2 process flows (1 enabled). 3 breaking changes`,
    )
    t.match(
      impact,
      /Shopify - UK authentication: Admin API access token \(custom app\) Orders sync \(enabled\): shape 1 uses Get orders breaking: endpoint changed \(URL\); shape 2 uses Get products Shopify - US/,
    )
    t.match(
      impact,
      /Shopify - US authentication: [^·]*? breaking: authentication method removed Old export \(disabled\): shape 1 uses Get locations breaking: endpoint removed/,
    )
    t.match(impact, 'Shopify - spare authentication: Admin API access token (custom app) · no process flow uses it')
    t.notMatch(impact, /Get products breaking/, 'an endpoint the version keeps as it was is not flagged')
  },
)

t.test(
  'install alongside: the choice says the instances stay, and what is left to do flags the shapes the new version breaks',
  async (t) => {
    await modify(shop.id, (d) => {
      d.endpoints.push({ ...d.endpoints[0]!, key: 'get_refunds', name: 'Get refunds' })
    })
    const choice = await client.get(`/connectors/${shop.id}/update`)
    t.match(
      textOf(choice.body),
      `${shop.name} and its instances are not touched: its 3 instances stay on it until you move them over, in stages if you like.`,
    )
    const action = `/connectors/${shop.id}/install-alongside`
    const installed = await client.post(action, {
      revision: '2',
      version: breakingVersion,
      submission: submissionOf(choice.body, action),
    })
    t.equal(installed.statusCode, 303)
    const text = textOf((await client.get(installed.headers.location as string)).body)
    t.match(text, 'Shopify - spare Shopify - UK Shopify - US', 'every instance to move')
    t.match(
      text,
      `Old export (disabled): 1 connection shape using Shopify - US 1 breaking: its endpoint removed or changed in version ${breakingVersion}`,
    )
    t.match(
      text,
      `Orders sync (enabled): 2 connection shapes using Shopify - UK 1 breaking: its endpoint removed or changed in version ${breakingVersion}`,
    )
  },
)

t.test('the remove page lists what the connector still has before anything is typed', async (t) => {
  const page = await client.get(`/connectors/${shop.id}/delete`)
  const text = textOf(page.body)
  t.match(text, `${shop.name} still has 3 instances, used by 3 connection shapes in 2 process flows (1 enabled).`)
  t.match(text, 'Old export (disabled): shape 1 uses Get locations')
  t.match(text, `While ${shop.name} has instances, the delete operation is cancelled: remove these instances first.`)
  t.notMatch(text, 'breaking', 'removing changes no endpoint: nothing is flagged')
  const empty = await install(ctx.db, admin, 'klaviyo')
  t.match(
    textOf((await client.get(`/connectors/${empty.id}/delete`)).body),
    `${empty.name} has no instances: nothing else is removed with it.`,
  )
})

t.test(
  'update and keep my changes without conflicts: one click, both sides combined, a new revision on the new version',
  async (t) => {
    const hub = await install(ctx.db, admin, 'hubspot')
    const before = await connectorRow(ctx.db, hub.id)
    const first = before.definition.endpoints[0]!
    await modify(hub.id, (d) => {
      d.endpoints.push({ ...first, key: 'get_refunds', name: 'Get refunds' })
    })
    const version = await publishNextVersion(ctx.db, 'hubspot', (d) => {
      d.endpoints[0]!.name = `${first.name} (v2)`
      d.dateFormat = 'Y-m-d'
    })

    const choice = await client.get(`/connectors/${hub.id}/update`)
    const text = textOf(choice.body)
    t.match(text, 'Update and keep my changes')
    t.match(text, 'no conflicts')
    const action = `/connectors/${hub.id}/merge`
    t.match(
      choice.body,
      new RegExp(
        `<form method="post" action="${action}"[\\s\\S]*?<button type="submit" class="primary">update and keep my changes</button>`,
      ),
    )

    const preview = textOf((await client.get(action)).body)
    t.match(preview, 'No conflicts')
    t.match(preview, 'Get refunds', 'the page says which of our changes are kept')

    const response = await client.post(action, {
      revision: '2',
      version,
      submission: submissionOf(choice.body, action),
    })
    t.equal(response.statusCode, 303)
    const after = await connectorRow(ctx.db, hub.id)
    t.ok(
      after.definition.endpoints.some((e) => e.key === 'get_refunds'),
      'our endpoint is kept',
    )
    t.equal(after.definition.endpoints[0]!.name, `${first.name} (v2)`, 'their change is taken')
    t.equal(after.definition.dateFormat, 'Y-m-d')
    const [based] = await ctx.db
      .select({ version: marketplaceVersions.version })
      .from(marketplaceVersions)
      .where(eq(marketplaceVersions.id, after.marketplaceVersionId))
    t.equal(based!.version, version, 'based on the new version: no update available any more')
    t.ok(after.modifiedAt, 'still modified: our change is in it')
    t.equal(after.revision, 3)
    const revisions = await revisionsOf(hub.id)
    t.match(revisions.at(-1)!.summary, `updated from version ${hub.version} to ${version}, keeping your changes; kept:`)
    t.equal(revisions.at(-1)!.marketplaceVersionId, after.marketplaceVersionId)
    t.equal((await auditOf(hub.id, 'merge update')).length, 1)
    t.match(
      textOf((await client.get(response.headers.location as string)).body),
      `${hub.name} is updated from version ${hub.version} to version ${version}. Your changes are kept:`,
    )
  },
)

t.test(
  'update and keep my changes with conflicts: side by side, mine or theirs per conflict, nothing saved until every one is answered',
  async (t) => {
    const bc = await install(ctx.db, admin, 'bigcommerce')
    const row = await connectorRow(ctx.db, bc.id)
    const [a, b] = row.definition.endpoints
    await modify(bc.id, (d) => {
      d.endpoints[0]!.url = `${a!.url}&ours=1`
      d.endpoints = d.endpoints.filter((e) => e.key !== b!.key)
    })
    const version = await publishNextVersion(ctx.db, 'bigcommerce', (d) => {
      d.endpoints[0]!.url = `${a!.url}&theirs=1`
      d.endpoints[1]!.name = `${b!.name} v2`
    })
    const choice = textOf((await client.get(`/connectors/${bc.id}/update`)).body)
    t.match(
      choice,
      '2 conflicts: your team and the vendor changed the same thing differently; choose mine or theirs for each',
    )

    const action = `/connectors/${bc.id}/merge`
    const page = await client.get(action)
    t.equal(page.statusCode, 200)
    const text = textOf(page.body)
    t.match(text, '2 conflicts to resolve')
    t.match(text, `mine: ${a!.url}&ours=1`)
    t.match(text, `theirs (version ${version}): ${a!.url}&theirs=1`)
    t.match(text, 'Your team removed this; the vendor changed it.')
    const fields = [...page.body.matchAll(/<input type="radio" name="([^"]+)" value="mine"/g)].map((m) => m[1]!)
    t.equal(fields.length, 2)
    t.ok(
      fields.every((f) => /^choice\.[A-Za-z0-9_.]+$/.test(f)),
      'form-safe names',
    )

    const preview = await client.post(action, { revision: '2', version, action: 'preview', [fields[0]!]: 'mine' })
    t.equal(preview.statusCode, 200, 'preview my choices (without JavaScript): the page again')
    t.match(
      textOf(preview.body),
      /Your changes kept on top of version [\d.]+ kept your change to endpoint “Get orders”: URL/,
    )
    t.match(preview.body, new RegExp(`name="${fields[0]!.replace(/\./g, '\\.')}" value="mine" checked`))
    const live = await client.post(
      action,
      { revision: '2', version, action: 'preview', [fields[0]!]: 'mine' },
      { 'hx-request': 'true', 'hx-request-type': 'partial' },
    )
    t.match(live.body, /^<div id="merge-preview">/, 'with htmx, a choice swaps only the preview')
    t.match(textOf(live.body), 'kept your change to endpoint “Get orders”: URL')
    t.equal((await connectorRow(ctx.db, bc.id)).revision, 2, 'a preview saves nothing')

    const submission = submissionOf(page.body, action)
    const unanswered = await client.post(action, { revision: '2', version, submission, [fields[0]!]: 'mine' })
    t.equal(unanswered.statusCode, 422)
    t.match(
      unanswered.body,
      new RegExp(`name="${fields[0]!.replace(/\./g, '\\.')}" value="mine" checked`),
      'the answer given is kept',
    )
    t.match(textOf(unanswered.body), 'Choose mine or theirs for this conflict.')
    t.equal((await connectorRow(ctx.db, bc.id)).revision, 2, 'nothing saved')

    const stale = await client.post(action, { revision: '1', version, [fields[0]!]: 'mine', [fields[1]!]: 'theirs' })
    t.equal(stale.statusCode, 409)
    t.match(textOf(stale.body), 'saved a change to this connector meanwhile (revision 2), so nothing was updated')

    const answers = { revision: '2', version, submission, [fields[0]!]: 'mine', [fields[1]!]: 'theirs' }
    const done = await client.post(action, answers)
    t.equal(done.statusCode, 303)
    const again = await client.post(action, answers)
    t.equal(again.statusCode, 303, 'a double submit answers the same')
    const after = await connectorRow(ctx.db, bc.id)
    t.equal(after.revision, 3, 'and saves once')
    t.equal(endpoint(after.definition, a!.key).url, `${a!.url}&ours=1`, 'mine where mine was chosen')
    t.equal(
      endpoint(after.definition, b!.key).name,
      `${b!.name} v2`,
      'theirs where theirs was chosen: the endpoint we removed is back',
    )
    t.match((await revisionsOf(bc.id)).at(-1)!.summary, /conflicts resolved: .*: mine; .*: theirs/)
    const [event] = await auditOf(bc.id, 'merge update')
    t.match(event!.summary, '(2 conflicts resolved)')
  },
)

t.test(
  'keep my changes: refused for a connector that is not modified or has no update, and for those who may not change connectors',
  async (t) => {
    const xero = await install(ctx.db, admin, 'xero')
    t.equal((await client.get(`/connectors/${xero.id}/merge`)).statusCode, 409, 'no update to take')
    const readOnly = await signedIn(ctx.app, ctx.company.users['read-only'])
    t.equal((await readOnly.get(`/connectors/${shop.id}/merge`)).statusCode, 403)
  },
)

t.test(
  'roll back to any revision: the impact first, then a new revision that restores it; the history keeps everything',
  async (t) => {
    const mc = await install(ctx.db, admin, 'mailchimp')
    const original = (await connectorRow(ctx.db, mc.id)).definition
    const inst = await addInstance(ctx.db, admin, mc.id, 'Mailchimp - main', original.authMethods[0]!.key)
    await addFlow(ctx.db, admin, 'Newsletter', [{ instanceId: inst.id, endpointKey: original.endpoints[0]!.key }])
    await modify(mc.id, (d) => {
      d.endpoints[0]!.method = d.endpoints[0]!.method === 'GET' ? 'POST' : 'GET'
      d.dateFormat = 'd/m/Y'
    })
    const version = await publishNextVersion(ctx.db, 'mailchimp')

    const revisionPage = await client.get(`/connectors/${mc.id}/revisions/1`)
    t.match(revisionPage.body, `href="/connectors/${mc.id}/revisions/1/rollback">roll back to revision 1</a>`)
    t.notMatch(
      (await client.get(`/connectors/${mc.id}/revisions/2`)).body,
      'roll back to revision 2',
      'not offered for the current revision',
    )

    const page = await client.get(`/connectors/${mc.id}/revisions/1/rollback`)
    t.equal(page.statusCode, 200)
    const text = textOf(page.body)
    t.match(text, `Roll back ${mc.name} to revision 1?`)
    t.match(text, 'date format')
    t.match(text, /Newsletter \(enabled\): shape 1 uses .* breaking: endpoint changed \(HTTP method\)/)
    const action = `/connectors/${mc.id}/revisions/1/rollback`
    const stale = await client.post(action, { revision: '1' })
    t.equal(stale.statusCode, 409)
    t.match(textOf(stale.body), 'so nothing was rolled back')
    const response = await client.post(action, { revision: '2', submission: submissionOf(page.body, action) })
    t.equal(response.statusCode, 303)
    t.match(
      textOf((await client.get(response.headers.location as string)).body),
      `${mc.name} is rolled back to revision 1, saved as revision 3.`,
    )
    const after = await connectorRow(ctx.db, mc.id)
    t.same(after.definition, original)
    t.equal(after.modifiedAt, null, "the definition is version 1's own again: not modified")
    const revisions = await revisionsOf(mc.id)
    t.same(
      revisions.map((r) => r.number),
      [1, 2, 3],
      'nothing lost',
    )
    t.equal(revisions[2]!.summary, 'rolled back to revision 1')
    t.equal((await auditOf(mc.id, 'roll back')).length, 1)
    t.equal(
      (await client.post(`/connectors/${mc.id}/revisions/3/rollback`, { revision: '3' })).statusCode,
      409,
      'the current revision is not rolled back to',
    )

    // Across an update: rolling back to before it goes back to the old version, whose update is offered again.
    const choice = await client.get(`/connectors/${mc.id}/update`)
    t.equal(
      (
        await client.post(`/connectors/${mc.id}/update`, {
          revision: '3',
          version,
          submission: submissionOf(choice.body, `/connectors/${mc.id}/update`),
        })
      ).statusCode,
      303,
    )
    t.equal((await client.post(`/connectors/${mc.id}/revisions/3/rollback`, { revision: '4' })).statusCode, 303)
    const back = await connectorRow(ctx.db, mc.id)
    const [based] = await ctx.db
      .select({ version: marketplaceVersions.version })
      .from(marketplaceVersions)
      .where(eq(marketplaceVersions.id, back.marketplaceVersionId))
    t.equal(based!.version, mc.version)
    t.equal((await revisionsOf(mc.id)).at(-1)!.summary, `rolled back to revision 3 (back to version ${mc.version})`)
    t.match(textOf((await client.get(`/connectors/${mc.id}/update`)).body), `Update available for ${mc.name}`)

    const user = await signedIn(ctx.app, ctx.company.users.user)
    t.equal((await user.get(`/connectors/${mc.id}/revisions/1/rollback`)).statusCode, 403)
    t.equal((await client.get(`/connectors/${mc.id}/revisions/99/rollback`)).statusCode, 404)
  },
)

t.test('another company cannot see or use any of these pages', async (t) => {
  const other = await signedIn(ctx.app, ctx.other.users.administrator)
  for (const url of [
    `/connectors/${shop.id}/merge`,
    `/connectors/${shop.id}/revisions/1/rollback`,
    `/connectors/${shop.id}/update`,
  ]) {
    t.equal((await other.get(url)).statusCode, 404, url)
  }
  t.equal(
    (await other.post(`/connectors/${shop.id}/merge`, { revision: '1', version: breakingVersion })).statusCode,
    404,
  )
  t.equal((await other.post(`/connectors/${shop.id}/revisions/1/rollback`, { revision: '1' })).statusCode, 404)
  const [row] = await ctx.db
    .select({ revision: connectors.revision })
    .from(connectors)
    .where(eq(connectors.id, shop.id))
  t.equal(row!.revision, 2, 'nothing changed since the alongside test')
})
