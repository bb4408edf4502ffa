import t from 'tap'
import { and, asc, count, eq } from 'drizzle-orm'
import {
  auditEvents,
  connectionShapes,
  instances,
  migrationBatches,
  migrationInstances,
  migrationShapes,
  processFlows,
} from '../../src/db/schema.js'
import { createInstance } from '../../src/domain/instances.js'
import { addShape } from '../../src/domain/connection-shapes.js'
import { Invalid } from '../../src/domain/errors.js'
import { applyMigration, undoMigration } from '../../src/domain/instance-moves/index.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { installVersionAlongside } from '../../src/domain/install-alongside.js'
import { removeConnector } from '../../src/domain/connectors.js'
import { randomUUID } from 'node:crypto'
import { hiddenFields as formOf, setup, signedIn, testConfig, textOf } from '../helpers.js'
import { addFlow, install, publishNextVersion } from '../connector-fixtures.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const client = await signedIn(ctx.app, admin)
const box = new SecretBox(testConfig().encryptionKey)

// The old connector: Shopify as installed today, with three instances used by process flows.
const old = await install(ctx.db, admin, 'shopify')
const newInstance = (name: string, authMethod: string, values: Record<string, string>) =>
  createInstance(ctx.db, admin, box, {
    connectorId: old.id,
    name,
    timeZone: 'Europe/London',
    dateFormat: 'd/m/Y',
    rateLimitAmount: '3',
    rateLimitUnit: 'second',
    authMethod,
    values,
  })
const uk = await newInstance('Shopify - UK', 'admin_api_token', {
  'auth.access_token': 'shpat_uk',
  'var.shop_domain': 'acme-uk.myshopify.com',
  'var.order_status': 'open',
  'var.location_id': '42',
})
const us = await newInstance('Shopify - US', 'admin_api_token', {
  'auth.access_token': 'shpat_us',
  'var.shop_domain': 'acme-us.myshopify.com',
})
const eu = await newInstance('Shopify - EU', 'oauth', {
  'auth.client_id': 'eu-client',
  'auth.client_secret': 'eu-secret',
  'auth.authorisation_url': 'https://acme-eu.example/authorize',
  'auth.token_url': 'https://acme-eu.example/token',
  'var.shop_domain': 'acme-eu.myshopify.com',
})
const fr = await newInstance('Shopify - FR', 'admin_api_token', {
  'auth.access_token': 'shpat_fr',
  'var.shop_domain': 'acme-fr.myshopify.com',
})
const orders = await addFlow(ctx.db, admin, 'Orders sync', [
  { instanceId: uk.id, endpointKey: 'get_orders' },
  { instanceId: uk.id, endpointKey: 'get_customers' },
])
const stock = await addFlow(ctx.db, admin, 'Stock', [
  { instanceId: uk.id, endpointKey: 'set_inventory_level' },
  { instanceId: us.id, endpointKey: 'get_orders' },
])
await ctx.db.update(processFlows).set({ enabled: false }).where(eq(processFlows.id, stock.flow.id))
const europe = await addFlow(ctx.db, admin, 'EU orders', [{ instanceId: eu.id, endpointKey: 'get_orders' }])

// The vendor's next version drops the "Get customers" endpoint, the location variable and the OAuth
// method's key, and asks for a new required variable; it is installed alongside.
const version = await publishNextVersion(ctx.db, 'shopify', (d) => {
  d.variables = d.variables.filter((v) => v.key !== 'location_id')
  d.variables.push({ key: 'api_version', label: 'API version', secret: false, required: true })
  for (const e of d.endpoints) e.url = e.url.replace('{{location_id}}', 'all')
  d.endpoints = d.endpoints.filter((e) => e.key !== 'get_customers')
  d.authMethods = d.authMethods.map((m) =>
    m.key === 'oauth' ? { ...m, key: 'oauth2', name: 'OAuth 2 (public app)' } : m,
  )
})
const alongside = await installVersionAlongside(ctx.db, admin, { connectorId: old.id, version })
const migrate = `/connectors/${alongside.id}/migrate`

type Form = Record<string, string | string[]>

/** The hidden fields of the preview form, as a browser would send them back. */
function hiddenFields(html: string): Form {
  const form: Record<string, string[]> = {}
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    if (name === '_csrf') continue
    const decoded = value!
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
    ;(form[name!] ??= []).push(decoded)
  }
  return form
}

const shapesOf = async (flowId: string) =>
  (
    await ctx.db
      .select()
      .from(connectionShapes)
      .where(eq(connectionShapes.processFlowId, flowId))
      .orderBy(asc(connectionShapes.position))
  ).map((s) => [s.instanceId, s.endpointKey])

const copiesIn = (connectorId: string) =>
  ctx.db.select().from(instances).where(eq(instances.connectorId, connectorId)).orderBy(asc(instances.name))

