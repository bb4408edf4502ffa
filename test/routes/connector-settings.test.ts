import t from 'tap'
import { and, asc, eq } from 'drizzle-orm'
import { auditEvents, connectorRevisions } from '../../src/db/schema.js'
import { RevisionConflict } from '../../src/domain/errors.js'
import { saveDefinition } from '../../src/domain/revisions.js'
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
const manager = ctx.company.users.manager
const adminClient = await signedIn(ctx.app, admin)
const managerClient = await signedIn(ctx.app, manager)

/** The form fields of a new endpoint, as the add endpoint form posts them (two blank variable rows). */
const refundsForm = {
  key: 'get_refunds',
  name: 'Get refunds',
  entity: 'Refunds',
  direction: 'receive',
  method: 'GET',
  url: '/orders/{{order_id}}/refunds.json',
  variable_key: ['order_id', '', ''],
  variable_label: ['Order ID', '', ''],
  variable_secret: ['no', 'no', 'no'],
  variable_required: ['yes', 'no', 'no'],
  variable_default: ['', '', ''],
}

/** A step of the connector wizard: basic details (`/settings`), `/variables`, `/auth-methods`, `/endpoints` or `/revisions`. */
async function settingsOf(client: Client, id: string, step = '/settings') {
  const page = await client.get(`/connectors/${id}${step}`)
  return { page, text: textOf(page.body), submission: () => /name="submission" value="([^"]+)"/.exec(page.body)![1]! }
}

const STEPS = ['/settings', '/variables', '/auth-methods', '/endpoints', '/revisions']
const HTMX = { 'hx-request': 'true', 'hx-request-type': 'partial' }

async function revisionsOf(id: string) {
  return ctx.db
    .select()
    .from(connectorRevisions)
    .where(eq(connectorRevisions.connectorId, id))
    .orderBy(asc(connectorRevisions.number))
}

t.test(
  'the cog opens the connector wizard: basic details, variables, authentication methods, endpoints and revision history, each a step of its own',
  async (t) => {
    const shopify = await install(ctx.db, admin, 'shopify')
    const { page, text } = await settingsOf(adminClient, shopify.id)
    t.equal(page.statusCode, 200)
    t.match(text, `Settings for ${shopify.name}`)
    t.match(page.body, /<nav class="wizard-steps" aria-label="Connector wizard">/)
    for (const [i, title] of [
      'basic details',
      'variables',
      'authentication methods',
      'endpoints',
      'revision history',
    ].entries()) {
      t.match(
        page.body,
        new RegExp(
          `<a href="/connectors/${shopify.id}${STEPS[i] === '/settings' ? '/settings' : STEPS[i]}" aria-current="${i === 0 ? 'step' : 'false'}">${i + 1}\\. ${title}`,
        ),
        `step ${i + 1}: ${title}`,
      )
    }
    t.match(page.body, `action="/connectors/${shopify.id}/settings"`, 'basic details are saved at the settings address')
    t.notMatch(page.body, '/endpoints/get_orders/delete', 'the other steps are not on this page')

    const variables = await settingsOf(adminClient, shopify.id, '/variables')
    t.equal(variables.page.statusCode, 200)
    t.match(variables.page.body, `<a href="/connectors/${shopify.id}/variables" aria-current="step">`)
    t.match(variables.text, 'Variables Values every instance gives')
    t.match(variables.page.body, `href="/connectors/${shopify.id}/variables/shop_domain"`)
    t.match(variables.page.body, `action="/connectors/${shopify.id}/variables/shop_domain/delete"`)
    t.match(variables.page.body, `action="/connectors/${shopify.id}/variables"`)

    const auth = await settingsOf(adminClient, shopify.id, '/auth-methods')
    t.match(auth.page.body, `<a href="/connectors/${shopify.id}/auth-methods" aria-current="step">`)
    t.match(auth.page.body, `href="/connectors/${shopify.id}/auth-methods/oauth"`)

    const endpoints = await settingsOf(adminClient, shopify.id, '/endpoints')
    t.match(endpoints.page.body, `<a href="/connectors/${shopify.id}/endpoints" aria-current="step">`)
    t.match(endpoints.page.body, `action="/connectors/${shopify.id}/endpoints"`)
    t.match(endpoints.page.body, `href="/connectors/${shopify.id}/endpoints/get_orders"`)
    t.match(endpoints.page.body, `action="/connectors/${shopify.id}/endpoints/get_orders/delete"`)
    t.match(endpoints.page.body, /<input type="hidden" name="revision" value="1">/)
    t.notMatch(
      endpoints.page.body,
      `action="/connectors/${shopify.id}/endpoints/get_orders"`,
      "an item's edit form opens on request, not on every page load",
    )

    const revisions = await settingsOf(adminClient, shopify.id, '/revisions')
    t.match(revisions.page.body, `<a href="/connectors/${shopify.id}/revisions" aria-current="step">`)
    t.match(revisions.text, /revision 1 \(current\) \d+ \w+ \d{4}, \d\d:\d\d UTC/)
    t.match(revisions.text, `${admin.name} installed version ${shopify.version} from the marketplace`)
    t.match(revisions.page.body, `href="/connectors/${shopify.id}/revisions/1"`)
  },
)

