import t from 'tap'
import { and, asc, eq } from 'drizzle-orm'
import { auditEvents, connectorRevisions } from '../../src/db/schema.js'
import { RevisionConflict } from '../../src/domain/errors.js'
import { saveDefinition } from '../../src/domain/revisions.js'
import { setup, signedIn, textOf, type Client } from '../helpers.js'
import { addFlow, addInstance, connectorRow, install, installCustom } from '../connector-fixtures.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const manager = ctx.company.users.manager
const adminClient = await signedIn(ctx.app, admin)
const managerClient = await signedIn(ctx.app, manager)

/** The form fields of a new endpoint, as the add endpoint form posts them (two blank variable rows). */
const refundsForm = {
  key: 'get_refunds', name: 'Get refunds', entity: 'Refunds', direction: 'receive', method: 'GET',
  url: '/orders/{{order_id}}/refunds.json',
  variable_key: ['order_id', '', ''], variable_label: ['Order ID', '', ''], variable_secret: ['no', 'no', 'no'],
  variable_required: ['yes', 'no', 'no'], variable_default: ['', '', ''],
}

async function settingsOf(client: Client, id: string) {
  const page = await client.get(`/connectors/${id}/settings`)
  return { page, text: textOf(page.body), submission: () => /name="submission" value="([^"]+)"/.exec(page.body)![1]! }
}

async function revisionsOf(id: string) {
  return ctx.db.select().from(connectorRevisions).where(eq(connectorRevisions.connectorId, id)).orderBy(asc(connectorRevisions.number))
}

t.test('the cog opens the connector wizard: basic details, variables, authentication methods, endpoints and revision history', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const { page, text } = await settingsOf(adminClient, shopify.id)
  t.equal(page.statusCode, 200)
  for (const heading of ['Basic details', 'Variables', 'Authentication methods', 'Endpoints', 'Revision history']) t.match(text, heading)
  t.match(page.body, `action="/connectors/${shopify.id}/details"`)
  t.match(page.body, `action="/connectors/${shopify.id}/endpoints"`)
  t.match(page.body, `action="/connectors/${shopify.id}/endpoints/get_orders"`)
  t.match(page.body, `action="/connectors/${shopify.id}/endpoints/get_orders/delete"`)
  t.match(page.body, `action="/connectors/${shopify.id}/auth-methods/oauth"`)
  t.match(page.body, `action="/connectors/${shopify.id}/variables/shop_domain"`)
  t.match(page.body, /<input type="hidden" name="revision" value="1">/)
  t.match(text, /revision 1 \(current\) \d+ \w+ \d{4}, \d\d:\d\d UTC/)
  t.match(text, `${admin.name} installed version ${shopify.version} from the marketplace`)
  t.match(page.body, `href="/connectors/${shopify.id}/revisions/1"`)
  t.match(page.body, /class="icon-link trash" href="\/connectors\/[^"]+\/delete"/, 'the trash icon stays in the page head')
})

