import t from 'tap'
import { and, asc, eq } from 'drizzle-orm'
import {
  auditEvents,
  connectionShapes,
  connectorRevisions,
  connectors,
  instances,
  processFlows,
} from '../../src/db/schema.js'
import { saveDefinition } from '../../src/domain/revisions.js'
import type { ConnectorDefinition } from '../../src/domain/definition.js'
import { setup, signedIn, textOf, type Client } from '../helpers.js'
import {
  addFlow,
  addInstance,
  connectorRow,
  install,
  installCustom,
  publishNextVersion,
} from '../connector-fixtures.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const client = await signedIn(ctx.app, admin)
const FRAGMENT = { 'hx-request': 'true', 'hx-request-type': 'partial', 'hx-target': 'dialog#modal' }

const refunds = {
  key: 'get_refunds',
  name: 'Get refunds',
  entity: 'Refunds',
  direction: 'receive' as const,
  method: 'GET' as const,
  url: '/v3/orders/payment_actions/refunds',
  variables: [],
}

/** The connector's block on manage connectors. */
async function listed(c: Client, connector: { id: string; name: string }) {
  const page = await c.get(`/connectors?q=${encodeURIComponent(connector.name)}`)
  const block = new RegExp(
    `<li class="connector" id="connector-${connector.id}">[\\s\\S]*?</li>\\s*(?=<li class="connector"|</ul>)`,
  ).exec(page.body)
  return block?.[0] ?? ''
}

const updateButton = (id: string) =>
  new RegExp(
    `<a class="button update-available" href="/connectors/${id}/update" data-hx-get="/connectors/${id}/update" data-hx-target="#modal" data-hx-swap="innerHTML" data-opens-dialog>update available<`,
  )

/** Modifies a connector as an admin would: adds an endpoint through saveDefinition. */
async function modify(
  id: string,
  change: (d: ConnectorDefinition) => void = (d) => {
    d.endpoints.push(refunds)
  },
) {
  const row = await connectorRow(ctx.db, id)
  const definition = structuredClone(row.definition)
  change(definition)
  return saveDefinition(ctx.db, admin, { connectorId: id, revision: row.revision, definition })
}