async function snapshot() {
  const rows = await Promise.all(
    [instances, connectionShapes, migrationBatches, migrationInstances, migrationShapes].map((table) =>
      ctx.db.select().from(table),
    ),
  )
  const [{ n }] = (await ctx.db.select({ n: count() }).from(auditEvents)) as [{ n: number }]
  return JSON.stringify([rows.map((r) => r.length), rows[0], rows[1], n])
}

/** Picker → preview: the preview page for these choices. */
const previewOf = (form: Form) =>
  client.post(migrate, { from: old.id, suffix: ` (${version})`, action: 'preview', ...form })

/** Picker → preview → apply with the preview's hidden fields and `extra` choices. */
async function apply(form: Form, extra: Form = {}) {
  const preview = await previewOf(form)
  if (preview.statusCode !== 200)
    throw new Error(`preview answered ${preview.statusCode}: ${textOf(preview.body).slice(0, 300)}`)
  return client.post(migrate, { ...hiddenFields(preview.body), ...extra, action: 'apply' })
}

t.test('installed alongside: the next steps lead to "move instances in stages"', async (t) => {
  const page = await client.get(`/connectors/${alongside.id}/installed-alongside/${old.id}`)
  t.match(
    page.body,
    `<a class="button primary" href="/connectors/${alongside.id}/migrate?from=${old.id}">move instances in stages</a>`,
  )
})

t.test(
  'the settings of a connector with another one from the same marketplace connector link to moving instances, the right way round',
  async (t) => {
    const settings = await client.get(`/connectors/${alongside.id}/settings`)
    t.match(
      textOf(settings.body),
      `You have another connector installed from Shopify: Shopify (version ${old.version}, 4 instances) · move instances in stages from Shopify to ${alongside.name}`,
    )
    t.match(
      settings.body,
      `<a href="${migrate}?from=${old.id}">move instances in stages from Shopify to ${alongside.name}</a>`,
    )
    t.notMatch(
      textOf(settings.body),
      `from ${alongside.name} to Shopify`,
      'the new connector has no instances to move to the old one',
    )
    const oldSettings = await client.get(`/connectors/${old.id}/settings`)
    t.match(
      textOf(oldSettings.body),
      `You have another connector installed from Shopify: ${alongside.name} (version ${version}, no instances) · move instances in stages from Shopify to ${alongside.name}`,
      'on the old connector it reads the same way round: from the old one to the new one',
    )
    t.match(oldSettings.body, `<a href="${migrate}?from=${old.id}">`)
    t.notMatch(
      oldSettings.body,
      `/connectors/${old.id}/migrate`,
      'never a move into the old connector from the empty new one',
    )
    const third = await install(ctx.db, admin, 'shopify')
    const many = textOf((await client.get(`/connectors/${old.id}/settings`)).body)
    t.match(
      many,
      `You have 2 other connectors installed from Shopify: ${third.name} (version ${version}, no instances) · move instances in stages from Shopify to ${third.name} ${alongside.name} (version ${version}, no instances) · move instances in stages from Shopify to ${alongside.name}`,
      'several: each listed by name, with the move to it',
    )
    await removeConnector(ctx.db, admin, third.id, { version: 1 })
    const alone = await install(ctx.db, admin, 'zendesk')
    t.notMatch((await client.get(`/connectors/${alone.id}/settings`)).body, 'move instances in stages')
    const readOnly = await signedIn(ctx.app, ctx.company.users['read-only'])
    t.notMatch(
      (await readOnly.get(`/connectors/${alongside.id}/settings`)).body,
      'move instances in stages',
      'hidden from a role that cannot',
    )
  },
)

t.test("the migrate page lists the old connector's instances and the process flows using them", async (t) => {
  const page = await client.get(`${migrate}?from=${old.id}`)
  t.equal(page.statusCode, 200)
  const text = textOf(page.body)
  t.match(text, `Move instances to ${alongside.name}`)
  t.match(text, `From ${old.name} (version ${old.version})`)
  for (const instance of [uk, us, eu]) {
    t.match(
      page.body,
      `<input type="checkbox" id="instance-${instance.id}" name="instance" value="${instance.id}"> <label for="instance-${instance.id}">${instance.name}</label>`,
      instance.name,
    )
  }
  t.match(
    page.body,
    `<input type="checkbox" id="flow-${uk.id}-${orders.flow.id}" name="flow.${uk.id}" value="${orders.flow.id}" checked> <label for="flow-${uk.id}-${orders.flow.id}">Orders sync (enabled, 2 connection shapes)</label>`,
  )
  t.match(
    page.body,
    `name="flow.${uk.id}" value="${stock.flow.id}" checked> <label for="flow-${uk.id}-${stock.flow.id}">Stock (disabled, 1 connection shape)</label>`,
  )
  t.match(page.body, `name="flow.${us.id}" value="${stock.flow.id}" checked>`)
  t.match(page.body, `name="flow.${eu.id}" value="${europe.flow.id}" checked>`)
  t.match(page.body, `<label for="suffix-${old.id}">name suffix</label>`)
  t.match(page.body, `name="suffix" type="text" value=" (${version})"`)
  t.match(page.body, '<button type="submit" name="action" value="preview" class="primary">preview</button>')
  t.match(text, 'None yet.', 'no earlier moves')

  const nothing = await install(ctx.db, admin, 'hubspot')
  const empty = await client.get(`/connectors/${nothing.id}/migrate`)
  t.equal(empty.statusCode, 200)
  t.match(
    textOf(empty.body),
    'There is nothing to move: no other connector of yours is installed from HubSpot. back to manage connectors',
  )
  t.match(empty.body, '<a href="/connectors">back to manage connectors</a>')
  t.notMatch(empty.body, 'name="instance"')
})