t.test('adding an endpoint saves a revision and marks the prebuilt connector modified', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const before = await settingsOf(adminClient, shopify.id)
  const response = await adminClient.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', submission: before.submission(), ...refundsForm })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, `/connectors/${shopify.id}/settings`)
  const after = await settingsOf(adminClient, shopify.id)
  t.match(after.text, `Saved revision 2 of ${shopify.name}: added endpoint Get refunds.`)
  t.match(after.text, 'Get refunds get_refunds receive Refunds · GET /orders/{{order_id}}/refunds.json · variables: order_id')
  t.match(after.text, `revision 2 (current)`)
  t.match(after.text, `${admin.name} added endpoint Get refunds`)
  t.match(after.text, `modified by ${admin.name} on`)

  const row = await connectorRow(ctx.db, shopify.id)
  t.equal(row.revision, 2)
  t.equal(row.modifiedBy, admin.id)
  t.ok(row.modifiedAt)
  t.same(row.definition.endpoints.at(-1), {
    key: 'get_refunds', name: 'Get refunds', entity: 'Refunds', direction: 'receive', method: 'GET', url: '/orders/{{order_id}}/refunds.json',
    variables: [{ key: 'order_id', label: 'Order ID', secret: false, required: true }],
  })
  const revisions = await revisionsOf(shopify.id)
  t.same(revisions.map((r) => [r.number, r.authorId, r.summary]), [
    [1, admin.id, `installed version ${shopify.version} from the marketplace`],
    [2, admin.id, 'added endpoint Get refunds'],
  ])
  t.same(revisions[1]!.definition, row.definition, 'the revision keeps the whole definition')

  const list = textOf((await adminClient.get(`/connectors?q=${encodeURIComponent(shopify.name)}`)).body)
  t.match(list, new RegExp(`version ${shopify.version.replace(/\./g, '\\.')} · modified by ${admin.name} on \\d+ \\w+ \\d{4}`))

  const [event] = await ctx.db.select().from(auditEvents)
    .where(and(eq(auditEvents.subjectId, shopify.id), eq(auditEvents.action, 'modify')))
  t.match(event, { actorId: admin.id, summary: `changed ${shopify.name} (revision 2): added endpoint Get refunds`, details: { revision: 2, changes: ['added endpoint Get refunds'] } })
})

t.test('a revision page shows that revision\'s definition and what changed from the one before', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  await adminClient.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', ...refundsForm })
  const second = await adminClient.get(`/connectors/${shopify.id}/revisions/2`)
  t.equal(second.statusCode, 200)
  t.match(textOf(second.body), `Revision 2 of ${shopify.name}`)
  t.match(textOf(second.body), 'What changed from revision 1 added endpoint Get refunds')
  t.match(second.body, '&quot;key&quot;: &quot;get_refunds&quot;')
  const first = await adminClient.get(`/connectors/${shopify.id}/revisions/1`)
  t.match(textOf(first.body), 'This is the first revision.')
  t.notMatch(first.body, 'get_refunds')
  t.equal((await adminClient.get(`/connectors/${shopify.id}/revisions/3`)).statusCode, 404)
})

t.test('an endpoint is changed and removed; its key stays', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  const changed = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_orders`, {
    revision: '1', name: 'Get open orders', entity: 'Orders', direction: 'receive', method: 'GET',
    url: '/orders.json?status=open&updated_at_min={{updated_since}}&limit={{page_size}}',
    variable_key: ['updated_since', 'page_size', ''], variable_label: ['Updated since', 'Page size', ''], variable_secret: ['no', 'no', 'no'],
    variable_required: ['no', 'no', 'no'], variable_default: ['', '250', ''],
    key: 'sneaky_new_key',
  })
  t.equal(changed.statusCode, 303)
  let row = await connectorRow(ctx.db, shopify.id)
  const orders = row.definition.endpoints.find((e) => e.key === 'get_orders')!
  t.equal(orders.name, 'Get open orders')
  t.same(orders.variables.map((v) => [v.key, v.default ?? null]), [['updated_since', null], ['page_size', '250']])
  t.notOk(row.definition.endpoints.some((e) => e.key === 'sneaky_new_key'), 'the key of an existing endpoint cannot be changed')
  t.equal((await revisionsOf(shopify.id)).at(-1)!.summary, 'changed endpoint Get open orders (name, URL, endpoint variables)')

  const removed = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_customers/delete`, { revision: '2' })
  t.equal(removed.statusCode, 303)
  row = await connectorRow(ctx.db, shopify.id)
  t.notOk(row.definition.endpoints.some((e) => e.key === 'get_customers'))
  t.equal((await revisionsOf(shopify.id)).at(-1)!.summary, 'removed endpoint Get customers')
  t.equal((await adminClient.post(`/connectors/${shopify.id}/endpoints/no_such_endpoint/delete`, { revision: '3' })).statusCode, 404)
})