t.test(
  'every step has the trash icon, the update available button, who modified the connector and when, and its version',
  async (t) => {
    const bc = await install(ctx.db, admin, 'bigcommerce')
    await settingsOf(adminClient, bc.id, '/endpoints')
    t.equal(
      (
        await adminClient.post(`/connectors/${bc.id}/endpoints`, {
          revision: '1',
          ...refundsForm,
          url: '/refunds',
          variable_key: ['', ''],
          variable_label: ['', ''],
        })
      ).statusCode,
      303,
    )
    const newer = await publishNextVersion(ctx.db, 'bigcommerce')
    for (const step of [...STEPS, '/endpoints/get_refunds']) {
      const { page, text } = await settingsOf(adminClient, bc.id, step)
      t.equal(page.statusCode, 200, step)
      t.match(
        page.body,
        /class="icon-link trash" href="\/connectors\/[^"]+\/delete" aria-label="remove connector"/,
        `${step}: the trash icon`,
      )
      t.match(page.body, `<div id="removal"></div>`, `${step}: where the type-confirm prompt opens`)
      t.match(page.body, `href="/connectors/${bc.id}/update"`, `${step}: the update button`)
      t.match(text, `update available version ${newer} is in the marketplace.`, `${step}: which version`)
      t.match(
        text,
        new RegExp(
          `modified by ${admin.name} on \\d+ \\w+ \\d{4} \\(version ${bc.version.replace(/\./g, '\\.')} is what it was based on\\)`,
        ),
        `${step}: modified by`,
      )
      t.match(text, `prebuilt version ${bc.version} · revision 2`, `${step}: version and revision`)
      t.match(
        text,
        'The connector wizard: basic details, variables, authentication methods, endpoints and the revision history',
        `${step}: the wizard`,
      )
    }
    t.equal((await adminClient.get(`/connectors/${bc.id}/endpoints/no_such_endpoint`)).statusCode, 404)
    const past = await adminClient.get(`/connectors/${bc.id}/revisions?page=99`)
    t.equal(past.statusCode, 303, 'a page past the end goes to the last page')
    t.equal(past.headers.location, `/connectors/${bc.id}/revisions`, 'here the first and only one')
  },
)

t.test('each step is a small page, even for the largest connector of the catalogue', async (t) => {
  const magento = await install(ctx.db, admin, 'magento')
  for (const step of STEPS) {
    const { page } = await settingsOf(adminClient, magento.id, step)
    t.equal(page.statusCode, 200)
    t.ok(page.body.length < 30_000, `${step}: ${page.body.length} bytes`)
  }
})

t.test('adding an endpoint saves a revision and marks the prebuilt connector modified', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const before = await settingsOf(adminClient, shopify.id, '/endpoints')
  const response = await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
    revision: '1',
    submission: before.submission(),
    ...refundsForm,
  })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, `/connectors/${shopify.id}/endpoints`, 'back to the step it was made on')
  const after = await settingsOf(adminClient, shopify.id, '/endpoints')
  t.match(after.text, `Saved revision 2 of ${shopify.name}: added endpoint Get refunds.`)
  t.match(
    after.text,
    'Get refunds get_refunds receive Refunds · GET /orders/{{order_id}}/refunds.json · variables: order_id',
  )
  t.match(after.text, `modified by ${admin.name} on`)
  const history = await settingsOf(adminClient, shopify.id, '/revisions')
  t.match(history.text, `revision 2 (current)`)
  t.match(history.text, `${admin.name} added endpoint Get refunds`)

  const row = await connectorRow(ctx.db, shopify.id)
  t.equal(row.revision, 2)
  t.equal(row.modifiedBy, admin.id)
  t.ok(row.modifiedAt)
  t.same(row.definition.endpoints.at(-1), {
    key: 'get_refunds',
    name: 'Get refunds',
    entity: 'Refunds',
    direction: 'receive',
    method: 'GET',
    url: '/orders/{{order_id}}/refunds.json',
    variables: [{ key: 'order_id', label: 'Order ID', secret: false, required: true }],
  })
  const revisions = await revisionsOf(shopify.id)
  t.same(
    revisions.map((r) => [r.number, r.authorId, r.summary]),
    [
      [1, admin.id, `installed version ${shopify.version} from the marketplace`],
      [2, admin.id, 'added endpoint Get refunds'],
    ],
  )
  t.same(revisions[1]!.definition, row.definition, 'the revision keeps the whole definition')

  const list = textOf((await adminClient.get(`/connectors?q=${encodeURIComponent(shopify.name)}`)).body)
  t.match(
    list,
    new RegExp(`version ${shopify.version.replace(/\./g, '\\.')} · modified by ${admin.name} on \\d+ \\w+ \\d{4}`),
  )

  const [event] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, shopify.id), eq(auditEvents.action, 'modify')))
  t.match(event, {
    actorId: admin.id,
    summary: `changed ${shopify.name} (revision 2): added endpoint Get refunds`,
    details: { revision: 2, changes: ['added endpoint Get refunds'] },
  })
})

