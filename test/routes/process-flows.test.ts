import t from 'tap'
import { eq } from 'drizzle-orm'
import {
  auditEvents,
  connectionShapes,
  connectors,
  instances,
  marketplaceConnectors,
  processFlows,
} from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { createInstance } from '../../src/domain/instances.js'
import { addShape } from '../../src/domain/connection-shapes.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { saveDefinition } from '../../src/domain/revisions.js'
import type { Actor } from '../../src/domain/actor.js'
import { hiddenFields, setup, signedIn, testConfig, textOf } from '../helpers.js'
import { decode } from '../html.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const box = new SecretBox(testConfig().encryptionKey)

async function installWithInstance(actor: Actor, key: string, instanceName: string) {
  const [entry] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, key))
  const connector = await installConnector(ctx.db, actor, { marketplaceConnectorId: entry!.id })
  const [row] = await ctx.db.select().from(connectors).where(eq(connectors.id, connector.id))
  const definition = row!.definition
  const method = definition.authMethods[0]!
  const values = Object.fromEntries([
    ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
    ...definition.variables.map((v) => [`var.${v.key}`, 'x']),
  ])
  const instance = await createInstance(ctx.db, actor, box, {
    connectorId: connector.id,
    name: instanceName,
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'second',
    authMethod: method.key,
    values,
  })
  return { connector, instance, definition }
}

const shopify = await installWithInstance(admin, 'shopify', 'Shopify - UK')
const shopifyUs = await createInstance(ctx.db, admin, box, {
  connectorId: shopify.connector.id,
  name: 'Shopify - US',
  timeZone: 'UTC',
  dateFormat: 'Y-m-d',
  rateLimitAmount: '5',
  rateLimitUnit: 'second',
  authMethod: shopify.definition.authMethods[0]!.key,
  values: Object.fromEntries([
    ...shopify.definition.authMethods[0]!.fields.map((f) => [`auth.${f.key}`, 'x']),
    ...shopify.definition.variables.map((v) => [`var.${v.key}`, 'x']),
  ]),
})
const xero = await installWithInstance(admin, 'xero', 'Xero - Main')
const theirs = await installWithInstance(ctx.other.users.administrator, 'shopify', 'Their Shopify')
const client = await signedIn(ctx.app, ctx.company.users.user)
const ordersKey = shopify.definition.endpoints[0]!.key

let flowId = ''
/** The version of the flow a form shown now carries. */
const version = async (id = flowId) =>
  String(
    (await ctx.db.select({ version: processFlows.version }).from(processFlows).where(eq(processFlows.id, id)))[0]!
      .version,
  )

t.test('creates a process flow; an empty or duplicate name is refused beside the field', async (t) => {
  const empty = await client.post('/process-flows', { name: '' })
  t.equal(empty.statusCode, 422)
  t.match(empty.body, /id="new-flow-name-error">Enter a name for the process flow/)
  const created = await client.post('/process-flows', { name: 'Orders to Xero' })
  t.equal(created.statusCode, 303)
  flowId = /\/process-flows\/([0-9a-f-]+)/.exec(created.headers.location as string)![1]!
  const duplicate = await client.post('/process-flows', { name: 'Orders to Xero' })
  t.equal(duplicate.statusCode, 422)
  t.match(duplicate.body, 'value="Orders to Xero"')
  t.match(textOf(duplicate.body), 'A process flow called "Orders to Xero" already exists.')
})