t.test('preview shows exactly what will change, and changes nothing', async (t) => {
  const before = await snapshot()
  const page = await previewOf({ instance: uk.id, [`flow.${uk.id}`]: orders.flow.id })
  t.equal(page.statusCode, 200)
  t.equal(await snapshot(), before, 'nothing stored, nothing changed')
  const text = textOf(page.body)
  t.match(text, `Preview: move instances to ${alongside.name}`)
  t.match(text, `1 instance to create in ${alongside.name}`)
  t.match(text, `Shopify - UK (${version}) a copy of Shopify - UK (${old.name})`)
  t.match(text, 'Authentication method Admin API access token (custom app) (the same as Shopify - UK)')
  t.match(text, 'Time zone Europe/London Date format d/m/Y Rate limit 3 requests per second')
  t.match(
    text,
    'Copied Admin API access token: copied, stored encrypted Shop domain (e.g. example.myshopify.com): acme-uk.myshopify.com Order status filter: open',
  )
  t.notMatch(text, 'shpat_uk', 'a credential is never shown')
  t.match(text, `Dropped Default location ID: ${alongside.name} has no such variable`)
  t.match(
    text,
    `Left empty API version: required by ${alongside.name}; fill it in in the settings of Shopify - UK (${version}) afterwards.`,
  )
  t.match(text, '2 connection shapes to repoint')
  t.match(
    text,
    `Orders sync (enabled) connection shape 1 Shopify - UK, Get orders Shopify - UK (${version}), Get orders`,
  )
  t.match(
    text,
    `Orders sync (enabled) connection shape 2 Shopify - UK, Get customers Shopify - UK (${version}), ${alongside.name} has no endpoint Get customers. Choose one:`,
  )
  const customers = orders.shapes[1]!
  t.match(page.body, `<label for="endpoint-${customers.id}">Endpoint for connection shape 2 of Orders sync</label>`)
  t.match(page.body, `<select id="endpoint-${customers.id}" name="endpoint.${customers.id}" required>`)
  t.notMatch(page.body, 'name="endpoint.' + orders.shapes[0]!.id, 'a shape whose endpoint the new version has keeps it')
  t.notMatch(text, 'Stock', 'the flow left out is not touched')
  t.match(page.body, '<button type="submit" name="action" value="apply" class="primary">apply</button>')
  t.match(page.body, '<button type="submit" name="action" value="back">back</button>')

  const back = await client.post(migrate, { ...hiddenFields(page.body), action: 'back' })
  t.equal(back.statusCode, 200, 'back: the picker again')
  t.match(back.body, `name="instance" value="${uk.id}" checked>`, 'the instance stays picked')
  t.match(back.body, `name="flow.${uk.id}" value="${orders.flow.id}" checked>`)
  t.match(back.body, `name="flow.${uk.id}" value="${stock.flow.id}"> `, 'the flow left out stays left out')
  t.match(back.body, `name="instance" value="${us.id}"> `)
  t.equal(await snapshot(), before)
})

let ukBatch = ''