t.test("a revision page shows that revision's definition and what changed from the one before", async (t) => {
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

t.test("an endpoint's edit form opens at its own address, in its step; saving it returns to the step", async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const { page, text } = await settingsOf(adminClient, shopify.id, '/endpoints/get_orders')
  t.equal(page.statusCode, 200)
  t.match(page.body, `<a href="/connectors/${shopify.id}/endpoints" aria-current="step">`, 'it is the endpoints step')
  t.match(
    page.body,
    new RegExp(
      `<form method="post" action="/connectors/${shopify.id}/endpoints/get_orders" class="stack item-form" novalidate aria-label="Edit endpoint Get orders"`,
    ),
  )
  t.match(
    page.body,
    /id="edit-endpoint-get_orders-name" name="name" type="text" value="Get orders"[^>]* autofocus>/,
    'focus goes to its first field',
  )
  t.match(
    page.body,
    `href="/connectors/${shopify.id}/endpoints/get_customers"`,
    'the other endpoints keep their edit links',
  )
  t.match(text, 'save endpoint cancel')
  t.notMatch(page.body, 'class="add-item"', 'one form at a time: no add form beside it')
  const fragment = await adminClient.get(`/connectors/${shopify.id}/endpoints/get_orders`, HTMX)
  t.match(fragment.body, /^<div id="connector-wizard">/, 'htmx gets the wizard to swap in place')
  t.notMatch(fragment.body, '<html')
  for (const role of ['user', 'read-only'] as const) {
    t.equal(
      (await (await signedIn(ctx.app, ctx.company.users[role])).get(`/connectors/${shopify.id}/endpoints/get_orders`))
        .statusCode,
      403,
      role,
    )
  }
})

t.test('an endpoint is changed and removed; its key stays', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/endpoints`)
  const changed = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_orders`, {
    revision: '1',
    name: 'Get open orders',
    entity: 'Orders',
    direction: 'receive',
    method: 'GET',
    url: '/orders.json?status=open&updated_at_min={{updated_since}}&limit={{page_size}}',
    variable_key: ['updated_since', 'page_size', ''],
    variable_label: ['Updated since', 'Page size', ''],
    variable_secret: ['no', 'no', 'no'],
    variable_required: ['no', 'no', 'no'],
    variable_default: ['', '250', ''],
    key: 'sneaky_new_key',
  })
  t.equal(changed.statusCode, 303)
  t.equal(changed.headers.location, `/connectors/${shopify.id}/endpoints#endpoint-get_orders`)
  let row = await connectorRow(ctx.db, shopify.id)
  const orders = row.definition.endpoints.find((e) => e.key === 'get_orders')!
  t.equal(orders.name, 'Get open orders')
  t.same(
    orders.variables.map((v) => [v.key, v.default ?? null]),
    [
      ['updated_since', null],
      ['page_size', '250'],
    ],
  )
  t.notOk(
    row.definition.endpoints.some((e) => e.key === 'sneaky_new_key'),
    'the key of an existing endpoint cannot be changed',
  )
  t.equal(
    (await revisionsOf(shopify.id)).at(-1)!.summary,
    'changed endpoint Get open orders (name, URL, endpoint variables)',
  )

  const removed = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_customers/delete`, { revision: '2' })
  t.equal(removed.statusCode, 303)
  t.equal(removed.headers.location, `/connectors/${shopify.id}/endpoints`)
  row = await connectorRow(ctx.db, shopify.id)
  t.notOk(row.definition.endpoints.some((e) => e.key === 'get_customers'))
  t.equal((await revisionsOf(shopify.id)).at(-1)!.summary, 'removed endpoint Get customers')
  t.equal(
    (await adminClient.post(`/connectors/${shopify.id}/endpoints/no_such_endpoint/delete`, { revision: '3' }))
      .statusCode,
    404,
  )
})

t.test('invalid input comes back as 422 with the values kept and the message tied to its field', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/endpoints`)
  const bad = await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
    ...refundsForm,
    revision: '1',
    key: 'Get Refunds',
    name: '',
    url: '/refunds.json?since={{refunded_since}}',
    variable_key: ['order_id', 'order_id', ''],
    variable_label: ['Order ID', '', ''],
  })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /<details class="add-item" open>/, 'the add endpoint form is open')
  t.match(
    bad.body,
    /id="add-endpoint-key" name="key" type="text" value="Get Refunds" aria-describedby="add-endpoint-key-error add-endpoint-key-hint" aria-invalid="true"/,
  )
  t.match(bad.body, /<p class="field-error" id="add-endpoint-key-error">Use lower-case letters, digits and _/)
  t.match(
    bad.body,
    /id="add-endpoint-name" name="name" type="text" value="" aria-describedby="add-endpoint-name-error"/,
  )
  t.match(bad.body, /id="add-endpoint-name-error">Enter a name\.</)
  t.match(bad.body, /value="Refunds"/, 'other values are kept')
  t.match(
    bad.body,
    /id="add-endpoint-variable-1-key" name="variable_key" type="text" value="order_id" aria-invalid="true" aria-describedby="add-endpoint-variable-1-key-error"/,
  )
  t.match(bad.body, /id="add-endpoint-variable-1-key-error">Two endpoint variables have the key order_id\./)
  t.match(bad.body, /id="add-endpoint-variable-1-label-error">Enter a label\./)
  t.match(bad.body, /id="add-endpoint-key"[^>]*autofocus/, 'focus goes to the first field with a message')
  t.match(
    bad.body,
    `<a href="/connectors/${shopify.id}/endpoints" aria-current="step">`,
    'the form comes back in its step',
  )
  const htmx = await adminClient.post(
    `/connectors/${shopify.id}/endpoints`,
    { ...refundsForm, revision: '1', key: 'Get Refunds' },
    HTMX,
  )
  t.equal(htmx.statusCode, 422)
  t.match(htmx.body, /^<div id="connector-wizard">/, 'with htmx, the wizard alone, swapped in place')
  t.match(htmx.body, /<details class="add-item" open>/)
  t.match(htmx.body, /value="Get Refunds"/)

  const placeholder = await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
    ...refundsForm,
    revision: '1',
    url: '/refunds.json?since={{refunded_since}}',
  })
  t.equal(placeholder.statusCode, 422)
  t.match(
    placeholder.body,
    /id="add-endpoint-url-error">\{\{refunded_since\}\} is not a variable of this connector or endpoint/,
  )

  const duplicate = await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
    ...refundsForm,
    revision: '1',
    key: 'get_orders',
  })
  t.equal(duplicate.statusCode, 422)
  t.match(
    duplicate.body,
    'This connector already has a endpoint with the key get_orders.'.replace('a endpoint', 'a endpoint'),
  )

  const details = await adminClient.post(`/connectors/${shopify.id}/settings`, {
    revision: '1',
    name: 'Shopify',
    protocol: 'HTTP',
    baseUrl: 'https://{{shop}}/admin',
    dateFormat: 'ISO 8601',
    rateLimitAmount: '0',
    rateLimitUnit: 'fortnight',
  })
  t.equal(details.statusCode, 422)
  t.match(details.body, /id="details-rate-limit-amount-error">Enter a whole number from 1 to 1000000\./)
  t.match(details.body, /id="details-rate-limit-unit-error">Choose second, minute or hour\./)
  t.match(details.body, `<a href="/connectors/${shopify.id}/settings" aria-current="step">`)

  const variableInUse = await adminClient.post(`/connectors/${shopify.id}/variables/shop_domain/delete`, {
    revision: '1',
  })
  t.equal(variableInUse.statusCode, 422)
  t.match(
    textOf(variableInUse.body),
    'Variable “Shop domain (e.g. example.myshopify.com)” is used in the base URL; change that first.',
  )
  const statusInUse = await adminClient.post(`/connectors/${shopify.id}/variables/order_status/delete`, {
    revision: '1',
  })
  t.match(
    textOf(statusInUse.body),
    'Variable “Order status filter” is used in the URL of endpoint “Get orders”; change that URL first.',
  )
  t.match(statusInUse.body, /aria-describedby="remove-variable-order_status-error" autofocus/)

  const row = await connectorRow(ctx.db, shopify.id)
  t.equal(row.revision, 1, 'nothing was saved')
  t.equal(row.modifiedAt, null)
})