/** The forms of the update choice: action → hidden fields (without the one-time keys) and button. */
function formsOf(html: string) {
  return [...html.matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].map(
    ([, action, body]) => ({
      action,
      fields: [...body!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
        .filter(([, name]) => name !== 'submission' && name !== '_csrf')
        .map(([, name, value]) => `${name}=${value}`),
      button: /<button type="submit"[^>]*>([^<]+)<\/button>/.exec(body!)?.[1],
    }),
  )
}

const submissionOf = (html: string, action: string) =>
  new RegExp(`action="${action}"[^>]*>[\\s\\S]*?name="submission" value="([^"]+)"`).exec(html)![1]!

t.test('"update available" appears when a newer version is published and disappears once updated', async (t) => {
  const hubspot = await install(ctx.db, admin, 'hubspot')
  t.notMatch(await listed(client, hubspot), 'update available', 'no button: the connector is up to date')
  const upToDate = await client.get(`/connectors/${hubspot.id}/update`)
  t.match(textOf(upToDate.body), `${hubspot.name} is up to date`)
  t.equal(formsOf(upToDate.body).filter((f) => f.action!.startsWith('/connectors/')).length, 0)

  const version = await publishNextVersion(ctx.db, 'hubspot')
  t.match(await listed(client, hubspot), updateButton(hubspot.id))
  const readOnly = await signedIn(ctx.app, ctx.company.users['read-only'])
  t.notMatch(await listed(readOnly, hubspot), 'update available', 'only those who may update see the button')
  t.equal((await readOnly.get(`/connectors/${hubspot.id}/update`)).statusCode, 403)

  const choice = await client.get(`/connectors/${hubspot.id}/update`)
  const response = await client.post(`/connectors/${hubspot.id}/update`, {
    revision: '1',
    version,
    submission: submissionOf(choice.body, `/connectors/${hubspot.id}/update`),
  })
  t.equal(response.statusCode, 303)
  t.match(
    textOf((await client.get(response.headers.location as string)).body),
    `${hubspot.name} is updated from version ${hubspot.version} to version ${version}. It has no instances yet. The update is in its revision history.`,
  )
  t.notMatch(await listed(client, hubspot), 'update available', 'gone once updated')
  t.match(await listed(client, hubspot), `version ${version}`)
})

t.test('custom connectors never show "update available"', async (t) => {
  const custom = await installCustom(ctx.db, admin, 'Our Feed')
  t.notMatch(await listed(client, custom), 'update available', 'even though its marketplace entry has a second version')
  const choice = await client.get(`/connectors/${custom.id}/update`)
  t.match(textOf(choice.body), 'is a custom connector: it is managed by whoever built it and never gets vendor updates')
  const refused = await client.post(`/connectors/${custom.id}/update`, {
    revision: '1',
    version: 'Version 2 - 1st August 2023',
  })
  t.equal(refused.statusCode, 409)
})

t.test(
  'not modified: update in place shows the release notes first, keeps instance ids and their shapes, and is recorded',
  async (t) => {
    const xero = await install(ctx.db, admin, 'xero')
    const instance = await addInstance(ctx.db, admin, xero.id, 'Xero - UK', 'oauth')
    const { flow, shapes } = await addFlow(ctx.db, admin, 'Invoices to Xero', [
      { instanceId: instance.id, endpointKey: 'get_invoices' },
    ])
    const version = await publishNextVersion(
      ctx.db,
      'xero',
      (d) => {
        d.endpoints.push({ ...refunds, key: 'get_overpayments', name: 'Get overpayments', url: '/Overpayments' })
      },
      'Adds the "Get overpayments" endpoint.',
    )
    const before = await connectorRow(ctx.db, xero.id)

    const fragment = await client.get(`/connectors/${xero.id}/update`, FRAGMENT)
    t.equal(fragment.statusCode, 200)
    t.notMatch(fragment.body, '<html', 'htmx gets the fragment for the modal')
    t.match(fragment.body, /<h2 id="modal-title">Update available for/)
    t.match(fragment.body, /data-closes-dialog/)
    const text = textOf(fragment.body)
    t.match(
      text,
      `Version ${version} of Xero is in the marketplace. ${xero.name} is based on version ${xero.version} and has not been modified, so it is updated in place: its instances keep working with it.`,
    )
    t.match(text, `Version ${version} released 20 Nov 2026`)
    t.match(text, 'Adds the "Get overpayments" endpoint.')
    t.match(text, 'added endpoint Get overpayments')
    t.notMatch(text, "If in doubt, don't overwrite!")
    t.same(formsOf(fragment.body), [
      {
        action: `/connectors/${xero.id}/update`,
        fields: [`revision=${before.revision}`, `version=${version}`],
        button: 'update',
      },
    ])

    const submission = submissionOf(fragment.body, `/connectors/${xero.id}/update`)
    const [first, second] = await Promise.all([
      client.post(`/connectors/${xero.id}/update`, { revision: String(before.revision), version, submission }),
      client.post(`/connectors/${xero.id}/update`, { revision: String(before.revision), version, submission }),
    ])
    t.equal(first.statusCode, 303)
    t.equal(second.statusCode, 303, 'a double-submitted form does the work once and answers the same')
    t.match(first.headers.location, new RegExp(`^/connectors\\?page=\\d+#connector-${xero.id}$`))
    const flash = textOf((await client.get(first.headers.location as string)).body)
    // Both answers set the flash; the browser shows the last one, which may be the repeat's.
    t.match(
      flash,
      new RegExp(
        `${xero.name} is updated (from version ${xero.version} )?to version ${version}\\. Its instance keeps working with it`,
      ),
    )

    const after = await connectorRow(ctx.db, xero.id)
    t.equal(after.id, before.id)
    t.equal(after.revision, before.revision + 1, 'one update')
    t.ok(
      after.definition.endpoints.some((e) => e.key === 'get_overpayments'),
      "the definition is the new version's",
    )
    t.equal(after.modifiedAt, null)
    t.not(after.marketplaceVersionId, before.marketplaceVersionId)
    const [kept] = await ctx.db.select().from(instances).where(eq(instances.connectorId, xero.id))
    t.same(
      { id: kept!.id, connectorId: kept!.connectorId, authMethodKey: kept!.authMethodKey },
      { id: instance.id, connectorId: xero.id, authMethodKey: 'oauth' },
    )
    const keptShapes = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flow.id))
    t.same(
      keptShapes.map((s) => [s.id, s.instanceId, s.endpointKey]),
      shapes.map((s) => [s.id, instance.id, 'get_invoices']),
    )

    const [revision] = await ctx.db
      .select()
      .from(connectorRevisions)
      .where(and(eq(connectorRevisions.connectorId, xero.id), eq(connectorRevisions.number, after.revision)))
    t.equal(revision!.summary, `updated from version ${xero.version} to ${version}`)
    const events = await ctx.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.subjectId, xero.id), eq(auditEvents.action, 'update')))
    t.equal(events.length, 1)
    t.match(events[0], {
      actorId: admin.id,
      details: {
        from: xero.version,
        to: version,
        releaseNotes: [{ version, releaseNotes: 'Adds the "Get overpayments" endpoint.' }],
      },
    })
  },
)

