import t from 'tap'
import { eq } from 'drizzle-orm'
import { connectorDrafts, connectors, marketplaceConnectors } from '../../src/db/schema.js'
import { createInstance } from '../../src/domain/instances.js'
import { createFlow } from '../../src/domain/flows.js'
import { addShape } from '../../src/domain/connection-shapes.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { hiddenFields, setup, signedIn, testConfig, textOf } from '../helpers.js'

const ctx = await setup(t)
const manager = await signedIn(ctx.app, ctx.company.users.manager)
let draftUrl = ''
/** The version a form of the draft shown now carries. */
const at = async (url = draftUrl) => {
  const [draft] = await ctx.db
    .select({ version: connectorDrafts.version })
    .from(connectorDrafts)
    .where(eq(connectorDrafts.id, url.split('/')[3]!))
  return { lockVersion: String(draft!.version) }
}

t.test('a whole build: basic details → variables → authentication methods → endpoints → complete', async (t) => {
  t.match((await manager.get('/connectors')).body, 'href="/builder"', 'connector builder is in the navigation')
  const started = await manager.post('/builder')
  t.equal(started.statusCode, 303)
  draftUrl = (started.headers.location as string).replace(/\/basic-details$/, '')
  t.match(draftUrl, /^\/builder\/drafts\/[0-9a-f-]+$/)

  const empty = await manager.post(`${draftUrl}/basic-details`, {
    ...(await at()),
    name: '',
    version: '',
    description: '',
    systemType: 'Spaceships',
    colour: 'red',
    protocol: 'HTTP',
    baseUrl: '',
    dateFormat: '',
    rateLimitAmount: 'many',
    rateLimitUnit: 'minute',
  })
  t.equal(empty.statusCode, 422)
  for (const id of [
    'builder-name',
    'builder-version',
    'builder-description',
    'builder-system-type',
    'builder-colour',
    'builder-date-format',
    'builder-rate-limit-amount',
  ]) {
    t.match(empty.body, new RegExp(`aria-describedby="${id}-error[" ]`), `${id} has its message beside it`)
  }
  t.match(empty.body, 'value="many"', 'typed values are kept')

  const details = await manager.post(`${draftUrl}/basic-details`, {
    ...(await at()),
    name: 'Acme WMS',
    version: 'Version 1 - 28th July 2023',
    description: 'Our own warehouse system: orders and stock.',
    systemType: 'WMS',
    colour: '#aa3300',
    protocol: 'HTTP',
    baseUrl: 'https://{{host}}/api',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '30',
    rateLimitUnit: 'minute',
  })
  t.equal(details.statusCode, 422, 'the base URL names a variable that does not exist yet')
  t.match(textOf(details.body), '{{host}} is not a variable of this connector')
  const saved = await manager.post(`${draftUrl}/basic-details`, {
    ...(await at()),
    name: 'Acme WMS',
    version: 'Version 1 - 28th July 2023',
    description: 'Our own warehouse system: orders and stock.',
    systemType: 'WMS',
    colour: '#aa3300',
    protocol: 'HTTP',
    baseUrl: 'https://wms.acme.test/api',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '30',
    rateLimitUnit: 'minute',
  })
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, `${draftUrl}/variables`)

  const variable = await manager.post(
    `${draftUrl}/variables`,
    { ...(await at()), key: 'warehouse', label: 'Warehouse code', required: 'yes', default: 'MAIN' },
    { 'hx-request': 'true', 'hx-request-type': 'partial' },
  )
  t.equal(variable.statusCode, 200)
  t.match(variable.body, /^<section id="builder-step"/, 'with htmx, adding an item swaps the step in place')
  t.match(textOf(variable.body), 'Warehouse code warehouse')
  const badKey = await manager.post(`${draftUrl}/variables`, { ...(await at()), key: 'Bad Key', label: '' })
  t.equal(badKey.statusCode, 422)
  t.match(badKey.body, 'value="Bad Key"')
  t.equal((await manager.post(`${draftUrl}/variables/next`, await at())).statusCode, 303)

  const noAuth = await manager.post(`${draftUrl}/auth-methods/next`, await at())
  t.equal(noAuth.statusCode, 422)
  t.match(textOf(noAuth.body), 'Add at least one authentication method.')
  const auth = await manager.post(`${draftUrl}/auth-methods`, {
    ...(await at()),
    key: 'api_key',
    name: 'API key',
    type: 'token',
    field_key: ['token', ''],
    field_label: ['API token', ''],
    field_secret: ['yes'],
    field_required: ['yes'],
    field_default: ['', ''],
  })
  t.equal(auth.statusCode, 303)
  t.equal((await manager.post(`${draftUrl}/auth-methods/next`, await at())).statusCode, 303)

  const noEndpoint = await manager.post(`${draftUrl}/endpoints/next`, await at())
  t.match(textOf(noEndpoint.body), 'Add at least one endpoint.')
  const unknownPlaceholder = await manager.post(`${draftUrl}/endpoints`, {
    ...(await at()),
    key: 'get_orders',
    name: 'Get orders',
    entity: 'Orders',
    direction: 'receive',
    method: 'GET',
    url: '/orders?site={{site}}',
  })
  t.equal(unknownPlaceholder.statusCode, 422)
  t.match(textOf(unknownPlaceholder.body), '{{site}} is not a variable of this connector or endpoint')
  const endpoint = await manager.post(`${draftUrl}/endpoints`, {
    ...(await at()),
    key: 'get_orders',
    name: 'Get orders',
    entity: 'Orders',
    direction: 'receive',
    method: 'GET',
    url: '/orders?warehouse={{warehouse}}',
  })
  t.equal(endpoint.statusCode, 303)
  t.equal((await manager.post(`${draftUrl}/endpoints/get_orders/clone`, await at())).statusCode, 303)
  const [draft] = await ctx.db.select().from(connectorDrafts)
  t.same(
    (draft!.data as { definition: { endpoints: { key: string; name: string }[] } }).definition.endpoints.map((e) => [
      e.key,
      e.name,
    ]),
    [
      ['get_orders', 'Get orders'],
      ['get_orders_copy', 'Get orders (copy)'],
    ],
    'endpoints can be cloned',
  )
  t.equal((await manager.post(`${draftUrl}/endpoints/next`, await at())).statusCode, 303)

  const page = await manager.get(`${draftUrl}/complete`)
  const submission = /name="submission" value="([^"]+)"/.exec(page.body)![1]!
  const form = { ...hiddenFields(page.body, `${draftUrl}/complete`) }
  t.equal(form.submission, submission)
  const done = await manager.post(`${draftUrl}/complete`, form)
  t.equal(done.statusCode, 303)
  const again = await manager.post(`${draftUrl}/complete`, form)
  t.equal(again.statusCode, 303, 'a double submit does the work once')
  const [entry] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.name, 'Acme WMS'))
  t.equal(entry!.kind, 'custom')
  t.equal(entry!.companyId, ctx.company.id)
  const installed = await ctx.db.select().from(connectors).where(eq(connectors.marketplaceConnectorId, entry!.id))
  t.equal(installed.length, 1, 'installed automatically, once')
  t.equal((await ctx.db.select().from(connectorDrafts)).length, 0, 'the draft is gone')

  const list = await manager.get(done.headers.location as string)
  t.match(textOf(list.body), 'Acme WMS is built and installed.')
  t.match(textOf(list.body), 'Acme WMS custom')
  t.notMatch(list.body.slice(list.body.indexOf('Acme WMS')), /^[\s\S]{0,600}update available/, 'never update available')
  t.match(textOf((await manager.get('/marketplace?q=acme')).body), 'Acme WMS WMS · your company')
  const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
  t.notMatch(
    textOf((await outsider.get('/marketplace?q=acme')).body),
    'Acme WMS',
    "not in another company's marketplace",
  )

  // A custom connector gets instances and is used in a flow like any other.
  const box = new SecretBox(testConfig().encryptionKey)
  const instance = await createInstance(ctx.db, ctx.company.users.user, box, {
    connectorId: installed[0]!.id,
    name: 'Acme WMS - Leeds',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '30',
    rateLimitUnit: 'minute',
    authMethod: 'api_key',
    values: { 'auth.token': 's3cret', 'var.warehouse': 'LDS' },
  })
  const flow = await createFlow(ctx.db, ctx.company.users.user, { name: 'WMS orders' })
  await addShape(ctx.db, ctx.company.users.user, {
    flowId: flow.id,
    instanceId: instance.id,
    endpointKey: 'get_orders',
    version: 1,
  })
  t.match(textOf((await manager.get(`/process-flows/${flow.id}`)).body), 'Acme WMS - Leeds (Acme WMS) Get orders')
  const settings = await manager.get(`/connectors/${installed[0]!.id}/settings`)
  t.equal(settings.statusCode, 200, "its settings are edited like any connector's")
  t.notMatch(settings.body, 'update available')
})