t.test('a connector keeps at least one endpoint and one authentication method', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/auth-methods`)
  let revision = 1
  for (const key of ['admin_api_token']) {
    t.equal(
      (await adminClient.post(`/connectors/${shopify.id}/auth-methods/${key}/delete`, { revision: String(revision++) }))
        .statusCode,
      303,
    )
  }
  const last = await adminClient.post(`/connectors/${shopify.id}/auth-methods/oauth/delete`, {
    revision: String(revision),
  })
  t.equal(last.statusCode, 422)
  t.match(textOf(last.body), 'A connector needs at least one authentication method.')
})

t.test('authentication methods and variables are added, changed and removed', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/auth-methods`)
  const added = await adminClient.post(`/connectors/${shopify.id}/auth-methods`, {
    revision: '1',
    key: 'basic_auth',
    name: 'Basic (private app)',
    type: 'basic',
    field_key: ['username', 'password', ''],
    field_label: ['Username', 'Password', ''],
    field_secret: ['no', 'yes', 'no'],
    field_required: ['yes', 'yes', 'no'],
    field_default: ['', '', ''],
  })
  t.equal(added.statusCode, 303)
  t.equal(added.headers.location, `/connectors/${shopify.id}/auth-methods`)
  const changed = await adminClient.post(`/connectors/${shopify.id}/auth-methods/basic_auth`, {
    revision: '2',
    name: 'Basic',
    type: 'basic',
    field_key: ['username', ''],
    field_label: ['User', ''],
    field_secret: ['no', 'no'],
    field_required: ['yes', 'no'],
    field_default: ['', ''],
  })
  t.equal(changed.statusCode, 303)
  const variable = await adminClient.post(`/connectors/${shopify.id}/variables`, {
    revision: '3',
    key: 'warehouse_code',
    label: 'Default warehouse',
    required: 'yes',
    default: '42',
  })
  t.equal(variable.statusCode, 303)
  t.equal(variable.headers.location, `/connectors/${shopify.id}/variables`)
  const relabelled = await adminClient.post(`/connectors/${shopify.id}/variables/warehouse_code`, {
    revision: '4',
    label: 'Warehouse',
    secret: 'yes',
  })
  t.equal(relabelled.statusCode, 303)
  const row = await connectorRow(ctx.db, shopify.id)
  t.same(
    row.definition.authMethods.find((a) => a.key === 'basic_auth'),
    {
      key: 'basic_auth',
      name: 'Basic',
      type: 'basic',
      fields: [{ key: 'username', label: 'User', secret: false, required: true }],
    },
  )
  t.same(
    row.definition.variables.find((v) => v.key === 'warehouse_code'),
    { key: 'warehouse_code', label: 'Warehouse', secret: true, required: false },
  )
  t.same(
    (await revisionsOf(shopify.id)).slice(1).map((r) => r.summary),
    [
      'added authentication method Basic (private app)',
      'changed authentication method Basic (name, fields)',
      'added variable Default warehouse',
      'changed variable Warehouse (label, secret, required, default value)',
    ],
  )
  t.equal(
    (await adminClient.post(`/connectors/${shopify.id}/variables/warehouse_code/delete`, { revision: '5' })).statusCode,
    303,
  )
  t.notOk((await connectorRow(ctx.db, shopify.id)).definition.variables.some((v) => v.key === 'warehouse_code'))
})

t.test('what instances and connection shapes use cannot be removed', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const instance = await addInstance(ctx.db, admin, shopify.id, 'Shopify - UK', 'oauth')
  await addFlow(ctx.db, admin, 'Orders to ERP', [{ instanceId: instance.id, endpointKey: 'get_orders' }])
  await adminClient.get(`/connectors/${shopify.id}/endpoints`)
  const endpoint = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_orders/delete`, { revision: '1' })
  t.equal(endpoint.statusCode, 422)
  t.match(
    textOf(endpoint.body),
    'Endpoint “Get orders” is used by a connection shape in the process flow Orders to ERP. Reconfigure or remove it first.',
  )
  const auth = await adminClient.post(`/connectors/${shopify.id}/auth-methods/oauth/delete`, { revision: '1' })
  t.equal(auth.statusCode, 422)
  t.match(
    textOf(auth.body),
    'Authentication method “OAuth (public app)” is used by the instance Shopify - UK. Change its authentication first.',
  )

  const second = await addInstance(ctx.db, admin, shopify.id, 'Shopify - US', 'oauth')
  await addFlow(ctx.db, admin, 'Refunds', [
    { instanceId: second.id, endpointKey: 'get_orders' },
    { instanceId: instance.id, endpointKey: 'get_orders' },
  ])
  await adminClient.get(`/connectors/${shopify.id}/settings`)
  const endpointMany = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_orders/delete`, {
    revision: '1',
  })
  t.match(
    textOf(endpointMany.body),
    'Endpoint “Get orders” is used by 3 connection shapes in these process flows: Orders to ERP and Refunds. Reconfigure or remove them first.',
  )
  const authMany = await adminClient.post(`/connectors/${shopify.id}/auth-methods/oauth/delete`, { revision: '1' })
  t.match(
    textOf(authMany.body),
    'Authentication method “OAuth (public app)” is used by these instances: Shopify - UK and Shopify - US. Change their authentication first.',
  )
  t.equal((await connectorRow(ctx.db, shopify.id)).revision, 1)
})