t.test('modified: the modal fragment and the full page carry the same choice and the warning', async (t) => {
  const bigcommerce = await install(ctx.db, admin, 'bigcommerce')
  await modify(bigcommerce.id)
  await modify(bigcommerce.id, (d) => {
    d.variables.find((v) => v.key === 'store_hash')!.label = 'Store hash (from the API path)'
  })
  const version = await publishNextVersion(ctx.db, 'bigcommerce', () => {}, 'Faster order sync.')
  const row = await connectorRow(ctx.db, bigcommerce.id)
  t.match(await listed(client, bigcommerce), updateButton(bigcommerce.id), 'a modified connector shows the button too')
  t.match(await listed(client, bigcommerce), `modified by ${admin.name} on`)

  const fragment = await client.get(`/connectors/${bigcommerce.id}/update`, FRAGMENT)
  const page = await client.get(`/connectors/${bigcommerce.id}/update`)
  t.match(page.body, /^<!doctype html>/, 'without htmx: the same content as a full page')
  t.notMatch(fragment.body, '<html')
  const partial = /<div class="update-choice">[\s\S]*<\/div>/
  t.equal(
    textOf(partial.exec(fragment.body)![0]).replace(/[0-9a-f-]{36}/g, ''),
    textOf(partial.exec(page.body)![0]).replace(/[0-9a-f-]{36}/g, ''),
    'the same text',
  )
  const choices = [
    {
      action: `/connectors/${bigcommerce.id}/overwrite`,
      fields: [`revision=${row.revision}`, `version=${version}`],
      button: 'overwrite',
    },
    {
      action: `/connectors/${bigcommerce.id}/merge`,
      fields: [`revision=${row.revision}`, `version=${version}`],
      button: 'update and keep my changes',
    },
    {
      action: `/connectors/${bigcommerce.id}/install-alongside`,
      fields: [`revision=${row.revision}`, `version=${version}`],
      button: 'install',
    },
  ]
  t.same(formsOf(fragment.body), choices)
  t.same(formsOf(partial.exec(page.body)![0]), choices)
  const text = textOf(fragment.body)
  t.match(text, "If in doubt, don't overwrite!")
  t.match(
    text,
    `What overwrite loses: the customisations of ${bigcommerce.name} Compared with version ${bigcommerce.version}, your team has: changed variable Store hash (from the API path) (label) added endpoint Get refunds`,
  )
  t.match(text, `Version ${version} released`)
  t.match(text, 'Faster order sync.')
  t.match(text, `installed as a second connector, BigCommerce ${version} , with no instances`)
  t.equal(
    (await client.post(`/connectors/${bigcommerce.id}/update`, { revision: String(row.revision), version })).statusCode,
    409,
    'a modified connector is not updated in place',
  )
})