t.test(
  "apply asks for the missing endpoint, then copies the instance and repoints only the chosen flows' shapes, once",
  async (t) => {
    const customers = orders.shapes[1]!
    const missing = await apply({ instance: uk.id, [`flow.${uk.id}`]: orders.flow.id })
    t.equal(missing.statusCode, 422, 'an unanswered question: the preview again')
    t.match(
      textOf(missing.body),
      `Choose an endpoint of ${alongside.name} for this connection shape: it has no endpoint Get customers.`,
    )
    t.match(missing.body, `aria-describedby="endpoint-${customers.id}-error" aria-invalid="true"`)
    t.same(await copiesIn(alongside.id), [], 'nothing created')

    const preview = await previewOf({ instance: uk.id, [`flow.${uk.id}`]: orders.flow.id })
    const form = { ...hiddenFields(preview.body), [`endpoint.${customers.id}`]: 'get_products', action: 'apply' }
    const [first, second] = await Promise.all([client.post(migrate, form), client.post(migrate, form)])
    t.equal(first.statusCode, 303)
    t.equal(second.statusCode, 303, 'a double submit answers the same')
    t.equal(second.headers.location, first.headers.location)
    t.match(first.headers.location, new RegExp(`^/connectors/${alongside.id}/migrations/[0-9a-f-]{36}$`))
    ukBatch = String(first.headers.location).split('/').at(-1)!

    const copies = await copiesIn(alongside.id)
    t.equal(copies.length, 1, 'one copy')
    const copy = copies[0]!
    t.match(copy, {
      name: `Shopify - UK (${version})`,
      authMethodKey: 'admin_api_token',
      timeZone: 'Europe/London',
      dateFormat: 'd/m/Y',
      rateLimitAmount: 3,
      rateLimitUnit: 'second',
      createdBy: admin.id,
    })
    t.same(
      copy.settings,
      { 'var.shop_domain': 'acme-uk.myshopify.com', 'var.order_status': 'open', 'var.api_version': '' },
      'settings for the variables the new version has',
    )
    t.same(box.open(copy.secrets), { 'auth.access_token': 'shpat_uk' }, 'the credential, encrypted again')
    t.not(copy.secrets, (await ctx.db.select().from(instances).where(eq(instances.id, uk.id)))[0]!.secrets)

    t.same(
      await shapesOf(orders.flow.id),
      [
        [copy.id, 'get_orders'],
        [copy.id, 'get_products'],
      ],
      'the endpoint kept, and the one chosen',
    )
    t.same(
      await shapesOf(stock.flow.id),
      [
        [uk.id, 'set_inventory_level'],
        [us.id, 'get_orders'],
      ],
      'the flow left out is untouched',
    )

    const [batch] = await ctx.db.select().from(migrationBatches).where(eq(migrationBatches.id, ukBatch))
    t.match(batch, { fromConnectorId: old.id, toConnectorId: alongside.id, createdBy: admin.id, undoneAt: null })
    t.equal((await ctx.db.select().from(migrationInstances).where(eq(migrationInstances.batchId, ukBatch))).length, 1)
    t.equal((await ctx.db.select().from(migrationShapes).where(eq(migrationShapes.batchId, ukBatch))).length, 2)
    const [event] = await ctx.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.subjectId, ukBatch), eq(auditEvents.action, 'migrate instances')))
    t.match(event, {
      actorId: admin.id,
      subjectType: 'migration batch',
      summary: `migrated 1 instance from ${old.name} to ${alongside.name}; 2 connection shapes repointed`,
    })
    t.equal(
      (
        await ctx.db
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.subjectId, copy.id), eq(auditEvents.action, 'add instance')))
      ).length,
      1,
    )
    t.equal(
      (await ctx.db.select().from(auditEvents).where(eq(auditEvents.action, 'migrate instances'))).length,
      1,
      'recorded once',
    )

    const page = await client.get(first.headers.location as string)
    t.equal(page.statusCode, 200)
    const text = textOf(page.body)
    t.match(text, `Done: migrated 1 instance from ${old.name} to ${alongside.name}; 2 connection shapes repointed.`)
    t.match(text, `Move from ${old.name} to ${alongside.name} by ${admin.name} on`)
    t.match(
      page.body,
      `<a href="/instances/${copy.id}/settings">Shopify - UK (${version})</a>, a copy of <a href="/instances/${uk.id}/settings">Shopify - UK</a>`,
    )
    t.match(
      text,
      `Orders sync (enabled) connection shape 2 Shopify - UK, Get customers Shopify - UK (${version}), Get products`,
    )
    t.match(page.body, `<a href="/process-flows/${orders.flow.id}">Orders sync</a>`)
    t.match(
      page.body,
      `<form method="post" action="/connectors/${alongside.id}/migrations/${ukBatch}/undo" class="stack">`,
    )
    t.match(page.body, '<button type="submit" class="danger">undo</button>')
    t.match(
      text,
      'Undo points the 2 connection shapes back to where they were and removes the instance this move created. Nothing else changed them since, so it can be undone.',
    )

    const picker = await client.get(migrate)
    t.notMatch(picker.body, `name="instance" value="${uk.id}"`, 'a moved instance cannot be picked again')
    t.match(
      picker.body,
      `Shopify - UK: moved to <a href="/instances/${copy.id}/settings">Shopify - UK (${version})</a> (<a href="/connectors/${alongside.id}/migrations/${ukBatch}">see that move`,
    )
    t.match(picker.body, `<a href="/connectors/${alongside.id}/migrations/${ukBatch}">`, 'earlier moves are listed')
    t.match(textOf(picker.body), `by ${admin.name}: 1 instance from ${old.name}, 2 connection shapes repointed`)
    const again = await client.post(migrate, { from: old.id, suffix: ' (again)', instance: uk.id, action: 'preview' })
    t.equal(again.statusCode, 422)
    t.match(textOf(again.body), `Shopify - UK was already moved to Shopify - UK (${version}).`)
  },
)