t.test("adds a connection shape: pick an instance, then one of its connector's endpoints", async (t) => {
  const step1 = await client.get(`/process-flows/${flowId}/shapes/new`)
  t.equal(step1.statusCode, 200)
  t.match(textOf(step1.body), 'Shopify - UK (Shopify) Shopify - US (Shopify) Xero - Main (Xero)')
  t.match(step1.body, /<legend>Instance<\/legend>/, 'the instances are radio buttons under one legend')
  t.notMatch(step1.body, 'Their Shopify', "never another company's instances")
  const withoutJs = await client.get(`/process-flows/${flowId}/shapes/new?instance=${shopify.instance.id}`)
  t.match(withoutJs.body, /^<!doctype html>/)
  t.match(textOf(withoutJs.body), `Endpoint of Shopify for Shopify - UK`)
  const fragment = await client.get(`/process-flows/${flowId}/shapes/new?instance=${xero.instance.id}`, {
    'hx-request': 'true',
    'hx-request-type': 'partial',
  })
  t.match(fragment.body, /^<div id="shape-endpoints">/)
  t.match(textOf(fragment.body), xero.definition.endpoints[0]!.name)
  t.notMatch(textOf(fragment.body), shopify.definition.endpoints[0]!.name + ' (')

  const wrongEndpoint = await client.post(`/process-flows/${flowId}/shapes`, {
    instance: xero.instance.id,
    endpoint: 'not_an_endpoint',
    lockVersion: await version(),
  })
  t.equal(wrongEndpoint.statusCode, 422)
  t.match(textOf(wrongEndpoint.body), 'Choose one of the endpoints of Xero.')
  const foreign = await client.post(`/process-flows/${flowId}/shapes`, {
    instance: theirs.instance.id,
    endpoint: ordersKey,
    lockVersion: await version(),
  })
  t.equal(foreign.statusCode, 422, "another company's instance can never be put into a shape")
  t.match(textOf(foreign.body), 'Choose one of your instances.')

  const added = await client.post(`/process-flows/${flowId}/shapes`, {
    instance: shopify.instance.id,
    endpoint: ordersKey,
    lockVersion: await version(),
  })
  t.equal(added.statusCode, 303)
  await client.post(`/process-flows/${flowId}/shapes`, {
    instance: xero.instance.id,
    endpoint: xero.definition.endpoints[0]!.key,
    lockVersion: await version(),
  })
  const page = textOf((await client.get(`/process-flows/${flowId}`)).body)
  t.match(page, `Shopify - UK (Shopify) ${shopify.definition.endpoints[0]!.name}`)
  const list = textOf((await client.get('/process-flows')).body)
  t.match(list, /Orders to Xero disabled 2 (Shopify - UK, Xero - Main|Xero - Main, Shopify - UK)/)
  const manage = textOf((await client.get('/connectors?q=shopify')).body)
  t.match(manage, 'Shopify - UK used by 1 process flow')
  t.match(manage, 'Shopify - US used by 0 process flows')
})

t.test('reconfigures a shape to another instance, keeping the endpoint when the connector has it', async (t) => {
  const shapes = await ctx.db
    .select()
    .from(connectionShapes)
    .where(eq(connectionShapes.processFlowId, flowId))
    .orderBy(connectionShapes.position)
  const first = shapes[0]!
  const sameConnector = await client.get(`/process-flows/${flowId}/shapes/${first.id}?instance=${shopifyUs.id}`)
  t.match(sameConnector.body, `<option value="${ordersKey}" selected>`, 'same endpoint key: kept')
  const otherConnector = await client.get(`/process-flows/${flowId}/shapes/${first.id}?instance=${xero.instance.id}`)
  t.match(otherConnector.body, '<option value="" selected>choose an endpoint</option>', 'no such key: asked again')
  const saved = await client.post(`/process-flows/${flowId}/shapes/${first.id}`, {
    ...hiddenFields(sameConnector.body, `/process-flows/${flowId}/shapes/${first.id}`),
    endpoint: ordersKey,
  })
  t.equal(saved.statusCode, 303)
  const [after] = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.id, first.id))
  t.equal(after!.instanceId, shopifyUs.id)
})