t.test(
  'overwrite: customisations gone from the connector but kept in its history; instances stay attached',
  async (t) => {
    const shopify = await install(ctx.db, admin, 'shopify')
    const instance = await addInstance(ctx.db, admin, shopify.id, 'Shopify - EU', 'admin_api_token')
    await addFlow(ctx.db, admin, 'EU orders', [{ instanceId: instance.id, endpointKey: 'get_refunds' }])
    const saved = await modify(shopify.id)
    const version = await publishNextVersion(ctx.db, 'shopify')
    const choice = await client.get(`/connectors/${shopify.id}/update`)
    t.match(textOf(choice.body), 'What an overwrite touches')
    t.match(
      textOf(choice.body),
      /EU orders \(enabled\) : shape 1 uses Get refunds breaking: endpoint removed/,
      'the flow whose shape loses its endpoint is named',
    )

    const stale = await client.post(`/connectors/${shopify.id}/overwrite`, {
      revision: String(saved.revision - 1),
      version,
    })
    t.equal(stale.statusCode, 409, 'an overwrite based on what the screen showed before a later change is refused')

    const form = {
      revision: String(saved.revision),
      version,
      submission: submissionOf(choice.body, `/connectors/${shopify.id}/overwrite`),
    }
    const response = await client.post(`/connectors/${shopify.id}/overwrite`, form)
    t.equal(response.statusCode, 303)
    t.match(
      textOf((await client.get(response.headers.location as string)).body),
      `${shopify.name} is overwritten with version ${version}. Its customisations are gone from it but kept in its revision history (revision ${saved.revision}). Its instance stays attached.`,
    )
    t.equal(
      (await client.post(`/connectors/${shopify.id}/overwrite`, form)).statusCode,
      303,
      'a double-submitted form answers the same',
    )

    const row = await connectorRow(ctx.db, shopify.id)
    t.notOk(
      row.definition.endpoints.some((e) => e.key === 'get_refunds'),
      'the customisation is gone',
    )
    t.equal(row.modifiedAt, null)
    t.equal(row.modifiedBy, null)
    t.equal(row.revision, saved.revision + 1, 'overwritten once')
    const history = await ctx.db
      .select()
      .from(connectorRevisions)
      .where(eq(connectorRevisions.connectorId, shopify.id))
      .orderBy(asc(connectorRevisions.number))
    t.ok(
      history.find((r) => r.number === saved.revision)!.definition.endpoints.some((e) => e.key === 'get_refunds'),
      'the customised definition stays in the history',
    )
    t.match(
      history.at(-1)!.summary,
      `overwritten with version ${version} (was ${shopify.version}); customisations removed (see revision ${saved.revision}): added endpoint Get refunds`,
    )
    const revisionPage = await client.get(`/connectors/${shopify.id}/revisions/${saved.revision}`)
    t.match(revisionPage.body, '&quot;key&quot;: &quot;get_refunds&quot;', 'an admin can still read them')
    const [kept] = await ctx.db.select().from(instances).where(eq(instances.id, instance.id))
    t.equal(kept!.connectorId, shopify.id)
    t.notMatch(await listed(client, shopify), 'update available')
    const [event] = await ctx.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.subjectId, shopify.id), eq(auditEvents.action, 'overwrite')))
    t.match(event, {
      actorId: admin.id,
      details: { to: version, customisations: ['added endpoint Get refunds'], customisedRevision: saved.revision },
    })
  },
)