t.test(
  'an authentication method the new version does not have is chosen on the preview; its credentials are not copied',
  async (t) => {
    const preview = await previewOf({ instance: eu.id, [`flow.${eu.id}`]: europe.flow.id })
    t.equal(preview.statusCode, 200)
    const text = textOf(preview.body)
    t.match(
      text,
      `${alongside.name} has no authentication method OAuth (public app), so its credentials are not copied. Choose one:`,
    )
    t.match(
      preview.body,
      `<label for="authMethod-${eu.id}">Authentication method for Shopify - EU (${version})</label>`,
    )
    t.match(
      text,
      `Left empty API version: required by ${alongside.name}; fill it in in the settings of Shopify - EU (${version}) afterwards. So are the required fields of the authentication method you choose.`,
    )
    t.match(
      text,
      'Dropped Client ID: it belongs to the authentication method OAuth (public app), which the copy does not use Client secret (a credential): it belongs',
    )

    const refused = await client.post(migrate, { ...hiddenFields(preview.body), action: 'apply' })
    t.equal(refused.statusCode, 422)
    t.match(
      textOf(refused.body),
      `Choose how Shopify - EU (${version}) authenticates: ${alongside.name} has no authentication method OAuth (public app).`,
    )
    t.match(refused.body, `aria-describedby="authMethod-${eu.id}-error"`)
    const bogus = await client.post(migrate, {
      ...hiddenFields(preview.body),
      [`authMethod.${eu.id}`]: 'no_such_method',
      action: 'apply',
    })
    t.equal(bogus.statusCode, 422, 'a method the new version does not have')

    const applied = await client.post(migrate, {
      ...hiddenFields(preview.body),
      [`authMethod.${eu.id}`]: 'oauth2',
      action: 'apply',
    })
    t.equal(applied.statusCode, 303)
    const copy = (await copiesIn(alongside.id)).find((i) => i.name === `Shopify - EU (${version})`)!
    t.equal(copy.authMethodKey, 'oauth2')
    t.equal(copy.secrets, null, 'credentials of another method are not carried over')
    t.equal(copy.settings['var.shop_domain'], 'acme-eu.myshopify.com')
    t.equal(copy.settings['auth.client_id'], '', 'not copied from another method')
    t.equal(
      copy.settings['auth.token_url'],
      'https://{{shop_domain}}/admin/oauth/access_token',
      'defaults of the chosen method',
    )
    t.same(await shapesOf(europe.flow.id), [[copy.id, 'get_orders']])
  },
)

t.test('undo points the shapes back, removes the copies and is recorded; undoing twice is refused', async (t) => {
  const page = await client.get(`/connectors/${alongside.id}/migrations/${ukBatch}`)
  const submission = /name="submission" value="([^"]+)"/.exec(page.body)![1]!
  const [copy] = await ctx.db.select().from(migrationInstances).where(eq(migrationInstances.batchId, ukBatch))
  const [first, second] = await Promise.all([
    client.post(`/connectors/${alongside.id}/migrations/${ukBatch}/undo`, { submission }),
    client.post(`/connectors/${alongside.id}/migrations/${ukBatch}/undo`, { submission }),
  ])
  t.equal(first.statusCode, 303)
  t.equal(second.statusCode, 303, 'a double submit answers the same')
  t.equal(first.headers.location, `/connectors/${alongside.id}/migrations/${ukBatch}`)
  t.same(
    await shapesOf(orders.flow.id),
    [
      [uk.id, 'get_orders'],
      [uk.id, 'get_customers'],
    ],
    'pointed back, endpoints as before',
  )
  t.same(
    await ctx.db.select().from(instances).where(eq(instances.id, copy!.createdInstanceId!)),
    [],
    'the copy is removed',
  )
  const [batch] = await ctx.db.select().from(migrationBatches).where(eq(migrationBatches.id, ukBatch))
  t.equal(batch!.undoneBy, admin.id)
  t.ok(batch!.undoneAt)
  const events = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, ukBatch), eq(auditEvents.action, 'undo migration')))
  t.equal(events.length, 1, 'undone once')
  t.match(
    events[0]!.summary,
    `undid the migration of 1 instance from ${old.name} to ${alongside.name}: 2 connection shapes pointed back, 1 created instance removed`,
  )

  const after = await client.get(first.headers.location as string)
  const text = textOf(after.body)
  t.match(text, `Undone: undid the migration of 1 instance`)
  t.match(text, `This move was undone by ${admin.name} on`)
  t.notMatch(after.body, '/undo"', 'no undo form any more')
  const again = await client.post(`/connectors/${alongside.id}/migrations/${ukBatch}/undo`, {})
  t.equal(again.statusCode, 409)
  t.match(textOf(again.body), `Nothing was undone, because: it was already undone by ${admin.name} on`)
  const picker = await client.get(migrate)
  t.match(picker.body, `name="instance" value="${uk.id}"`, 'the instance can be moved again')
})

/** Moves one instance with all its flows; returns the batch id and the copy. */
async function moved(instance: { id: string }, flowIds: string[], suffix: string, extra: Form = {}) {
  const response = await apply({ instance: instance.id, [`flow.${instance.id}`]: flowIds, suffix }, extra)
  if (response.statusCode !== 303)
    throw new Error(`apply answered ${response.statusCode}: ${textOf(response.body).slice(0, 400)}`)
  const batchId = String(response.headers.location).split('/').at(-1)!
  const [made] = await ctx.db.select().from(migrationInstances).where(eq(migrationInstances.batchId, batchId))
  return { batchId, copyId: made!.createdInstanceId!, name: made!.name }
}