t.test(
  'renaming saves a revision but does not make a connector modified; a custom connector is never "modified"',
  async (t) => {
    const xero = await install(ctx.db, admin, 'xero')
    const { page } = await settingsOf(adminClient, xero.id)
    const value = (name: string) => new RegExp(`name="${name}" type="[a-z]+" value="([^"]*)"`).exec(page.body)![1]!
    const renamed = await adminClient.post(`/connectors/${xero.id}/settings`, {
      revision: '1',
      name: 'Xero (UK)',
      protocol: 'HTTP',
      baseUrl: value('baseUrl'),
      dateFormat: value('dateFormat'),
      rateLimitAmount: value('rateLimitAmount'),
      rateLimitUnit: 'minute',
    })
    t.equal(renamed.statusCode, 303)
    t.equal(renamed.headers.location, `/connectors/${xero.id}/settings`)
    let row = await connectorRow(ctx.db, xero.id)
    t.equal(row.name, 'Xero (UK)')
    t.equal(row.modifiedAt, null, 'a new name is not a change of the definition')
    t.equal((await revisionsOf(xero.id)).at(-1)!.summary, `renamed ${xero.name} to Xero (UK)`)

    const unchanged = await adminClient.post(`/connectors/${xero.id}/settings`, {
      revision: '2',
      name: 'Xero (UK)',
      protocol: 'HTTP',
      baseUrl: value('baseUrl'),
      dateFormat: value('dateFormat'),
      rateLimitAmount: value('rateLimitAmount'),
      rateLimitUnit: 'minute',
    })
    t.equal(unchanged.statusCode, 303)
    t.match(
      textOf((await adminClient.get(`/connectors/${xero.id}/settings`)).body),
      'Nothing changed in Xero (UK), so no revision was saved.',
    )
    row = await connectorRow(ctx.db, xero.id)
    t.equal(row.revision, 2)

    const custom = await installCustom(ctx.db, admin, 'Our Warehouse Feed')
    await adminClient.get(`/connectors/${custom.id}/endpoints`)
    t.equal(
      (
        await adminClient.post(`/connectors/${custom.id}/endpoints`, {
          revision: '1',
          ...refundsForm,
          url: '/refunds',
          variable_key: ['', ''],
          variable_label: ['', ''],
        })
      ).statusCode,
      303,
    )
    row = await connectorRow(ctx.db, custom.id)
    t.equal(row.revision, 2)
    t.equal(row.modifiedAt, null)
  },
)

t.test('a save based on an old revision is refused with a clear conflict, nothing lost', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const adminPage = await settingsOf(adminClient, shopify.id, '/endpoints')
  await settingsOf(managerClient, shopify.id, '/endpoints')
  t.equal(
    (await managerClient.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', ...refundsForm })).statusCode,
    303,
  )
  const late = await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
    revision: '1',
    submission: adminPage.submission(),
    ...refundsForm,
    key: 'get_payouts',
    name: 'Get payouts',
    url: '/payouts.json',
    variable_key: ['', ''],
    variable_label: ['', ''],
  })
  t.equal(late.statusCode, 409)
  const text = textOf(late.body)
  t.match(text, `${manager.name} saved a change to this connector meanwhile (revision 2). Your change was not saved.`)
  t.match(text, 'Get refunds', 'the page shows their change')
  t.match(late.body, /id="add-endpoint-key" name="key" type="text" value="get_payouts"/, 'what the admin typed is kept')
  t.match(late.body, /<input type="hidden" name="revision" value="2">/, 'the form is now based on their revision')
  const htmxLate = await adminClient.post(
    `/connectors/${shopify.id}/endpoints`,
    {
      revision: '1',
      ...refundsForm,
      key: 'get_payouts',
      name: 'Get payouts',
      url: '/payouts.json',
      variable_key: ['', ''],
      variable_label: ['', ''],
    },
    HTMX,
  )
  t.equal(htmxLate.statusCode, 409)
  t.match(htmxLate.body, /^<div id="connector-wizard">/, 'with htmx, swapped in place')
  t.match(textOf(htmxLate.body), 'prebuilt version')
  t.match(
    htmxLate.body,
    /revision 2<\/p>|· revision 2 ·/,
    'the swapped part says which revision the connector is at now',
  )
  const row = await connectorRow(ctx.db, shopify.id)
  t.equal(row.revision, 2)
  t.ok(row.definition.endpoints.some((e) => e.key === 'get_refunds'))
  t.notOk(row.definition.endpoints.some((e) => e.key === 'get_payouts'))
})

t.test('two saves of the same connector at once: exactly one conflict', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const row = await connectorRow(ctx.db, shopify.id)
  const withEndpoint = (key: string) => ({
    ...row.definition,
    endpoints: [...row.definition.endpoints, { ...row.definition.endpoints[0]!, key, name: key }],
  })
  const results = await Promise.allSettled([
    saveDefinition(ctx.db, admin, { connectorId: shopify.id, revision: 1, definition: withEndpoint('by_admin') }),
    saveDefinition(ctx.db, manager, { connectorId: shopify.id, revision: 1, definition: withEndpoint('by_manager') }),
  ])
  const refused = results.filter((r) => r.status === 'rejected')
  t.equal(refused.length, 1)
  t.ok((refused[0] as PromiseRejectedResult).reason instanceof RevisionConflict)
  t.match(
    (refused[0] as PromiseRejectedResult).reason.message,
    /saved a change to this connector meanwhile \(revision 2\)\. Your change was not saved; reload to see theirs\./,
  )
  const saved = await connectorRow(ctx.db, shopify.id)
  t.equal(saved.revision, 2)
  t.equal(saved.definition.endpoints.filter((e) => e.key === 'by_admin' || e.key === 'by_manager').length, 1)
  t.equal((await revisionsOf(shopify.id)).length, 2)
})