t.test('reorders and removes shapes', async (t) => {
  const before = await ctx.db
    .select()
    .from(connectionShapes)
    .where(eq(connectionShapes.processFlowId, flowId))
    .orderBy(connectionShapes.position)
  await client.post(`/process-flows/${flowId}/shapes/${before[1]!.id}/move`, {
    direction: 'up',
    lockVersion: await version(),
  })
  const moved = await ctx.db
    .select()
    .from(connectionShapes)
    .where(eq(connectionShapes.processFlowId, flowId))
    .orderBy(connectionShapes.position)
  t.same(
    moved.map((s) => s.id),
    [before[1]!.id, before[0]!.id],
  )
  const removed = await client.post(`/process-flows/${flowId}/shapes/${before[1]!.id}/delete`, {
    lockVersion: await version(),
  })
  t.equal(removed.statusCode, 303)
  const after = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId))
  t.same(
    after.map((s) => [s.id, s.position]),
    [[before[0]!.id, 0]],
  )
  await client.post(`/process-flows/${flowId}/shapes/${before[0]!.id}/delete`, { lockVersion: await version() })
  const empty = textOf((await client.get(`/process-flows/${flowId}`)).body)
  t.match(empty, /Connection shape 1 \(.+\) was removed from .+\./)
  t.match(empty, 'This process flow has no connection shapes.', 'right after removing the last one')
  t.notMatch(empty, 'no connection shapes yet', 'not "yet": it had some a moment ago')
  await addShape(ctx.db, ctx.company.users.user, {
    flowId: flowId,
    instanceId: after[0]!.instanceId,
    endpointKey: after[0]!.endpointKey,
    version: Number(await version()),
  })
})

t.test('enables, disables and renames a flow; every change is in the audit log', async (t) => {
  t.equal(
    (await client.post(`/process-flows/${flowId}/enabled`, { enabled: 'true', lockVersion: await version() }))
      .statusCode,
    303,
  )
  t.match(textOf((await client.get(`/process-flows/${flowId}`)).body), 'This process flow is enabled')
  t.equal(
    (await client.post(`/process-flows/${flowId}`, { name: 'Orders to Xero (UK)', lockVersion: await version() }))
      .statusCode,
    303,
  )
  const [flow] = await ctx.db.select().from(processFlows).where(eq(processFlows.id, flowId))
  t.equal(flow!.name, 'Orders to Xero (UK)')
  t.equal(flow!.enabled, true)
  const actions = (await ctx.db.select().from(auditEvents).where(eq(auditEvents.companyId, ctx.company.id))).map(
    (e) => e.action,
  )
  for (const action of [
    'create process flow',
    'add connection shape',
    'reconfigure connection shape',
    'move connection shape',
    'remove connection shape',
    'enable process flow',
    'rename process flow',
  ]) {
    t.ok(actions.includes(action), action)
  }
})

t.test("another company's flows answer 404; read-only users cannot change flows", async (t) => {
  const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
  t.equal((await outsider.get(`/process-flows/${flowId}`)).statusCode, 404)
  t.equal(
    (await outsider.post(`/process-flows/${flowId}/enabled`, { enabled: 'false', lockVersion: '1' })).statusCode,
    404,
  )
  t.equal(
    (
      await outsider.post(`/process-flows/${flowId}/shapes`, {
        instance: theirs.instance.id,
        endpoint: ordersKey,
        lockVersion: '1',
      })
    ).statusCode,
    404,
  )
  const reader = await signedIn(ctx.app, ctx.company.users['read-only'])
  t.equal((await reader.get(`/process-flows/${flowId}`)).statusCode, 200)
  t.notMatch((await reader.get(`/process-flows/${flowId}`)).body, 'add connection shape')
  t.equal((await reader.post('/process-flows', { name: 'Nope' })).statusCode, 403)
  t.equal((await reader.post(`/process-flows/${flowId}/enabled`, { enabled: 'false' })).statusCode, 403)
})

// Lost updates: every form of a flow carries the version of the flow it was read at.
t.test('two people rename the same flow: the first name stays, the second gets 409 with both shown', async (t) => {
  const colleague = await signedIn(ctx.app, admin)
  const url = `/process-flows/${flowId}`
  const [mine, theirs] = await Promise.all([client.get(url), colleague.get(url)])
  t.equal(
    (await colleague.post(url, { ...hiddenFields(theirs.body, url), name: 'Orders to Xero (EU)' })).statusCode,
    303,
  )
  const late = await client.post(url, { ...hiddenFields(mine.body, url), name: 'Orders to Xero (UK + IE)' })
  t.equal(late.statusCode, 409)
  t.match(textOf(late.body), `${admin.name} saved a change to this process flow meanwhile. It was not renamed.`)
  t.match(
    late.body,
    'id="flow-name" name="name" type="text" value="Orders to Xero (UK + IE)"',
    'what the user typed is kept',
  )
  t.match(
    late.body,
    /<p class="hint" id="flow-name-hint">Saved now: Orders to Xero \(EU\)<\/p>/,
    'the saved name beside it',
  )
  const [flow] = await ctx.db.select().from(processFlows).where(eq(processFlows.id, flowId))
  t.equal(flow!.name, 'Orders to Xero (EU)', 'the first change survives')
  t.equal(
    (await client.post(url, { ...hiddenFields(late.body, url), name: 'Orders to Xero (UK + IE)' })).statusCode,
    303,
    'the refreshed form saves',
  )
})