t.test(
  'undo is refused (409, with the reasons) once the copy was changed or a shape was repointed elsewhere',
  async (t) => {
    const first = await moved(us, [stock.flow.id], ' (b1)')
    const renamed = await client.post(`/instances/${first.copyId}/settings`, {
      lockVersion: '1',
      name: 'Shopify - US (b1)',
      timeZone: 'UTC',
      dateFormat: 'd/m/Y',
      rateLimitAmount: '3',
      rateLimitUnit: 'second',
    })
    t.equal(renamed.statusCode, 303)
    const page = await client.get(`/connectors/${alongside.id}/migrations/${first.batchId}`)
    t.match(textOf(page.body), 'This move can no longer be undone, because: Shopify - US (b1) was changed on')
    t.notMatch(page.body, '/undo"', 'no undo form')
    const before = await snapshot()
    const refused = await client.post(`/connectors/${alongside.id}/migrations/${first.batchId}/undo`, {})
    t.equal(refused.statusCode, 409)
    t.match(textOf(refused.body), 'Nothing was undone, because: Shopify - US (b1) was changed on')
    t.equal(await snapshot(), before, 'nothing changed')

    const second = await moved(uk, [orders.flow.id, stock.flow.id], ' (b2)', {
      [`endpoint.${orders.shapes[1]!.id}`]: 'get_orders',
    })
    const reconfigure = `/process-flows/${orders.flow.id}/shapes/${orders.shapes[0]!.id}`
    const form = await client.get(`${reconfigure}?instance=${first.copyId}`)
    const elsewhere = await client.post(reconfigure, { ...formOf(form.body, reconfigure), endpoint: 'get_products' })
    t.equal(elsewhere.statusCode, 303)
    await addFlow(ctx.db, admin, 'Refunds', [{ instanceId: second.copyId, endpointKey: 'get_orders' }])
    const refusedAgain = await client.post(`/connectors/${alongside.id}/migrations/${second.batchId}/undo`, {})
    t.equal(refusedAgain.statusCode, 409)
    const text = textOf(refusedAgain.body)
    t.match(
      text,
      'the connection shape in Orders sync (connection shape 1) now points to Shopify - US (b1), Get products.',
    )
    t.match(text, `Shopify - UK (b2) is now used by another connection shape in Refunds`)
    t.match(text, 'now points to Shopify - US (b1), Get products', 'the table says where it points now')
    t.same((await shapesOf(stock.flow.id))[0], [second.copyId, 'set_inventory_level'], 'nothing was pointed back')
  },
)

t.test('bad input: 4xx, the form again with the choices kept and the message beside the field', async (t) => {
  const none = await client.post(migrate, { from: old.id, suffix: ' (x)', action: 'preview' })
  t.equal(none.statusCode, 422)
  t.match(
    none.body,
    `<p class="field-error" id="instance-${old.id}-error">Pick at least one instance of ${old.name} to move.</p>`,
  )
  t.match(none.body, 'value=" (x)"', 'the suffix is kept')

  await createInstance(ctx.db, admin, box, {
    connectorId: alongside.id,
    name: 'Shopify - FR (clash)',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '1',
    rateLimitUnit: 'second',
    authMethod: 'admin_api_token',
    values: { 'auth.access_token': 'x', 'var.shop_domain': 'x', 'var.api_version': '1' },
  })
  const clash = await client.post(migrate, { from: old.id, suffix: ' (clash)', instance: [fr.id], action: 'preview' })
  t.equal(clash.statusCode, 422)
  t.match(clash.body, `aria-describedby="suffix-${old.id}-error suffix-${old.id}-hint" aria-invalid="true"`)
  t.match(
    textOf(clash.body),
    `${alongside.name} already has an instance called "Shopify - FR (clash)": instance names are unique per connector, so choose another suffix.`,
  )
  t.match(clash.body, `name="instance" value="${fr.id}" checked>`, 'the pick is kept')
  const long = await client.post(migrate, {
    from: old.id,
    suffix: 'x'.repeat(150),
    instance: [fr.id],
    action: 'preview',
  })
  t.equal(long.statusCode, 422)
  t.match(textOf(long.body), 'Use at most 100 characters.')

  const before = await snapshot()
  const theirs = await createInstance(ctx.db, ctx.other.users.administrator, box, {
    connectorId: (await install(ctx.db, ctx.other.users.administrator, 'shopify')).id,
    name: 'Theirs',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '1',
    rateLimitUnit: 'second',
    authMethod: 'admin_api_token',
    values: { 'auth.access_token': 'x', 'var.shop_domain': 'x', 'var.api_version': '1' },
  })
  const after = await snapshot()
  for (const [label, form, status] of [
    ["another company's instance", { instance: theirs.id }, 422],
    ['an instance of another connector', { instance: (await copiesIn(alongside.id))[0]!.id }, 422],
    ['not an id', { instance: 'nope' }, 422],
    ['a flow that does not use the instance', { instance: us.id, [`flow.${us.id}`]: orders.flow.id }, 422],
    ["another company's connector to move from", { from: theirs.connectorId, instance: us.id }, 404],
    ['the new connector itself to move from', { from: alongside.id, instance: us.id }, 404],
  ] as const) {
    for (const action of ['preview', 'apply']) {
      const response = await client.post(migrate, { from: old.id, suffix: ' (z)', ...form, action })
      t.equal(response.statusCode, status, `${label} (${action})`)
    }
  }
  t.equal(await snapshot(), after, 'nothing stored')
  t.not(before, after)

  t.equal(
    (await client.get(`/connectors/${alongside.id}/migrations/00000000-0000-4000-8000-000000000000`)).statusCode,
    404,
  )
  t.equal(
    (await client.get(`/connectors/${old.id}/migrations/${ukBatch}`)).statusCode,
    404,
    'a batch is found under its new connector only',
  )
  const other = await signedIn(ctx.app, ctx.other.users.administrator)
  t.equal((await other.get(`/connectors/${alongside.id}/migrations/${ukBatch}`)).statusCode, 404)
  t.equal((await other.get(migrate)).statusCode, 404)
})