t.test('a double-submitted form saves once', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  const { submission } = await settingsOf(adminClient, shopify.id, '/endpoints')
  const form = { revision: '1', submission: submission(), ...refundsForm }
  const [first, second] = await Promise.all([
    adminClient.post(`/connectors/${shopify.id}/endpoints`, form),
    adminClient.post(`/connectors/${shopify.id}/endpoints`, form),
  ])
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
    for (const step of STEPS) {
      const { page, text } = await settingsOf(client, shopify.id, step)
      t.equal(page.statusCode, 200)
      t.notMatch(page.body, 'method="post" action="/connectors/', `${role} sees no edit forms on ${step}`)
      t.notMatch(page.body, 'aria-label="remove connector"', `${role}: no trash icon on ${step}`)
      t.match(text, 'Your role can view this connector but not change it.')
    }
    t.match((await settingsOf(client, shopify.id, '/endpoints')).text, 'Get orders')
    t.match((await settingsOf(client, shopify.id)).text, 'Protocol HTTP')
    const refused = await client.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', ...refundsForm })
    t.equal(refused.statusCode, 403)
  }
  t.equal((await connectorRow(ctx.db, shopify.id)).revision, 1)
})

t.test("another company's connector and its revisions answer like missing ones", async (t) => {
  const theirs = await install(ctx.db, ctx.other.users.administrator, 'shopify')
  await adminClient.get('/connectors')
  for (const step of [...STEPS, '/revisions/1', '/endpoints/get_orders'])
    t.equal((await adminClient.get(`/connectors/${theirs.id}${step}`)).statusCode, 404, step)
  t.equal(
    (await adminClient.post(`/connectors/${theirs.id}/endpoints`, { revision: '1', ...refundsForm })).statusCode,
    404,
  )
  t.equal(
    (await adminClient.post(`/connectors/${theirs.id}/endpoints/get_orders/delete`, { revision: '1' })).statusCode,
    404,
  )
  t.equal((await connectorRow(ctx.db, theirs.id)).revision, 1)
})

t.test('a removal based on an old revision is refused too, and says so beside the remove button', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/endpoints`)
  t.equal(
    (await managerClient.post(`/connectors/${shopify.id}/endpoints`, { revision: '1', ...refundsForm })).statusCode,
    303,
  )
  const late = await adminClient.post(`/connectors/${shopify.id}/endpoints/get_customers/delete`, { revision: '1' })
  t.equal(late.statusCode, 409)
  t.match(
    late.body,
    new RegExp(
      `id="remove-endpoint-get_customers-error" role="alert">${manager.name} saved a change to this connector meanwhile \\(revision 2\\)\\. Nothing was removed\\.`,
    ),
  )
  t.ok((await connectorRow(ctx.db, shopify.id)).definition.endpoints.some((e) => e.key === 'get_customers'))
})

t.test(
  'renaming to the name of another connector of the company, whatever the case, is refused beside the name',
  async (t) => {
    const first = await install(ctx.db, admin, 'mintsoft')
    const other = await install(ctx.db, admin, 'zendesk')
    const { page } = await settingsOf(adminClient, other.id)
    const value = (name: string) => new RegExp(`name="${name}" type="[a-z]+" value="([^"]*)"`).exec(page.body)![1]!
    const form = (name: string) => ({
      revision: '1',
      name,
      protocol: 'HTTP',
      baseUrl: value('baseUrl'),
      dateFormat: value('dateFormat'),
      rateLimitAmount: value('rateLimitAmount'),
      rateLimitUnit: 'minute',
    })
    const taken = await adminClient.post(`/connectors/${other.id}/settings`, form(first.name.toUpperCase()))
    t.equal(taken.statusCode, 422)
    t.match(
      taken.body,
      new RegExp(
        `id="details-name-error">You already have a connector called ${first.name}\\. Choose another name: the names of your connectors are unique\\.<`,
      ),
    )
    t.match(taken.body, `value="${first.name.toUpperCase()}"`, 'what the user typed is kept')
    t.equal((await connectorRow(ctx.db, other.id)).name, other.name, 'not renamed')
    t.equal(
      (await adminClient.post(`/connectors/${other.id}/settings`, form(other.name.toLowerCase()))).statusCode,
      303,
      'its own name in another case is fine',
    )
    t.equal((await connectorRow(ctx.db, other.id)).name, other.name.toLowerCase())
  },
)

t.test(
  'sent by htmx (a boosted form), a save is answered with HX-Redirect and a refusal with the page, never a redirect to follow',
  async (t) => {
    const shopify = await install(ctx.db, admin, 'shopify')
    const boosted = { 'hx-request': 'true', 'hx-boosted': 'true', 'hx-request-type': 'full' }
    const form = (name: string) => ({
      revision: '1',
      name,
      protocol: 'HTTP',
      baseUrl: 'https://{{shop_domain}}/admin/api/2024-01',
      dateFormat: 'ISO 8601',
      rateLimitAmount: '2',
      rateLimitUnit: 'second',
    })
    await settingsOf(adminClient, shopify.id)
    const refused = await adminClient.post(`/connectors/${shopify.id}/settings`, form(''), boosted)
    t.equal(refused.statusCode, 422)
    t.notOk(refused.headers['hx-redirect'])
    t.match(refused.body, /<h1>Settings for Shopify/, 'the settings page again, to swap in where it was')
    t.match(refused.body, 'href="/help/changing-a-connector"', 'with its help link')
    await settingsOf(adminClient, shopify.id)
    const saved = await adminClient.post(`/connectors/${shopify.id}/settings`, form('Shopify UK'), boosted)
    t.equal(saved.statusCode, 200)
    t.equal(saved.headers['hx-redirect'], `/connectors/${shopify.id}/settings`, 'the browser loads the settings page')
    t.notOk(saved.headers.location, 'no redirect for fetch to follow into a swap')
    t.equal(saved.body, '')
  },
)

/** The undo form in the flash area of a page: its action, or null. */
const undoOf = (html: string) => /<form method="post" action="([^"]+)" class="flash-undo">/.exec(html)?.[1] ?? null