t.test('two renames of one flow at once: exactly one is saved, the other gets 409', async (t) => {
  const colleague = await signedIn(ctx.app, ctx.company.users.manager)
  const url = `/process-flows/${flowId}`
  for (let round = 0; round < 5; round++) {
    const [mine, theirs] = await Promise.all([client.get(url), colleague.get(url)])
    const responses = await Promise.all([
      client.post(url, { ...hiddenFields(mine.body, url), name: `Mine ${round}` }),
      colleague.post(url, { ...hiddenFields(theirs.body, url), name: `Theirs ${round}` }),
    ])
    t.same(responses.map((r) => r.statusCode).sort(), [303, 409], `round ${round}: one saved, one refused`)
    const [flow] = await ctx.db.select().from(processFlows).where(eq(processFlows.id, flowId))
    t.equal(
      flow!.name,
      responses[0]!.statusCode === 303 ? `Mine ${round}` : `Theirs ${round}`,
      `round ${round}: the one answered 303 is saved`,
    )
  }
})

t.test('a stale enable, move or remove of a shape is refused and changes nothing', async (t) => {
  const flow = (await client.post('/process-flows', { name: 'Stale buttons' })).headers.location as string
  const id = flow.split('/').pop()!
  for (const instance of [shopify.instance.id, xero.instance.id]) {
    const form = await client.get(`/process-flows/${id}/shapes/new?instance=${instance}`)
    const endpoint = instance === xero.instance.id ? xero.definition.endpoints[0]!.key : ordersKey
    t.equal(
      (
        await client.post(`/process-flows/${id}/shapes`, {
          ...hiddenFields(form.body, `/process-flows/${id}/shapes`),
          endpoint,
        })
      ).statusCode,
      303,
    )
  }
  const stale = await client.get(`/process-flows/${id}`)
  const shapes = await ctx.db
    .select()
    .from(connectionShapes)
    .where(eq(connectionShapes.processFlowId, id))
    .orderBy(connectionShapes.position)
  const colleague = await signedIn(ctx.app, admin)
  const fresh = await colleague.get(`/process-flows/${id}`)
  t.equal(
    (
      await colleague.post(`/process-flows/${id}`, {
        ...hiddenFields(fresh.body, `/process-flows/${id}`),
        name: 'Stale buttons (renamed)',
      })
    ).statusCode,
    303,
  )

  const enable = await client.post(
    `/process-flows/${id}/enabled`,
    hiddenFields(stale.body, `/process-flows/${id}/enabled`),
  )
  t.equal(enable.statusCode, 409)
  t.match(textOf(enable.body), `${admin.name} saved a change to this process flow meanwhile. It was not enabled.`)
  t.match(textOf(enable.body), 'This process flow is disabled', 'the page shows the flow as it is now')
  const move = await client.post(
    `/process-flows/${id}/shapes/${shapes[1]!.id}/move`,
    hiddenFields(stale.body, `/process-flows/${id}/shapes/${shapes[1]!.id}/move`),
  )
  t.equal(move.statusCode, 409)
  t.match(textOf(move.body), 'No connection shape was moved.')
  const remove = await client.post(
    `/process-flows/${id}/shapes/${shapes[0]!.id}/delete`,
    hiddenFields(stale.body, `/process-flows/${id}/shapes/${shapes[0]!.id}/delete`),
  )
  t.equal(remove.statusCode, 409)
  t.match(textOf(remove.body), 'No connection shape was removed.')
  const [row] = await ctx.db.select().from(processFlows).where(eq(processFlows.id, id))
  t.same([row!.enabled, row!.name], [false, 'Stale buttons (renamed)'])
  const after = await ctx.db
    .select()
    .from(connectionShapes)
    .where(eq(connectionShapes.processFlowId, id))
    .orderBy(connectionShapes.position)
  t.same(
    after.map((s) => s.id),
    shapes.map((s) => s.id),
    'no shape moved or removed',
  )
})