t.test('install alongside: two connectors, nothing moved, and what is left to do', async (t) => {
  const linnworks = await install(ctx.db, admin, 'linnworks')
  const authMethod = (await connectorRow(ctx.db, linnworks.id)).definition.authMethods[0]!.key
  const endpoint = (await connectorRow(ctx.db, linnworks.id)).definition.endpoints[0]!.key
  const uk = await addInstance(ctx.db, admin, linnworks.id, 'Linnworks - UK', authMethod)
  const us = await addInstance(ctx.db, admin, linnworks.id, 'Linnworks - US', authMethod)
  const { flow: ukFlow } = await addFlow(ctx.db, admin, 'UK stock', [
    { instanceId: uk.id, endpointKey: endpoint },
    { instanceId: uk.id, endpointKey: endpoint },
  ])
  const { flow: usFlow } = await addFlow(ctx.db, admin, 'US stock', [{ instanceId: us.id, endpointKey: endpoint }])
  await addFlow(ctx.db, admin, 'Unrelated', [])
  await modify(linnworks.id)
  const version = await publishNextVersion(ctx.db, 'linnworks')
  const before = await connectorRow(ctx.db, linnworks.id)
  const instancesBefore = await ctx.db
    .select()
    .from(instances)
    .where(eq(instances.connectorId, linnworks.id))
    .orderBy(asc(instances.name))

  const choice = await client.get(`/connectors/${linnworks.id}/update`)
  t.match(textOf(choice.body), 'its 2 instances stay on it until you move them over, in stages if you like')
  t.match(textOf(choice.body), 'the 2 instances and where they are used')
  t.match(textOf(choice.body), 'used by 3 connection shapes in 2 process flows (all enabled)')
  const submission = submissionOf(choice.body, `/connectors/${linnworks.id}/install-alongside`)
  const form = { revision: String(before.revision), version, submission }
  const [first, second] = await Promise.all([
    client.post(`/connectors/${linnworks.id}/install-alongside`, form),
    client.post(`/connectors/${linnworks.id}/install-alongside`, form),
  ])
  t.equal(first.statusCode, 303)
  t.equal(second.headers.location, first.headers.location, 'a double-submitted form installs once')
  const copies = await ctx.db
    .select()
    .from(connectors)
    .where(
      and(
        eq(connectors.companyId, ctx.company.id),
        eq(connectors.marketplaceConnectorId, before.marketplaceConnectorId),
      ),
    )
  t.equal(copies.length, 2, 'two connectors')
  const added = copies.find((c) => c.id !== linnworks.id)!
  t.equal(added.name, `Linnworks ${version}`, 'named so both can be told apart')
  t.equal(added.revision, 1)
  t.equal(added.modifiedAt, null)
  t.equal(first.headers.location, `/connectors/${added.id}/installed-alongside/${linnworks.id}`)
  t.same(await ctx.db.select().from(instances).where(eq(instances.connectorId, added.id)), [], 'no instances')
  t.same(await connectorRow(ctx.db, linnworks.id), before, 'the existing connector is untouched')
  t.same(
    await ctx.db.select().from(instances).where(eq(instances.connectorId, linnworks.id)).orderBy(asc(instances.name)),
    instancesBefore,
    'and so are its instances',
  )

  const landing = await client.get(first.headers.location as string)
  t.equal(landing.statusCode, 200)
  const text = textOf(landing.body)
  t.match(
    text,
    `Linnworks ${version} is installed alongside ${linnworks.name}. Here is what is left to do.`,
    'the new name carries its version: not said twice',
  )
  t.match(
    text,
    `You now have two connectors on your manage connectors page: ${linnworks.name} (version ${linnworks.version}) with its 2 instances, untouched, and Linnworks ${version} with no instances.`,
  )
  t.match(text, 'Apply your modifications to the new version')
  t.match(text, 'added endpoint Get refunds')
  t.match(landing.body, `href="/connectors/${added.id}/settings"`)
  t.match(text, 'Create new instances')
  t.match(text, 'Linnworks - UK Linnworks - US')
  t.match(landing.body, `href="/connectors/${added.id}/instances/new"`)
  t.match(text, 'Update the connection shapes of the affected process flows')
  t.match(
    landing.body,
    `<a href="/process-flows/${ukFlow.id}">UK stock</a> (enabled): 2 connection shapes using Linnworks - UK`,
  )
  t.match(landing.body, `<a href="/process-flows/${usFlow.id}">US stock</a>`)
  t.notMatch(text, 'Unrelated')

  const list = await client.get('/connectors?q=linnworks')
  t.match(textOf(list.body), '2 connectors matching “linnworks”', 'both are on manage connectors')
  t.match(await listed(client, { id: added.id, name: added.name }), `version ${version}`)
  t.notMatch(await listed(client, { id: added.id, name: added.name }), 'update available')
  const [event] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, added.id), eq(auditEvents.action, 'install alongside')))
  t.match(event, { actorId: admin.id, details: { alongside: linnworks.id, version } })
})