t.test('a preview that is out of date is not applied', async (t) => {
  const preview = await previewOf({ instance: fr.id, suffix: ' (late)' })
  const form = { ...hiddenFields(preview.body), action: 'apply' }
  const changed = await client.post(`/instances/${fr.id}/settings`, {
    lockVersion: '1',
    name: 'Shopify - FR',
    timeZone: 'UTC',
    dateFormat: 'd/m/Y',
    rateLimitAmount: '9',
    rateLimitUnit: 'second',
  })
  t.equal(changed.statusCode, 303)
  const before = await snapshot()
  const stale = await client.post(migrate, form)
  t.equal(stale.statusCode, 409)
  t.match(textOf(stale.body), 'Something changed since this preview was shown')
  t.match(textOf(stale.body), 'Time zone UTC', 'the preview shows what is there now')
  t.equal(await snapshot(), before, 'nothing applied')
})

t.test('roles: a read-only user cannot move instances; a user may', async (t) => {
  const readOnly = await signedIn(ctx.app, ctx.company.users['read-only'])
  t.equal((await readOnly.get(migrate)).statusCode, 403)
  t.equal((await readOnly.post(migrate, { from: old.id, instance: us.id, action: 'preview' })).statusCode, 403)
  t.equal((await readOnly.get(`/connectors/${alongside.id}/migrations/${ukBatch}`)).statusCode, 403)
  t.equal((await readOnly.post(`/connectors/${alongside.id}/migrations/${ukBatch}/undo`, {})).statusCode, 403)
  const user = await signedIn(ctx.app, ctx.company.users.user)
  t.equal((await user.get(migrate)).statusCode, 200)
})

t.test(
  'concurrent changes: two moves of the same instance make one copy; undo racing a new connection shape never orphans it',
  async (t) => {
    for (let round = 0; round < 4; round++) {
      const instance = await newInstance(`Shopify - R${round}`, 'admin_api_token', {
        'auth.access_token': 'r',
        'var.shop_domain': 'r.example',
      })
      const { flow } = await addFlow(ctx.db, admin, `Race ${round}`, [
        { instanceId: instance.id, endpointKey: 'get_orders' },
      ])
      const choices = {
        fromConnectorId: old.id,
        instanceIds: [instance.id],
        flowIds: { [instance.id]: [flow.id] },
        suffix: ' (race)',
        authMethods: {},
        endpoints: {},
      }
      const moves = await Promise.allSettled([
        applyMigration(ctx.db, admin, box, { ...choices, connectorId: alongside.id, submission: randomUUID() }),
        applyMigration(ctx.db, admin, box, { ...choices, connectorId: alongside.id, submission: randomUUID() }),
      ])
      const done = moves.filter((m) => m.status === 'fulfilled')
      t.equal(done.length, 1, `round ${round}: one move`)
      t.ok(
        moves.every((m) => m.status === 'fulfilled' || m.reason instanceof Invalid),
        `round ${round}: the other is told why (${moves.map((m) => (m.status === 'rejected' ? String(m.reason) : 'ok')).join(', ')})`,
      )
      const batchId = (done[0] as PromiseFulfilledResult<{ batchId: string }>).value.batchId
      const [made] = await ctx.db.select().from(migrationInstances).where(eq(migrationInstances.batchId, batchId))
      const copyId = made!.createdInstanceId!

      const { flow: other } = await addFlow(ctx.db, admin, `Race ${round} elsewhere`, [])
      const [undo, shape] = await Promise.allSettled([
        undoMigration(ctx.db, admin, { connectorId: alongside.id, batchId }),
        addShape(ctx.db, admin, {
          flowId: other.id,
          instanceId: copyId,
          endpointKey: 'get_orders',
          version: other.version,
        }),
      ])
      t.equal(undo.status, 'fulfilled', `round ${round}: undo answers`)
      const undone = undo.status === 'fulfilled' && undo.value.undone
      const exists = (await ctx.db.select().from(instances).where(eq(instances.id, copyId))).length === 1
      if (undone) {
        t.equal(shape.status, 'rejected', `round ${round}: undone first, the new shape is refused`)
        t.notOk(exists)
        t.same(await shapesOf(flow.id), [[instance.id, 'get_orders']])
      } else {
        t.equal(shape.status, 'fulfilled', `round ${round}: the shape first, undo is refused`)
        t.ok(exists)
        t.same(await shapesOf(other.id), [[copyId, 'get_orders']])
      }
    }
  },
)