t.test('invalid input comes back as 422 with the values kept and the message tied to its field', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  const bad = await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
    ...refundsForm, revision: '1', key: 'Get Refunds', name: '', url: '/refunds.json?since={{refunded_since}}',
    variable_key: ['order_id', 'order_id', ''], variable_label: ['Order ID', '', ''],
  })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /<details class="add-item" open>/, 'the add endpoint form is open')
  t.match(bad.body, /id="add-endpoint-key" name="key" type="text" value="Get Refunds" aria-describedby="add-endpoint-key-error add-endpoint-key-hint" aria-invalid="true"/)
  t.match(bad.body, /<p class="field-error" id="add-endpoint-key-error">Use lower-case letters, digits and _/)
  t.match(bad.body, /id="add-endpoint-name" name="name" type="text" value="" aria-describedby="add-endpoint-name-error"/)
  t.match(bad.body, /id="add-endpoint-name-error">Enter a name\.</)
  t.match(bad.body, /value="Refunds"/, 'other values are kept')
  t.match(bad.body, /id="add-endpoint-variable-1-key" name="variable_key" type="text" value="order_id" aria-invalid="true" aria-describedby="add-endpoint-variable-1-key-error"/)
  t.match(bad.body, /id="add-endpoint-variable-1-key-error">Two endpoint variables have the key order_id\./)
  t.match(bad.body, /id="add-endpoint-variable-1-label-error">Enter a label\./)
  t.match(bad.body, /id="add-endpoint-key"[^>]*autofocus/, 'focus goes to the first field with a message')

  const placeholder = await adminClient.post(`/connectors/${shopify.id}/endpoints`, { ...refundsForm, revision: '1', url: '/refunds.json?since={{refunded_since}}' })
  t.equal(placeholder.statusCode, 422)
  t.match(placeholder.body, /id="add-endpoint-url-error">\{\{refunded_since\}\} is not a variable of this connector or endpoint/)

  const duplicate = await adminClient.post(`/connectors/${shopify.id}/endpoints`, { ...refundsForm, revision: '1', key: 'get_orders' })
  t.equal(duplicate.statusCode, 422)
  t.match(duplicate.body, 'This connector already has a endpoint with the key get_orders.'.replace('a endpoint', 'a endpoint'))

  const details = await adminClient.post(`/connectors/${shopify.id}/details`, {
    revision: '1', name: 'Shopify', protocol: 'HTTP', baseUrl: 'https://{{shop}}/admin', dateFormat: 'ISO 8601', rateLimitAmount: '0', rateLimitUnit: 'fortnight',
  })
  t.equal(details.statusCode, 422)
  t.match(details.body, /id="details-rate-limit-amount-error">Enter a whole number from 1 to 1000000\./)
  t.match(details.body, /id="details-rate-limit-unit-error">Choose second, minute or hour\./)

  const variableInUse = await adminClient.post(`/connectors/${shopify.id}/variables/shop_domain/delete`, { revision: '1' })
  t.equal(variableInUse.statusCode, 422)
  t.match(textOf(variableInUse.body), 'Variable “Shop domain (e.g. example.myshopify.com)” is used in the base URL; change that first.')
  const statusInUse = await adminClient.post(`/connectors/${shopify.id}/variables/order_status/delete`, { revision: '1' })
  t.match(textOf(statusInUse.body), 'Variable “Order status filter” is used in the URL of endpoint “Get orders”; change that URL first.')
  t.match(statusInUse.body, /aria-describedby="remove-variable-order_status-error" autofocus/)

  const row = await connectorRow(ctx.db, shopify.id)
  t.equal(row.revision, 1, 'nothing was saved')
  t.equal(row.modifiedAt, null)
})

t.test('a connector keeps at least one endpoint and one authentication method', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  let revision = 1
  for (const key of ['admin_api_token']) {
    t.equal((await adminClient.post(`/connectors/${shopify.id}/auth-methods/${key}/delete`, { revision: String(revision++) })).statusCode, 303)
  }
  const last = await adminClient.post(`/connectors/${shopify.id}/auth-methods/oauth/delete`, { revision: String(revision) })
  t.equal(last.statusCode, 422)
  t.match(textOf(last.body), 'A connector needs at least one authentication method.')
})