/** A new draft past basic details, at its authentication methods step. */
async function draftAtAuthMethods() {
  const url = ((await manager.post('/builder')).headers.location as string).replace(/\/basic-details$/, '')
  await manager.post(`${url}/basic-details`, {
    ...(await at(url)),
    name: 'Rows test',
    version: 'v1',
    description: 'for tests',
    systemType: 'Other',
    colour: '#123456',
    protocol: 'HTTP',
    baseUrl: '',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'second',
  })
  await manager.post(`${url}/variables/next`, await at(url))
  return url
}
const authMethodsOf = async (url: string) => {
  const [draft] = await ctx.db
    .select()
    .from(connectorDrafts)
    .where(eq(connectorDrafts.id, url.split('/').at(-1)!))
  return (draft!.data as { definition: { authMethods: { key: string; fields: { key: string }[] }[] } }).definition
    .authMethods
}
const rowKeys = (html: string) => [...html.matchAll(/name="field_key" type="text" value="([^"]*)"/g)].map((m) => m[1])

t.test(
  'next step adds an item typed into the add form but not added; an invalid one is refused, nothing dropped',
  async (t) => {
    const url = await draftAtAuthMethods()
    const step = await manager.get(`${url}/auth-methods`)
    t.match(
      step.body,
      `<button type="submit" form="add-item" formaction="${url}/auth-methods/next" class="primary">next step</button>`,
      'next step sends the add form along',
    )

    const invalid = await manager.post(`${url}/auth-methods/next`, {
      ...(await at(url)),
      key: 'Bad Key',
      name: 'API key',
      type: 'token',
      field_key: [''],
      field_label: [''],
      field_secret: ['no'],
      field_required: ['no'],
      field_default: [''],
    })
    t.equal(invalid.statusCode, 422, 'an invalid typed item keeps the step open')
    t.match(
      textOf(invalid.body),
      'The authentication method you typed is not added yet, so this step is not done: correct it below and click next step again, or clear it to go on without it.',
    )
    t.match(invalid.body, 'value="Bad Key"', 'what was typed is kept')
    t.match(invalid.body, /aria-describedby="add-authMethod-key-error/, 'the message is beside the field')
    t.same(await authMethodsOf(url), [], 'nothing added')

    const typed = await manager.post(`${url}/auth-methods/next`, {
      ...(await at(url)),
      key: 'api_key',
      name: 'API key',
      type: 'token',
      field_key: ['token'],
      field_label: ['API token'],
      field_secret: ['yes'],
      field_required: ['yes'],
      field_default: [''],
    })
    t.equal(typed.statusCode, 303)
    t.equal(typed.headers.location, `${url}/endpoints`, 'and moves on')
    t.same(
      (await authMethodsOf(url)).map((m) => [m.key, m.fields.map((f) => f.key)]),
      [['api_key', ['token']]],
      'the typed method was added, not dropped',
    )
    t.match(
      textOf((await manager.get(typed.headers.location as string)).body),
      'The authentication method API key you typed was added.',
    )

    const blank = await manager.post(`${url}/auth-methods/next`, {
      ...(await at(url)),
      key: '',
      name: '',
      type: 'basic',
      field_key: [''],
      field_label: [''],
      field_secret: ['no'],
      field_required: ['no'],
      field_default: [''],
    })
    t.equal(blank.statusCode, 303, 'an untouched add form (only its default choices) adds nothing')
    t.equal((await authMethodsOf(url)).length, 1)
  },
)

t.test(
  'field rows: one blank row and "add another field", as a whole page without JavaScript and as a fragment with htmx',
  async (t) => {
    const url = await draftAtAuthMethods()
    const step = await manager.get(`${url}/auth-methods`)
    t.same(rowKeys(step.body), [''], 'one blank row, not two')
    t.match(
      step.body,
      /<button type="submit" name="action" value="add-row" class="small" formnovalidate\s+data-hx-post="[^"]+\/auth-methods" data-hx-target="#builder-step" data-hx-swap="outerHTML">add another field<\/button>/,
    )
    const typed = {
      key: 'api_key',
      name: 'API key',
      type: 'token',
      field_key: ['token'],
      field_label: ['API token'],
      field_secret: ['yes'],
      field_required: ['yes'],
      field_default: [''],
    }

    const page = await manager.post(`${url}/auth-methods`, { ...(await at(url)), ...typed, action: 'add-row' })
    t.equal(page.statusCode, 200, 'without JavaScript: the whole page')
    t.match(page.body, /^<!doctype html>/)
    t.same(rowKeys(page.body), ['token', ''], 'the typed row kept and one more blank row')
    t.match(page.body, 'value="API key"', 'the rest of the form kept')
    t.match(
      page.body,
      /id="add-authMethod-field-1-key" name="field_key" type="text" value="" maxlength="\d+" autofocus>/,
      'the new row is focused',
    )
    t.same(await authMethodsOf(url), [], 'nothing saved')

    const twice = await manager.post(
      `${url}/auth-methods`,
      {
        ...(await at(url)),
        ...typed,
        field_key: ['token', ''],
        field_label: ['API token', ''],
        field_secret: ['yes', 'no'],
        field_required: ['yes', 'no'],
        field_default: ['', ''],
        action: 'add-row',
      },
      { 'hx-request': 'true', 'hx-request-type': 'partial' },
    )
    t.equal(twice.statusCode, 200)
    t.match(twice.body, /^<section id="builder-step"/, 'with htmx: the step alone')
    t.same(rowKeys(twice.body), ['token', '', ''], 'one more row each time')
    t.same(await authMethodsOf(url), [], 'still nothing saved')

    const added = await manager.post(`${url}/auth-methods`, {
      ...(await at(url)),
      ...typed,
      field_key: ['token', 'account'],
      field_label: ['API token', 'Account'],
      field_secret: ['yes', 'no'],
      field_required: ['yes', 'no'],
      field_default: ['', ''],
    })
    t.equal(added.statusCode, 303)
    t.same(
      (await authMethodsOf(url))[0]!.fields.map((f) => f.key),
      ['token', 'account'],
      'both fields added',
    )
  },
)