t.test('a connection shape added from a stale form is refused, the form showing the flow as it is now', async (t) => {
  const id = ((await client.post('/process-flows', { name: 'Stale shape form' })).headers.location as string)
    .split('/')
    .pop()!
  const form = await client.get(`/process-flows/${id}/shapes/new?instance=${shopify.instance.id}`)
  const colleague = await signedIn(ctx.app, admin)
  const theirForm = await colleague.get(`/process-flows/${id}/shapes/new?instance=${xero.instance.id}`)
  t.equal(
    (
      await colleague.post(`/process-flows/${id}/shapes`, {
        ...hiddenFields(theirForm.body, `/process-flows/${id}/shapes`),
        endpoint: xero.definition.endpoints[0]!.key,
      })
    ).statusCode,
    303,
  )
  const late = await client.post(`/process-flows/${id}/shapes`, {
    ...hiddenFields(form.body, `/process-flows/${id}/shapes`),
    endpoint: ordersKey,
  })
  t.equal(late.statusCode, 409)
  const text = textOf(late.body)
  t.match(text, `${admin.name} saved a change to this process flow meanwhile. The connection shape was not added.`)
  t.match(
    text,
    `Saved now: Stale shape form is disabled and has these connection shapes: Xero - Main (Xero), ${xero.definition.endpoints[0]!.name}`,
  )
  t.match(late.body, `<option value="${ordersKey}" selected>`, 'the chosen endpoint is kept')
  t.equal(
    (await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))).length,
    1,
    'nothing added',
  )
  t.equal(
    (
      await client.post(`/process-flows/${id}/shapes`, {
        ...hiddenFields(late.body, `/process-flows/${id}/shapes`),
        endpoint: ordersKey,
      })
    ).statusCode,
    303,
    'adding again from the refreshed form works',
  )
})

t.test(
  'create process flow and add connection shape, submitted twice, do the work once and answer the same',
  async (t) => {
    const list = await client.get('/process-flows')
    const create = { ...hiddenFields(list.body, '/process-flows'), name: 'Sent twice' }
    const [a, b] = await Promise.all([client.post('/process-flows', create), client.post('/process-flows', create)])
    const c = await client.post('/process-flows', create)
    t.same([a.statusCode, b.statusCode, c.statusCode], [303, 303, 303], 'no "already exists" for the second')
    t.equal(b.headers.location, a.headers.location)
    t.equal(c.headers.location, a.headers.location)
    t.equal((await ctx.db.select().from(processFlows).where(eq(processFlows.name, 'Sent twice'))).length, 1)

    const id = (a.headers.location as string).split('/').pop()!
    const form = await client.get(`/process-flows/${id}/shapes/new?instance=${shopify.instance.id}`)
    const add = { ...hiddenFields(form.body, `/process-flows/${id}/shapes`), endpoint: ordersKey }
    const [d, e] = await Promise.all([
      client.post(`/process-flows/${id}/shapes`, add),
      client.post(`/process-flows/${id}/shapes`, add),
    ])
    t.same([d.statusCode, e.statusCode], [303, 303])
    t.equal(e.headers.location, d.headers.location, 'both lead to the shape added')
    t.match(d.headers.location, /#shape-[0-9a-f-]+$/)
    t.equal(
      (await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))).length,
      1,
      'one shape',
    )
  },
)

t.test('removing a flow asks to type confirm and takes its shapes with it', async (t) => {
  const wrong = await client.post(`/process-flows/${flowId}/delete`, {
    lockVersion: await version(),
    confirm: 'delete',
  })
  t.equal(wrong.statusCode, 422)
  const removed = await client.post(`/process-flows/${flowId}/delete`, {
    lockVersion: await version(),
    confirm: 'confirm',
  })
  t.equal(removed.statusCode, 303)
  t.equal((await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId))).length, 0)
})