t.test(
  'removing an endpoint, variable or authentication method offers an undo that puts it back where it was',
  async (t) => {
    const shopify = await install(ctx.db, admin, 'shopify')
    // Every variable of the catalogue's Shopify is used in a URL: one more, to remove.
    await adminClient.get(`/connectors/${shopify.id}/variables`)
    t.equal(
      (
        await adminClient.post(`/connectors/${shopify.id}/variables`, {
          revision: '1',
          key: 'warehouse_code',
          label: 'Warehouse',
        })
      ).statusCode,
      303,
    )
    const original = (await connectorRow(ctx.db, shopify.id)).definition
    const cases = [
      { step: 'endpoints', key: 'get_customers', word: 'endpoint', name: 'Get customers', list: 'endpoints' },
      { step: 'variables', key: 'warehouse_code', word: 'variable', name: 'Warehouse', list: 'variables' },
      {
        step: 'auth-methods',
        key: 'admin_api_token',
        word: 'authentication method',
        name: original.authMethods.find((a) => a.key === 'admin_api_token')?.name,
        list: 'authMethods',
      },
    ] as const
    for (const c of cases) {
      t.ok(c.name, `${c.key} is in the catalogue's Shopify`)
      const before = await connectorRow(ctx.db, shopify.id)
      await adminClient.get(`/connectors/${shopify.id}/${c.step}`)
      const removed = await adminClient.post(`/connectors/${shopify.id}/${c.step}/${c.key}/delete`, {
        revision: String(before.revision),
      })
      t.equal(removed.statusCode, 303)
      const page = await adminClient.get(removed.headers.location as string)
      t.match(
        textOf(page.body),
        `Saved revision ${before.revision + 1} of ${shopify.name}: removed ${c.word} ${c.name}. undo (removed ${c.word} ${c.name})`,
      )
      const action = undoOf(page.body)
      t.equal(
        action,
        `/connectors/${shopify.id}/revisions/${before.revision + 1}/undo`,
        'the flash message carries an undo',
      )
      t.match(
        page.body,
        /<div id="flash" role="status" aria-live="polite"><p class="flash">[^<]+<\/p><form method="post" action="[^"]+" class="flash-undo">\s*<input type="hidden" name="_csrf" value="[^"]+">\s*<input type="hidden" name="submission" value="[^"]+">\s*<button type="submit"/,
        'a small form with its CSRF token, inside the live region',
      )
      t.notMatch(
        undoOf((await adminClient.get(removed.headers.location as string)).body) ?? '',
        'undo',
        'the undo is offered once, like any flash message',
      )

      const undone = await adminClient.post(action!, {
        submission: /class="flash-undo">[\s\S]*?name="submission" value="([^"]+)"/.exec(page.body)![1]!,
      })
      t.equal(undone.statusCode, 303)
      t.equal(
        undone.headers.location,
        `/connectors/${shopify.id}/${c.step}#${c.word === 'authentication method' ? 'authMethod' : c.word}-${c.key}`,
        'back to the step, at the item',
      )
      t.match(
        textOf((await adminClient.get(undone.headers.location as string)).body),
        `The ${c.word} ${c.name} is back in ${shopify.name}, saved as revision ${before.revision + 2}.`,
      )
      const after = await connectorRow(ctx.db, shopify.id)
      t.same(
        after.definition[c.list].map((i: { key: string }) => i.key),
        before.definition[c.list].map((i: { key: string }) => i.key),
        'in the same place',
      )
      t.same(after.definition, before.definition, 'exactly as it was')
      t.equal(
        (await revisionsOf(shopify.id)).at(-1)!.summary,
        `put back ${c.word} ${c.name} (undoing revision ${before.revision + 1})`,
      )
    }
    const events = await ctx.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.subjectId, shopify.id), eq(auditEvents.action, 'undo removal')))
    t.equal(events.length, 3, 'each undo is in the audit log')
    t.match(events[0], {
      actorId: admin.id,
      summary: `changed ${shopify.name} (revision 4): put back endpoint Get customers (undoing revision 3)`,
    })
  },
)

t.test(
  "an undo still works after other changes, keeps the item's place among the others, and a double click saves once",
  async (t) => {
    const shopify = await install(ctx.db, admin, 'shopify')
    const keys = (await connectorRow(ctx.db, shopify.id)).definition.endpoints.map((e) => e.key)
    await adminClient.get(`/connectors/${shopify.id}/endpoints`)
    t.equal(
      (await adminClient.post(`/connectors/${shopify.id}/endpoints/get_customers/delete`, { revision: '1' }))
        .statusCode,
      303,
    )
    const action = undoOf((await adminClient.get(`/connectors/${shopify.id}/endpoints`)).body)!
    // Meanwhile: another endpoint added by a colleague, and the one before it removed.
    await managerClient.get(`/connectors/${shopify.id}/endpoints`)
    t.equal(
      (await managerClient.post(`/connectors/${shopify.id}/endpoints`, { revision: '2', ...refundsForm })).statusCode,
      303,
    )
    const index = keys.indexOf('get_customers')
    t.equal(
      (await managerClient.post(`/connectors/${shopify.id}/endpoints/${keys[index - 1]}/delete`, { revision: '3' }))
        .statusCode,
      303,
    )
    const submission = '0b0c2f7e-9a3c-4d0e-8f4e-6c1b2a3d4e5f'
    const [first, second] = await Promise.all([
      adminClient.post(action, { submission }),
      adminClient.post(action, { submission }),
    ])
    t.equal(first.statusCode, 303)
    t.equal(second.statusCode, 303)
    const after = (await connectorRow(ctx.db, shopify.id)).definition.endpoints.map((e) => e.key)
    t.same(
      after,
      [...keys.filter((k) => k !== keys[index - 1]), 'get_refunds'],
      'back before the endpoint that followed it',
    )
    t.same(
      (await revisionsOf(shopify.id)).map((r) => r.number),
      [1, 2, 3, 4, 5],
      'one new revision',
    )
  },
)