t.test('authentication methods and variables are added, changed and removed', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  const added = await adminClient.post(`/connectors/${shopify.id}/auth-methods`, {
    revision: '1', key: 'basic_auth', name: 'Basic (private app)', type: 'basic',
    field_key: ['username', 'password', ''], field_label: ['Username', 'Password', ''], field_secret: ['no', 'yes', 'no'],
    field_required: ['yes', 'yes', 'no'], field_default: ['', '', ''],
  })
  t.equal(added.statusCode, 303)
  const changed = await adminClient.post(`/connectors/${shopify.id}/auth-methods/basic_auth`, {
    revision: '2', name: 'Basic', type: 'basic', field_key: ['username', ''], field_label: ['User', ''], field_secret: ['no', 'no'],
    field_required: ['yes', 'no'], field_default: ['', ''],
  })
  t.equal(changed.statusCode, 303)
  const variable = await adminClient.post(`/connectors/${shopify.id}/variables`, {
    revision: '3', key: 'warehouse_code', label: 'Default warehouse', required: 'yes', default: '42',
  })
  t.equal(variable.statusCode, 303)
  const relabelled = await adminClient.post(`/connectors/${shopify.id}/variables/warehouse_code`, { revision: '4', label: 'Warehouse', secret: 'yes' })
  t.equal(relabelled.statusCode, 303)
  const row = await connectorRow(ctx.db, shopify.id)
  t.same(row.definition.authMethods.find((a) => a.key === 'basic_auth'), {
    key: 'basic_auth', name: 'Basic', type: 'basic', fields: [{ key: 'username', label: 'User', secret: false, required: true }],
  })
  t.same(row.definition.variables.find((v) => v.key === 'warehouse_code'), { key: 'warehouse_code', label: 'Warehouse', secret: true, required: false })
  t.same((await revisionsOf(shopify.id)).slice(1).map((r) => r.summary), [
    'added authentication method Basic (private app)',
    'changed authentication method Basic (name, fields)',
    'added variable Default warehouse',
    'changed variable Warehouse (label, secret, required, default value)',
  ])
  t.equal((await adminClient.post(`/connectors/${shopify.id}/variables/warehouse_code/delete`, { revision: '5' })).statusCode, 303)
  t.notOk((await connectorRow(ctx.db, shopify.id)).definition.variables.some((v) => v.key === 'warehouse_code'))
})

t.test('what instances and connection shapes use cannot be removed', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const instance = await addInstance(ctx.db, admin, shopify.id, 'Shopify - UK', 'oauth')
  await addFlow(ctx.db, admin, 'Orders to ERP', [{ instanceId: instance.id, endpointKey: 'get_orders' }])
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  const endpoint = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_orders/delete`, { revision: '1' })
  t.equal(endpoint.statusCode, 422)
  t.match(textOf(endpoint.body), 'Endpoint “Get orders” is used by a connection shape in the process flow Orders to ERP. Reconfigure or remove it first.')
  const auth = await adminClient.post(`/connectors/${shopify.id}/auth-methods/oauth/delete`, { revision: '1' })
  t.equal(auth.statusCode, 422)
  t.match(textOf(auth.body), 'Authentication method “OAuth (public app)” is used by the instance Shopify - UK. Change its authentication first.')

  const second = await addInstance(ctx.db, admin, shopify.id, 'Shopify - US', 'oauth')
  await addFlow(ctx.db, admin, 'Refunds', [{ instanceId: second.id, endpointKey: 'get_orders' }, { instanceId: instance.id, endpointKey: 'get_orders' }])
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  const endpointMany = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_orders/delete`, { revision: '1' })
  t.match(textOf(endpointMany.body), 'Endpoint “Get orders” is used by 3 connection shapes in these process flows: Orders to ERP and Refunds. Reconfigure or remove them first.')
  const authMany = await adminClient.post(`/connectors/${shopify.id}/auth-methods/oauth/delete`, { revision: '1' })
  t.match(textOf(authMany.body), 'Authentication method “OAuth (public app)” is used by these instances: Shopify - UK and Shopify - US. Change their authentication first.')
  t.equal((await connectorRow(ctx.db, shopify.id)).revision, 1)
})