/** The undo form in the flash area of a page: its action, or null. */
const undoOf = (html: string) => /<form method="post" action="([^"]+)" class="flash-undo">/.exec(html)?.[1] ?? null

t.test('removing a shape of an enabled flow offers an undo that puts the same shape back in its place', async (t) => {
  const flow = await client.post('/process-flows', { name: 'Stock levels' })
  const id = /\/process-flows\/([0-9a-f-]+)/.exec(flow.headers.location as string)![1]!
  for (const instance of [shopify.instance.id, shopifyUs.id, xero.instance.id]) {
    const endpoint = instance === xero.instance.id ? xero.definition.endpoints[0]!.key : ordersKey
    t.equal(
      (await client.post(`/process-flows/${id}/shapes`, { lockVersion: await version(id), instance, endpoint }))
        .statusCode,
      303,
    )
  }
  t.equal(
    (await client.post(`/process-flows/${id}/enabled`, { lockVersion: await version(id), enabled: 'true' })).statusCode,
    303,
  )
  const shapesOf = () =>
    ctx.db
      .select()
      .from(connectionShapes)
      .where(eq(connectionShapes.processFlowId, id))
      .orderBy(connectionShapes.position)
  const before = await shapesOf()
  const middle = before[1]!

  const removed = await client.post(`/process-flows/${id}/shapes/${middle.id}/delete`, {
    lockVersion: await version(id),
  })
  t.equal(removed.statusCode, 303)
  const page = await client.get(`/process-flows/${id}`)
  t.match(
    textOf(page.body),
    'Connection shape 2 (Shopify - US) was removed from Stock levels. undo (removed connection shape 2 (Shopify - US))',
  )
  const action = undoOf(page.body)
  t.equal(action, `/process-flows/${id}/shapes/${middle.id}/restore`)
  t.match(page.body, /class="flash-undo">\s*<input type="hidden" name="_csrf" value="[^"]+">/, 'with its CSRF token')
  t.same(
    (await shapesOf()).map((s) => s.id),
    [before[0]!.id, before[2]!.id],
  )

  const undone = await client.post(action!, {})
  t.equal(undone.statusCode, 303)
  t.equal(undone.headers.location, `/process-flows/${id}#shape-${middle.id}`)
  t.match(textOf((await client.get(`/process-flows/${id}`)).body), 'Connection shape 2 is back in its place.')
  t.same(
    (await shapesOf()).map((s) => [s.id, s.instanceId, s.endpointKey, s.position]),
    before.map((s) => [s.id, s.instanceId, s.endpointKey, s.position]),
    'the same shape, instance, endpoint and position',
  )
  const [event] = await ctx.db.select().from(auditEvents).where(eq(auditEvents.action, 'restore connection shape'))
  t.match(event, { subjectId: middle.id, summary: 'put back connection shape 2 (Shopify - US, ' })

  const again = await client.post(action!, {})
  t.equal(again.statusCode, 303)
  t.match(
    textOf((await client.get(`/process-flows/${id}`)).body),
    'Connection shape 2 is already in its place, so nothing changed.',
  )
  t.equal((await shapesOf()).length, 3, 'not put back twice')
})