t.test('an undo the connector no longer has room for is refused with the reason, and nothing changes', async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/endpoints`)
  t.equal(
    (await adminClient.post(`/connectors/${shopify.id}/endpoints/get_customers/delete`, { revision: '1' })).statusCode,
    303,
  )
  const action = undoOf((await adminClient.get(`/connectors/${shopify.id}/endpoints`)).body)!
  // Another endpoint with the same key since.
  t.equal(
    (
      await adminClient.post(`/connectors/${shopify.id}/endpoints`, {
        revision: '2',
        ...refundsForm,
        key: 'get_customers',
        name: 'Get buyers',
      })
    ).statusCode,
    303,
  )
  const refused = await adminClient.post(action, {})
  t.equal(refused.statusCode, 303)
  t.equal(refused.headers.location, `/connectors/${shopify.id}/endpoints`)
  const page = await adminClient.get(refused.headers.location as string)
  t.match(
    textOf(page.body),
    `Endpoint “Get customers” cannot be put back: ${shopify.name} has another endpoint with the key get_customers now. Nothing was undone.`,
  )
  t.equal(undoOf(page.body), null, 'no undo of the refusal')
  t.match(page.body, '<p class="flash flash-warning">Endpoint “Get customers” cannot be put back', 'shown as a warning')
  t.equal((await connectorRow(ctx.db, shopify.id)).revision, 3, 'nothing saved')

  // An endpoint whose URL needs a variable removed since.
  const mc = await install(ctx.db, admin, 'shopify')
  const definition = (await connectorRow(ctx.db, mc.id)).definition
  const withVariable = definition.endpoints.find((e) => /\{\{order_status\}\}/.test(e.url))!
  await adminClient.get(`/connectors/${mc.id}/endpoints`)
  t.equal(
    (await adminClient.post(`/connectors/${mc.id}/endpoints/${withVariable.key}/delete`, { revision: '1' })).statusCode,
    303,
  )
  const undoEndpoint = undoOf((await adminClient.get(`/connectors/${mc.id}/endpoints`)).body)!
  t.equal(
    (await adminClient.post(`/connectors/${mc.id}/variables/order_status/delete`, { revision: '2' })).statusCode,
    303,
  )
  const invalid = await adminClient.post(undoEndpoint, {})
  t.match(
    textOf((await adminClient.get(invalid.headers.location as string)).body),
    `Endpoint “${withVariable.name}” cannot be put back: {{order_status}} is not a variable of this connector or endpoint now. Nothing was undone.`,
  )
  t.equal((await connectorRow(ctx.db, mc.id)).revision, 3)

  // A revision that removed nothing.
  const notRemoval = await adminClient.post(`/connectors/${mc.id}/revisions/1/undo`, {})
  t.equal(notRemoval.headers.location, `/connectors/${mc.id}/revisions`)
  t.match(
    textOf((await adminClient.get(`/connectors/${mc.id}/revisions`)).body),
    'Revision 1 did not remove a variable, authentication method or endpoint, so there is nothing to undo.',
  )
  t.equal((await adminClient.post(`/connectors/${mc.id}/revisions/99/undo`, {})).statusCode, 404)

  // Undone already: nothing more to do.
  await adminClient.get(`/connectors/${mc.id}/variables`)
  const again = await adminClient.post(`/connectors/${mc.id}/revisions/3/undo`, {})
  t.equal(again.statusCode, 303)
  const twice = await adminClient.post(`/connectors/${mc.id}/revisions/3/undo`, {})
  t.match(
    textOf((await adminClient.get(twice.headers.location as string)).body),
    'The variable Order status filter is already in',
  )
  t.equal((await connectorRow(ctx.db, mc.id)).revision, 4)
})

t.test("an undo needs the role that removed it, in the same company; another company's undo answers 404", async (t) => {
  const shopify = await install(ctx.db, admin, 'shopify')
  await adminClient.get(`/connectors/${shopify.id}/endpoints`)
  t.equal(
    (await adminClient.post(`/connectors/${shopify.id}/endpoints/get_customers/delete`, { revision: '1' })).statusCode,
    303,
  )
  const action = undoOf((await adminClient.get(`/connectors/${shopify.id}/endpoints`)).body)!
  for (const role of ['user', 'read-only'] as const) {
    const client = await signedIn(ctx.app, ctx.company.users[role])
    t.equal((await client.post(action, {})).statusCode, 403, `${role}: 403`)
  }
  const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
  const foreign = await outsider.post(action, {})
  t.equal(foreign.statusCode, 404, "another company's undo: 404")
  t.equal(
    textOf(foreign.body),
    textOf((await outsider.post(`/connectors/00000000-0000-4000-8000-000000000000/revisions/2/undo`, {})).body),
    'like a missing one',
  )
  t.equal((await connectorRow(ctx.db, shopify.id)).revision, 2, 'nothing changed')
  t.equal((await managerClient.post(action, {})).statusCode, 303, 'a manager of the company may undo it')
  t.equal((await connectorRow(ctx.db, shopify.id)).revision, 3)
})

t.test(
  'the flash message is a signed cookie: a forged or tampered one shows nothing, an undo only ever posts to this site',
  async (t) => {
    const shopify = await install(ctx.db, admin, 'shopify')
    const url = `/connectors/${shopify.id}/endpoints`
    const show = async (cookie: string) =>
      (
        await ctx.app.inject({
          method: 'GET',
          url,
          headers: {
            cookie: `${[...adminClient.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ')}; flash=${encodeURIComponent(cookie)}`,
          },
        })
      ).body
    const evil = JSON.stringify({ message: 'Forged', undo: { action: '/connectors/x/revisions/2/undo', what: 'x' } })
    t.notMatch(await show(evil), 'Forged', 'an unsigned flash is ignored')
    t.notMatch(await show(`${evil.slice(0, -1)}.tampered`), 'Forged')
    const offsite = await show(
      ctx.app.signCookie(JSON.stringify({ message: 'Signed', undo: { action: '//evil.example/undo', what: 'x' } })),
    )
    t.match(offsite, '<p class="flash">Signed</p>')
    t.equal(undoOf(offsite), null, 'an undo pointing off the site is dropped, even signed')
    t.match(
      await show(ctx.app.signCookie('A plain message')),
      '<p class="flash">A plain message</p>',
      'a message from before undo existed still shows',
    )
  },
)