t.test('renaming saves a revision but does not make a connector modified; a custom connector is never "modified"', async (t) => {
  const xero = await install(ctx.db, admin, 'xero')
  const { page } = await settingsOf(adminClient, xero.id)
  const value = (name: string) => new RegExp(`name="${name}" type="[a-z]+" value="([^"]*)"`).exec(page.body)![1]!
  const renamed = await adminClient.post(`/connectors/${xero.id}/details`, {
    revision: '1', name: 'Xero (UK)', protocol: 'HTTP', baseUrl: value('baseUrl'), dateFormat: value('dateFormat'),
    rateLimitAmount: value('rateLimitAmount'), rateLimitUnit: 'minute',
  })
  t.equal(renamed.statusCode, 303)
  let row = await connectorRow(ctx.db, xero.id)
  t.equal(row.name, 'Xero (UK)')
  t.equal(row.modifiedAt, null, 'a new name is not a change of the definition')
  t.equal((await revisionsOf(xero.id)).at(-1)!.summary, `renamed ${xero.name} to Xero (UK)`)

  const unchanged = await adminClient.post(`/connectors/${xero.id}/details`, {
    revision: '2', name: 'Xero (UK)', protocol: 'HTTP', baseUrl: value('baseUrl'), dateFormat: value('dateFormat'),
    rateLimitAmount: value('rateLimitAmount'), rateLimitUnit: 'minute',
  })
  t.equal(unchanged.statusCode, 303)
  t.match(textOf((await adminClient.get(`/connectors/${xero.id}/settings`)).body), 'Nothing changed in Xero (UK), so no revision was saved.')
  row = await connectorRow(ctx.db, xero.id)
  t.equal(row.revision, 2)

  const custom = await installCustom(ctx.db, admin, 'Our Warehouse Feed')
  await adminClient.get(`/connectors/${custom.id}/settings`)
  t.equal((await adminClient.post(`/connectors/${custom.id}/endpoints`, { revision: '1', ...refundsForm, url: '/refunds', variable_key: ['', ''], variable_label: ['', ''] })).statusCode, 303)
  row = await connectorRow(ctx.db, custom.id)
  t.equal(row.revision, 2)
  t.equal(row.modifiedAt, null)
})

t.test('a save based on an old revision is refused with a clear conflict, nothing lost', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const adminPage = await settingsOf(adminClient, shopify.id)
  await settingsOf(managerClient, shopify.id)
  t.equal((await managerClient.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', ...refundsForm })).statusCode, 303)
  const late = await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
    revision: '1', submission: adminPage.submission(), ...refundsForm, key: 'get_payouts', name: 'Get payouts', url: '/payouts.json', variable_key: ['', ''], variable_label: ['', ''],
  })
  t.equal(late.statusCode, 409)
  const text = textOf(late.body)
  t.match(text, `${manager.name} saved a change to this connector meanwhile (revision 2). Your change was not saved.`)
  t.match(text, 'Get refunds', 'the page shows their change')
  t.match(late.body, /id="add-endpoint-key" name="key" type="text" value="get_payouts"/, 'what the admin typed is kept')
  t.match(late.body, /<input type="hidden" name="revision" value="2">/, 'the form is now based on their revision')
  const row = await connectorRow(ctx.db, shopify.id)
  t.equal(row.revision, 2)
  t.ok(row.definition.endpoints.some((e) => e.key === 'get_refunds'))
  t.notOk(row.definition.endpoints.some((e) => e.key === 'get_payouts'))
})