t.test('a shape whose instance or endpoint is gone is not put back; the message says why', async (t) => {
  const flow = await client.post('/process-flows', { name: 'Refunds' })
  const id = /\/process-flows\/([0-9a-f-]+)/.exec(flow.headers.location as string)![1]!
  const temporary = await createInstance(ctx.db, admin, box, {
    connectorId: xero.connector.id,
    name: 'Xero - Temporary',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'second',
    authMethod: xero.definition.authMethods[0]!.key,
    values: Object.fromEntries([
      ...xero.definition.authMethods[0]!.fields.map((f) => [`auth.${f.key}`, 'x']),
      ...xero.definition.variables.map((v) => [`var.${v.key}`, 'x']),
    ]),
  })
  t.equal(
    (
      await client.post(`/process-flows/${id}/shapes`, {
        lockVersion: await version(id),
        instance: temporary.id,
        endpoint: xero.definition.endpoints[0]!.key,
      })
    ).statusCode,
    303,
  )
  const [shape] = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))
  await client.post(`/process-flows/${id}/shapes/${shape!.id}/delete`, { lockVersion: await version(id) })
  const action = undoOf((await client.get(`/process-flows/${id}`)).body)!
  const prompt = await client.get(`/instances/${temporary.id}/delete`)
  t.equal(
    (
      await client.post(`/instances/${temporary.id}/delete`, {
        ...hiddenFields(prompt.body, `/instances/${temporary.id}/delete`),
        confirm: 'confirm',
      })
    ).statusCode,
    303,
    'its instance removed since',
  )
  const refused = await client.post(action, {})
  t.equal(refused.statusCode, 303)
  t.equal(refused.headers.location, `/process-flows/${id}`)
  const refusedPage = await client.get(`/process-flows/${id}`)
  t.match(
    textOf(refusedPage.body),
    'The connection shape cannot be put back: its instance Xero - Temporary was removed since. Add a connection shape with another instance instead. Nothing was undone.',
  )
  t.match(refusedPage.body, '<p class="flash flash-warning">', 'shown as a warning')
  t.equal((await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))).length, 0)

  // The endpoint removed from the connector since.
  const endpoint = xero.definition.endpoints.at(-1)!
  t.equal(
    (
      await client.post(`/process-flows/${id}/shapes`, {
        lockVersion: await version(id),
        instance: xero.instance.id,
        endpoint: endpoint.key,
      })
    ).statusCode,
    303,
  )
  const [second] = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))
  await client.post(`/process-flows/${id}/shapes/${second!.id}/delete`, { lockVersion: await version(id) })
  const undoSecond = undoOf((await client.get(`/process-flows/${id}`)).body)!
  const [row] = await ctx.db.select().from(connectors).where(eq(connectors.id, xero.connector.id))
  await saveDefinition(ctx.db, admin, {
    connectorId: xero.connector.id,
    revision: row!.revision,
    definition: { ...row!.definition, endpoints: row!.definition.endpoints.filter((e) => e.key !== endpoint.key) },
  })
  await client.post(undoSecond, {})
  t.match(
    textOf((await client.get(`/process-flows/${id}`)).body),
    `The connection shape cannot be put back: Xero no longer has the endpoint ${endpoint.key}.`,
  )
  t.equal((await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))).length, 0)
})

t.test(
  "an undo of a shape needs a role that changes flows, in the same company; another company's answers 404",
  async (t) => {
    const flow = await client.post('/process-flows', { name: 'Customers' })
    const id = /\/process-flows\/([0-9a-f-]+)/.exec(flow.headers.location as string)![1]!
    await client.post(`/process-flows/${id}/shapes`, {
      lockVersion: await version(id),
      instance: shopify.instance.id,
      endpoint: ordersKey,
    })
    const [shape] = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))
    await client.post(`/process-flows/${id}/shapes/${shape!.id}/delete`, { lockVersion: await version(id) })
    const action = undoOf((await client.get(`/process-flows/${id}`)).body)!
    const reader = await signedIn(ctx.app, ctx.company.users['read-only'])
    t.equal((await reader.post(action, {})).statusCode, 403)
    const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
    const foreign = await outsider.post(action, {})
    t.equal(foreign.statusCode, 404, "another company's flow: 404")
    const theirFlow = await outsider.post('/process-flows', { name: 'Theirs' })
    const theirId = /\/process-flows\/([0-9a-f-]+)/.exec(theirFlow.headers.location as string)![1]!
    t.equal(
      (await outsider.post(`/process-flows/${theirId}/shapes/${shape!.id}/restore`, {})).statusCode,
      404,
      'our removed shape, into their flow: 404',
    )
    t.equal(
      (await client.post(`/process-flows/${id}/shapes/00000000-0000-4000-8000-000000000000/restore`, {})).statusCode,
      404,
      'a shape never removed: 404',
    )
    t.equal(
      (await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))).length,
      0,
      'nothing put back',
    )
    t.equal((await client.post(action, {})).statusCode, 303)
    t.equal((await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, id))).length, 1)
  },
)