t.test('the step list marks the current step', async (t) => {
  const url = await draftAtAuthMethods()
  const page = await manager.get(`${url}/auth-methods`)
  const current = [...page.body.matchAll(/<a href="[^"]+" aria-current="step">([^<]+)<\/a>/g)].map((m) => m[1])
  t.same(current, ['3. Authentication methods'])
})

t.test('a draft can be left and resumed, and discarded', async (t) => {
  const started = await manager.post('/builder')
  const url = (started.headers.location as string).replace(/\/basic-details$/, '')
  await manager.post(`${url}/basic-details`, {
    ...(await at(url)),
    name: 'Half done',
    version: 'v0',
    description: 'later',
    systemType: 'Other',
    colour: '#123456',
    protocol: 'HTTP',
    baseUrl: '',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'second',
  })
  const index = await manager.get('/builder')
  t.match(textOf(index.body), 'continue building Half done')
  t.match(index.body, `href="${url}/variables"`, 'resumes at the step reached')
  const resumed = await manager.get(`${url}/basic-details`)
  t.match(resumed.body, 'value="Half done"')
  const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
  t.equal((await outsider.get(`${url}/variables`)).statusCode, 404, "another company's draft answers 404")
  const discarded = await manager.post(`${url}/delete`, { ...(await at(url)), confirm: 'confirm' })
  t.equal(discarded.statusCode, 303)
  const after = textOf((await manager.get('/builder')).body)
  t.match(after, 'The draft Half done was removed.')
  t.notMatch(after, 'continue building Half done')
})

const basics = (name: string, description = 'Our own system.') => ({
  name,
  version: 'v1',
  description,
  systemType: 'Other',
  colour: '#123456',
  protocol: 'HTTP',
  baseUrl: '',
  dateFormat: 'Y-m-d',
  rateLimitAmount: '5',
  rateLimitUnit: 'second',
})

/** A draft started through the builder page, and its URL without the step. */
async function startedDraft() {
  const index = await manager.get('/builder')
  const started = await manager.post('/builder', hiddenFields(index.body, '/builder'))
  return (started.headers.location as string).replace(/\/basic-details$/, '')
}

t.test('two tabs save the same draft: the first stays, the second gets 409 with what is saved shown', async (t) => {
  const url = await startedDraft()
  const colleague = await signedIn(ctx.app, ctx.company.users.administrator)
  const [mine, theirs] = await Promise.all([manager.get(`${url}/basic-details`), colleague.get(`${url}/basic-details`)])
  t.equal(
    (
      await colleague.post(`${url}/basic-details`, {
        ...hiddenFields(theirs.body, `${url}/basic-details`),
        ...basics('Their ERP', 'Theirs.'),
      })
    ).statusCode,
    303,
  )
  const late = await manager.post(`${url}/basic-details`, {
    ...hiddenFields(mine.body, `${url}/basic-details`),
    ...basics('My ERP', 'Mine.'),
  })
  t.equal(late.statusCode, 409)
  const text = textOf(late.body)
  t.match(
    text,
    `${ctx.company.users.administrator.name} saved a change to this draft meanwhile. Your change was not saved.`,
  )
  t.match(late.body, 'id="builder-name" name="name" type="text" value="My ERP"', 'what the user typed is kept')
  t.match(text, 'Saved now: name Their ERP · version v1')
  t.match(text, 'Description: Theirs.')
  const [draft] = await ctx.db
    .select()
    .from(connectorDrafts)
    .where(eq(connectorDrafts.id, url.split('/')[3]!))
  t.equal((draft!.data as { details: { name: string } }).details.name, 'Their ERP', 'the first change survives')

  const fragment = await manager.post(
    `${url}/variables`,
    { ...hiddenFields(mine.body, `${url}/basic-details`), key: 'host', label: 'Host' },
    { 'hx-request': 'true', 'hx-request-type': 'partial' },
  )
  t.equal(fragment.statusCode, 409, 'an item added from a stale page too, with htmx')
  t.match(fragment.body, /^<section id="builder-step"/, 'the step is swapped in place')
  t.match(textOf(fragment.body), 'saved a change to this draft meanwhile')
  t.match(fragment.body, 'value="host"', 'what the user typed is kept')
})

t.test('two saves of one draft at once: exactly one is saved, the other gets 409', async (t) => {
  const url = await startedDraft()
  const colleague = await signedIn(ctx.app, ctx.company.users.administrator)
  for (let round = 0; round < 5; round++) {
    const [mine, theirs] = await Promise.all([
      manager.get(`${url}/basic-details`),
      colleague.get(`${url}/basic-details`),
    ])
    const responses = await Promise.all([
      manager.post(`${url}/basic-details`, {
        ...hiddenFields(mine.body, `${url}/basic-details`),
        ...basics(`Mine ${round}`),
      }),
      colleague.post(`${url}/basic-details`, {
        ...hiddenFields(theirs.body, `${url}/basic-details`),
        ...basics(`Theirs ${round}`),
      }),
    ])
    t.same(responses.map((r) => r.statusCode).sort(), [303, 409], `round ${round}: one saved, one refused`)
    const [draft] = await ctx.db
      .select()
      .from(connectorDrafts)
      .where(eq(connectorDrafts.id, url.split('/')[3]!))
    t.equal(
      (draft!.data as { details: { name: string } }).details.name,
      responses[0]!.statusCode === 303 ? `Mine ${round}` : `Theirs ${round}`,
      `round ${round}: the one answered 303 is saved`,
    )
  }
})

t.test('starting a draft and adding an item, sent twice, do the work once', async (t) => {
  const index = await manager.get('/builder')
  const form = hiddenFields(index.body, '/builder')
  const before = (await ctx.db.select().from(connectorDrafts)).length
  const [a, b] = await Promise.all([manager.post('/builder', form), manager.post('/builder', form)])
  t.equal(b.headers.location, a.headers.location, 'both lead to the same draft')
  t.equal((await ctx.db.select().from(connectorDrafts)).length, before + 1, 'one draft')

  const url = (a.headers.location as string).replace(/\/basic-details$/, '')
  const first = await manager.get(`${url}/basic-details`)
  t.equal(
    (
      await manager.post(`${url}/basic-details`, {
        ...hiddenFields(first.body, `${url}/basic-details`),
        ...basics('Twice'),
      })
    ).statusCode,
    303,
  )
  const page = await manager.get(`${url}/variables`)
  const add = { ...hiddenFields(page.body, `${url}/variables`), key: 'host', label: 'Host' }
  const [c, d] = await Promise.all([manager.post(`${url}/variables`, add), manager.post(`${url}/variables`, add)])
  t.same([c.statusCode, d.statusCode], [303, 303], 'no "already exists" for the second')
  const [draft] = await ctx.db
    .select()
    .from(connectorDrafts)
    .where(eq(connectorDrafts.id, url.split('/')[3]!))
  t.equal((draft!.data as { definition: { variables: unknown[] } }).definition.variables.length, 1, 'one variable')
})

t.test('a connector is built under a name no connector of the company has', async (t) => {
  const url = await startedDraft()
  const taken = await manager.post(`${url}/basic-details`, { ...(await at(url)), ...basics('acme wms') })
  t.equal(taken.statusCode, 422, 'a name already installed, in any case, is refused')
  t.match(taken.body, /id="builder-name-error">You already have a connector called Acme WMS\. Choose another name/)
  t.equal(
    (await manager.post(`${url}/basic-details`, { ...(await at(url)), ...basics('Acme Billing') })).statusCode,
    303,
  )
  await manager.post(`${url}/variables/next`, await at(url))
  await manager.post(`${url}/auth-methods`, {
    ...(await at(url)),
    key: 'api_key',
    name: 'API key',
    type: 'token',
    field_key: ['token'],
    field_label: ['API token'],
    field_secret: ['yes'],
    field_required: ['yes'],
    field_default: [''],
  })
  await manager.post(`${url}/auth-methods/next`, await at(url))
  await manager.post(`${url}/endpoints`, {
    ...(await at(url)),
    key: 'get_bills',
    name: 'Get bills',
    entity: 'Bills',
    direction: 'receive',
    method: 'GET',
    url: '/bills',
  })
  await manager.post(`${url}/endpoints/next`, await at(url))
  const page = await manager.get(`${url}/complete`)
  // Meanwhile somebody installs a connector under that name.
  await ctx.db.update(connectors).set({ name: 'ACME billing' }).where(eq(connectors.name, 'Acme WMS'))
  const refused = await manager.post(`${url}/complete`, hiddenFields(page.body, `${url}/complete`))
  t.equal(refused.statusCode, 422)
  t.match(
    textOf(refused.body),
    'You already have a connector called ACME billing. Choose another name: the names of your connectors are unique. Change it in the basic details, then complete.',
  )
  t.equal(
    (await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.name, 'Acme Billing'))).length,
    0,
    'nothing built',
  )
})

t.test('users and read-only users cannot build connectors', async (t) => {
  for (const role of ['user', 'read-only'] as const) {
    const client = await signedIn(ctx.app, ctx.company.users[role])
    t.equal((await client.get('/builder')).statusCode, 403, role)
    t.notMatch((await client.get('/connectors')).body, 'href="/builder"', `${role}: not in the navigation`)
  }
})

t.test('a refused step keeps the help link of the builder, with or without JavaScript', async (t) => {
  const started = await manager.post('/builder')
  const url = (started.headers.location as string).replace(/\/basic-details$/, '')
  for (const headers of [{}, { 'hx-request': 'true', 'hx-boosted': 'true', 'hx-request-type': 'full' }] as Record<
    string,
    string
  >[]) {
    const step = await manager.get(`${url}/auth-methods`)
    const refused = await manager.post(
      `${url}/auth-methods/next`,
      hiddenFields(step.body, `${url}/auth-methods`),
      headers,
    )
    t.equal(refused.statusCode, 422)
    t.match(textOf(refused.body), 'Add at least one authentication method.')
    t.match(refused.body, 'href="/help/building-a-custom-connector"', 'the help link is there')
  }
})