t.test(
  'the picker searches the old connector’s instances by name, 20 a page; what is ticked survives a search or a page change',
  async (t) => {
    await ctx.db.insert(instances).values(
      Array.from({ length: 25 }, (_, i) => ({
        companyId: ctx.company.id,
        connectorId: old.id,
        name: `Store ${String(i).padStart(2, '0')}`,
        authMethodKey: 'admin_api_token',
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: 5,
        rateLimitUnit: 'minute',
        createdBy: admin.id,
      })),
    )
    const boxes = (html: string) =>
      [...html.matchAll(/name="instance"\s+value="([^"]+)"( checked)?/g)].map((m) => [m[1]!, Boolean(m[2])] as const)
    const names = (html: string) => [...html.matchAll(/<label for="instance-[^"]+">(Store \d\d)/g)].map((m) => m[1])

    const first = await client.get(`${migrate}?from=${old.id}`)
    t.ok(boxes(first.body).length <= 20, 'at most twenty instances a page')
    t.match(textOf(first.body), /\d+ instances match, page 1 of 2\./)

    const store = await client.post(migrate, { from: old.id, q: 'sTORE', action: 'search' })
    t.equal(store.statusCode, 200)
    t.match(textOf(store.body), '25 instances match “sTORE”, page 1 of 2.', 'part of the name, any case')
    t.equal(boxes(store.body).length, 20)
    t.notMatch(textOf(store.body), 'Shopify - US', 'the others are left out')
    t.notMatch(textOf(store.body), 'Theirs', "never another company's")

    // Tick Store 00 on page 1, then page and search: it stays ticked, listed first.
    const store00 = boxes(store.body).find(([id]) => store.body.includes(`for="instance-${id}">Store 00`))![0]
    const kept = { from: old.id, instance: [store00], q: 'store' }
    const page2 = await client.post(migrate, { ...kept, page: '2' })
    t.equal(page2.statusCode, 200, 'a page button alone is a search')
    t.same(names(page2.body), ['Store 00', 'Store 20', 'Store 21', 'Store 22', 'Store 23', 'Store 24'])
    t.match(textOf(page2.body), '25 instances match “store”, page 2 of 2; 1 more instance picked.')
    t.same(boxes(page2.body)[0], [store00, true], 'Store 00 is still ticked, listed first')
    const store21 = boxes(page2.body)[2]![0]
    const narrowed = await client.post(migrate, {
      ...kept,
      instance: [store00, store21],
      q: 'store 2',
      action: 'search',
    })
    t.same(
      boxes(narrowed.body)
        .filter(([, checked]) => checked)
        .map(([id]) => id)
        .sort(),
      [store00, store21].sort(),
      'both ticks survive another search',
    )

    // htmx asks for the results alone, the count out of band for the live region.
    const fragment = await client.post(
      migrate,
      { from: old.id, q: 'store 07', action: 'search' },
      { 'hx-request': 'true', 'hx-request-type': 'partial', 'hx-target': `div#migrate-results-${old.id}` },
    )
    t.match(fragment.body, new RegExp(`^<div id="migrate-results-${old.id}"`))
    t.match(
      fragment.body,
      new RegExp(`<p id="migrate-count-${old.id}" data-hx-swap-oob="innerHTML">\\s*1 instance matches “store 07”\\.`),
    )
    t.same(names(fragment.body), ['Store 07'])

    // Another company's instances are never found (it has a Shopify instance called Theirs); junk pages show page 1.
    const foreign = await client.post(migrate, { from: old.id, q: 'theirs', action: 'search' })
    t.equal(foreign.statusCode, 200)
    t.match(textOf(foreign.body), `No instance of ${old.name} matches “theirs”.`)
    for (const page of ['abc', '-1', ['2', '3']]) {
      const junk = await client.post(migrate, { from: old.id, q: 'store', page })
      t.equal(junk.statusCode, 200, `page ${JSON.stringify(page)}: the picker, never a 4xx or 500`)
      t.match(textOf(junk.body), /25 instances match “store”, page [12] of 2\./)
    }

    // A page past the end shows the last page; % is taken literally.
    t.same(names((await client.post(migrate, { from: old.id, q: 'store', page: '99' })).body).length, 5)
    t.match(
      textOf((await client.post(migrate, { from: old.id, q: '%', action: 'search' })).body),
      'No instance matches “%”.',
    )
  },
)