t.test(
  "the instance picker searches by name and pages, keeping the chosen instance, never showing another company's",
  async (t) => {
    const { id } = (
      await ctx.db.select({ id: processFlows.id }).from(processFlows).where(eq(processFlows.companyId, ctx.company.id))
    )[0]!
    await ctx.db.insert(instances).values(
      Array.from({ length: 30 }, (_, i) => ({
        companyId: ctx.company.id,
        connectorId: xero.connector.id,
        name: `Xero - Store ${String(i).padStart(2, '0')}`,
        authMethodKey: xero.definition.authMethods[0]!.key,
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: 5,
        rateLimitUnit: 'minute',
        createdBy: admin.id,
      })),
    )
    const base = `/process-flows/${id}/shapes/new`
    const radios = (html: string) =>
      [...html.matchAll(/<input type="radio" id="instance-[^"]+" name="instance" value="([^"]+)"/g)].map((m) => m[1])
    const linkTo = (html: string, rel: string) =>
      decode(new RegExp(`rel="${rel}" href="([^"]+)"`).exec(html)?.[1] ?? '')

    const all = await client.get(base)
    t.equal(radios(all.body).length, 20, 'twenty instances a page, not every instance')
    t.match(textOf(all.body), '33 instances match, page 1 of 2.', 'the count of all of them')
    t.notMatch(all.body, 'Their Shopify')

    const store = await client.get(`${base}?q=sToRe`)
    t.match(
      textOf(store.body),
      '30 instances match “sToRe”, page 1 of 2.',
      'the search is on part of the name, any case',
    )
    t.notMatch(textOf(store.body), 'Shopify - UK', 'the others are left out')
    const second = await client.get(linkTo(store.body, 'next'))
    t.equal(second.statusCode, 200)
    t.same(
      textOf(second.body).match(/Xero - Store \d\d/g),
      Array.from({ length: 10 }, (_, i) => `Xero - Store ${20 + i}`),
      'the next page link keeps the search: the last ten',
    )

    // The chosen instance stays listed and checked, whatever the search and page; its endpoints stay below.
    const chosen = await client.get(`${base}?q=store&page=2&instance=${shopify.instance.id}`)
    t.match(chosen.body, new RegExp(`value="${shopify.instance.id}"\\s*checked`), 'Shopify - UK is still checked')
    t.match(textOf(chosen.body), 'Shopify - UK (Shopify) (chosen)')
    t.match(textOf(chosen.body), 'Endpoint of Shopify for Shopify - UK')
    t.match(linkTo(chosen.body, 'prev'), `instance=${shopify.instance.id}`, 'the page links keep the chosen instance')
    t.match(linkTo(chosen.body, 'prev'), 'q=store')

    // htmx asks for the results alone as you type, with the count for the live region out of band.
    const fragment = await client.get(`${base}?q=store%2007`, {
      'hx-request': 'true',
      'hx-request-type': 'partial',
      'hx-target': 'div#instance-results',
    })
    t.match(fragment.body, /^<div id="instance-results"/)
    t.match(
      fragment.body,
      /<p id="instance-count" data-hx-swap-oob="innerHTML">\s*1 instance matches “store 07”\.\s*<\/p>/,
    )
    t.same(radios(fragment.body).length, 1)

    // Another company's instances are never found, nor chosen; % and _ are taken literally.
    const foreign = await client.get(`${base}?q=their`)
    t.match(textOf(foreign.body), 'No instance matches “their”.')
    t.equal(radios(foreign.body).length, 0)
    t.match(textOf((await client.get(`${base}?q=%25`)).body), 'No instance matches “%”.')
    const theirChoice = await client.get(`${base}?instance=${theirs.instance.id}`)
    t.equal(theirChoice.statusCode, 422, "another company's instance is refused like a missing one")
    t.match(theirChoice.body, /<fieldset aria-describedby="field-instance-error">/)
    t.match(textOf(theirChoice.body), 'Choose one of your instances.')
    t.notMatch(theirChoice.body, 'Their Shopify')
    t.match(theirChoice.body, 'id="instance-search"', 'the form again')
  },
)