t.test('update sentences read right for one instance and for none', async (t) => {
  const mintsoft = await install(ctx.db, admin, 'mintsoft')
  const definition = (await connectorRow(ctx.db, mintsoft.id)).definition
  const only = await addInstance(ctx.db, admin, mintsoft.id, 'Mintsoft - UK', definition.authMethods[0]!.key)
  const { flow } = await addFlow(ctx.db, admin, 'Dispatch', [
    { instanceId: only.id, endpointKey: definition.endpoints[0]!.key },
  ])
  await ctx.db.update(processFlows).set({ enabled: false }).where(eq(processFlows.id, flow.id))
  const lone = await install(ctx.db, admin, 'klaviyo')
  await modify(mintsoft.id)
  await modify(lone.id, (d) => {
    d.dateFormat = 'd/m/Y'
  })
  const [mintsoftVersion, loneVersion] = [
    await publishNextVersion(ctx.db, 'mintsoft'),
    await publishNextVersion(ctx.db, 'klaviyo'),
  ]

  const one = textOf((await client.get(`/connectors/${mintsoft.id}/update`)).body)
  t.match(one, 'its instance stays on it until you move it over, in stages if you like')
  t.match(one, 'the instance and where it is used')
  t.match(one, 'used by 1 connection shape in 1 process flow (disabled)')
  const none = textOf((await client.get(`/connectors/${lone.id}/update`)).body)
  t.match(none, `${lone.name} and its instances are not touched.`, 'nothing said of instances it does not have')

  const row = await connectorRow(ctx.db, mintsoft.id)
  const choice = await client.get(`/connectors/${mintsoft.id}/update`)
  const moved = await client.post(`/connectors/${mintsoft.id}/install-alongside`, {
    revision: String(row.revision),
    version: mintsoftVersion,
    submission: submissionOf(choice.body, `/connectors/${mintsoft.id}/install-alongside`),
  })
  const page = textOf((await client.get(moved.headers.location as string)).body)
  t.match(page, `Mintsoft ${mintsoftVersion} is installed alongside Mintsoft.`)
  t.match(
    page,
    `Mintsoft (version ${mintsoft.version}) with its instance, untouched, and Mintsoft ${mintsoftVersion} with no instances.`,
  )
  const loneRow = await connectorRow(ctx.db, lone.id)
  const loneChoice = await client.get(`/connectors/${lone.id}/update`)
  const alone = await client.post(`/connectors/${lone.id}/install-alongside`, {
    revision: String(loneRow.revision),
    version: loneVersion,
    submission: submissionOf(loneChoice.body, `/connectors/${lone.id}/install-alongside`),
  })
  t.match(
    textOf((await client.get(alone.headers.location as string)).body),
    `Klaviyo (version ${lone.version}) with no instances, untouched, and Klaviyo ${loneVersion} with no instances.`,
  )
})

t.test('updates are for those who may change connectors, in their own company', async (t) => {
  const xero = await install(ctx.db, ctx.other.users.administrator, 'xero')
  const theirs = await connectorRow(ctx.db, xero.id)
  for (const action of ['update', 'overwrite', 'install-alongside']) {
    t.equal(
      (await client.post(`/connectors/${xero.id}/${action}`, { revision: String(theirs.revision), version: '9.9.9' }))
        .statusCode,
      404,
      `${action}: another company's connector`,
    )
  }
  t.equal((await client.get(`/connectors/${xero.id}/update`)).statusCode, 404)
  const user = await signedIn(ctx.app, ctx.company.users.user)
  const mine = await install(ctx.db, admin, 'klaviyo')
  for (const action of ['update', 'overwrite', 'install-alongside']) {
    t.equal(
      (await user.post(`/connectors/${mine.id}/${action}`, { revision: '1', version: '9.9.9' })).statusCode,
      403,
      `${action}: a user's role`,
    )
  }
})