t.test('two saves of the same connector at once: exactly one conflict', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const row = await connectorRow(ctx.db, shopify.id)
  const withEndpoint = (key: string) => ({ ...row.definition, endpoints: [...row.definition.endpoints, { ...row.definition.endpoints[0]!, key, name: key }] })
  const results = await Promise.allSettled([
    saveDefinition(ctx.db, admin, { connectorId: shopify.id, revision: 1, definition: withEndpoint('by_admin') }),
    saveDefinition(ctx.db, manager, { connectorId: shopify.id, revision: 1, definition: withEndpoint('by_manager') }),
  ])
  const refused = results.filter((r) => r.status === 'rejected')
  t.equal(refused.length, 1)
  t.ok((refused[0] as PromiseRejectedResult).reason instanceof RevisionConflict)
  t.match((refused[0] as PromiseRejectedResult).reason.message, /saved a change to this connector meanwhile \(revision 2\)\. Your change was not saved; reload to see theirs\./)
  const saved = await connectorRow(ctx.db, shopify.id)
  t.equal(saved.revision, 2)
  t.equal(saved.definition.endpoints.filter((e) => e.key === 'by_admin' || e.key === 'by_manager').length, 1)
  t.equal((await revisionsOf(shopify.id)).length, 2)
})

t.test('a double-submitted form saves once', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const { submission } = await settingsOf(adminClient, shopify.id)
  const form = { revision: '1', submission: submission(), ...refundsForm }
  const [first, second] = await Promise.all([adminClient.post(`/connectors/${shopify.id}/endpoints`, form), adminClient.post(`/connectors/${shopify.id}/endpoints`, form)])
  t.equal(first.statusCode, 303)
  t.equal(second.statusCode, 303)
  const again = await adminClient.post(`/connectors/${shopify.id}/endpoints`, form)
  t.equal(again.statusCode, 303)
  t.equal((await revisionsOf(shopify.id)).length, 2)
})

t.test('only administrators and managers change connectors; others read the settings', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  for (const role of ['user', 'read-only'] as const) {
    const client = await signedIn(ctx.app, ctx.company.users[role])
    const { page, text } = await settingsOf(client, shopify.id)
    t.equal(page.statusCode, 200)
    t.notMatch(page.body, 'method="post" action="/connectors/', `${role} sees no edit forms`)
    t.match(text, 'Your role can view this connector but not change it.')
    t.match(text, 'Get orders')
    const refused = await client.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', ...refundsForm })
    t.equal(refused.statusCode, 403)
  }
  t.equal((await connectorRow(ctx.db, shopify.id)).revision, 1)
})

t.test('another company\'s connector and its revisions answer like missing ones', async (t) => {
  const theirs = await install(ctx.db, ctx.other.users.administrator, 'shopify')
  await adminClient.get('/connectors')
  t.equal((await adminClient.get(`/connectors/${theirs.id}/revisions/1`)).statusCode, 404)
  t.equal((await adminClient.post(`/connectors/${theirs.id}/endpoints`, { revision: '1', ...refundsForm })).statusCode, 404)
  t.equal((await adminClient.post(`/connectors/${theirs.id}/endpoints/get_orders/delete`, { revision: '1' })).statusCode, 404)
  t.equal((await connectorRow(ctx.db, theirs.id)).revision, 1)
})

t.test('a removal based on an old revision is refused too, and says so beside the remove button', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  t.equal((await managerClient.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', ...refundsForm })).statusCode, 303)
  const late = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_customers/delete`, { revision: '1' })
  t.equal(late.statusCode, 409)
  t.match(late.body, new RegExp(`id="remove-endpoint-get_customers-error" role="alert">${manager.name} saved a change to this connector meanwhile \\(revision 2\\)\\. Nothing was removed\\.`))
  t.ok((await connectorRow(ctx.db, shopify.id)).definition.endpoints.some((e) => e.key === 'get_customers'))
})
