import t from 'tap'
import { eq } from 'drizzle-orm'
import { auditEvents, connectionShapes, connectors, marketplaceConnectors, processFlows } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connectors.js'
import { createInstance } from '../../src/domain/instances.js'
import { addShape } from '../../src/domain/flows.js'
import { SecretBox } from '../../src/domain/secrets.js'
import type { Actor } from '../../src/domain/actor.js'
import { setup, signedIn, testConfig, textOf } from '../helpers.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const box = new SecretBox(testConfig().encryptionKey)

async function installWithInstance(actor: Actor, key: string, instanceName: string) {
  const [entry] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, key))
  const connector = await installConnector(ctx.db, actor, entry!.id)
  const [row] = await ctx.db.select().from(connectors).where(eq(connectors.id, connector.id))
  const definition = row!.definition
  const method = definition.authMethods[0]!
  const values = Object.fromEntries([...method.fields.map((f) => [`auth.${f.key}`, 'x']), ...definition.variables.map((v) => [`var.${v.key}`, 'x'])])
  const instance = await createInstance(ctx.db, actor, box, connector.id, {
    name: instanceName, timeZone: 'UTC', dateFormat: 'Y-m-d', rateLimitAmount: '5', rateLimitUnit: 'second', authMethod: method.key, values,
  })
  return { connector, instance, definition }
}

const shopify = await installWithInstance(admin, 'shopify', 'Shopify - UK')
const shopifyUs = await createInstance(ctx.db, admin, box, shopify.connector.id, {
  name: 'Shopify - US', timeZone: 'UTC', dateFormat: 'Y-m-d', rateLimitAmount: '5', rateLimitUnit: 'second',
  authMethod: shopify.definition.authMethods[0]!.key,
  values: Object.fromEntries([...shopify.definition.authMethods[0]!.fields.map((f) => [`auth.${f.key}`, 'x']), ...shopify.definition.variables.map((v) => [`var.${v.key}`, 'x'])]),
})
const xero = await installWithInstance(admin, 'xero', 'Xero - Main')
const theirs = await installWithInstance(ctx.other.users.administrator, 'shopify', 'Their Shopify')
const client = await signedIn(ctx.app, ctx.company.users.user)
const ordersKey = shopify.definition.endpoints[0]!.key

let flowId = ''

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

t.test('adds a connection shape: pick an instance, then one of its connector\'s endpoints', async (t) => {
  const step1 = await client.get(`/process-flows/${flowId}/shapes/new`)
  t.equal(step1.statusCode, 200)
  t.match(step1.body, '<optgroup label="Shopify">')
  t.match(step1.body, '<optgroup label="Xero">')
  t.notMatch(step1.body, 'Their Shopify', 'never another company\'s instances')
  const withoutJs = await client.get(`/process-flows/${flowId}/shapes/new?instance=${shopify.instance.id}`)
  t.match(withoutJs.body, /^<!doctype html>/)
  t.match(textOf(withoutJs.body), `Endpoint of Shopify for Shopify - UK`)
  const fragment = await client.get(`/process-flows/${flowId}/shapes/new?instance=${xero.instance.id}`, { 'hx-request': 'true', 'hx-request-type': 'partial' })
  t.match(fragment.body, /^<div id="shape-endpoints">/)
  t.match(textOf(fragment.body), xero.definition.endpoints[0]!.name)
  t.notMatch(textOf(fragment.body), shopify.definition.endpoints[0]!.name + ' (')

  const wrongEndpoint = await client.post(`/process-flows/${flowId}/shapes`, { instance: xero.instance.id, endpoint: 'not_an_endpoint' })
  t.equal(wrongEndpoint.statusCode, 422)
  t.match(textOf(wrongEndpoint.body), 'Choose one of the endpoints of Xero.')
  const foreign = await client.post(`/process-flows/${flowId}/shapes`, { instance: theirs.instance.id, endpoint: ordersKey })
  t.equal(foreign.statusCode, 422, 'another company\'s instance can never be put into a shape')
  t.match(textOf(foreign.body), 'Choose one of your instances.')

  const added = await client.post(`/process-flows/${flowId}/shapes`, { instance: shopify.instance.id, endpoint: ordersKey })
  t.equal(added.statusCode, 303)
  await client.post(`/process-flows/${flowId}/shapes`, { instance: xero.instance.id, endpoint: xero.definition.endpoints[0]!.key })
  const page = textOf((await client.get(`/process-flows/${flowId}`)).body)
  t.match(page, `Shopify - UK (Shopify) ${shopify.definition.endpoints[0]!.name}`)
  const list = textOf((await client.get('/process-flows')).body)
  t.match(list, /Orders to Xero disabled 2 (Shopify - UK, Xero - Main|Xero - Main, Shopify - UK)/)
  const manage = textOf((await client.get('/connectors?q=shopify')).body)
  t.match(manage, 'Shopify - UK used by 1 process flow')
  t.match(manage, 'Shopify - US used by 0 process flows')
})

t.test('reconfigures a shape to another instance, keeping the endpoint when the connector has it', async (t) => {
  const shapes = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId)).orderBy(connectionShapes.position)
  const first = shapes[0]!
  const sameConnector = await client.get(`/process-flows/${flowId}/shapes/${first.id}?instance=${shopifyUs.id}`)
  t.match(sameConnector.body, `<option value="${ordersKey}" selected>`, 'same endpoint key: kept')
  const otherConnector = await client.get(`/process-flows/${flowId}/shapes/${first.id}?instance=${xero.instance.id}`)
  t.match(otherConnector.body, '<option value="" selected>choose an endpoint</option>', 'no such key: asked again')
  const saved = await client.post(`/process-flows/${flowId}/shapes/${first.id}`, { instance: shopifyUs.id, endpoint: ordersKey })
  t.equal(saved.statusCode, 303)
  const [after] = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.id, first.id))
  t.equal(after!.instanceId, shopifyUs.id)
})

t.test('reorders and removes shapes', async (t) => {
  const before = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId)).orderBy(connectionShapes.position)
  await client.post(`/process-flows/${flowId}/shapes/${before[1]!.id}/move`, { direction: 'up' })
  const moved = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId)).orderBy(connectionShapes.position)
  t.same(moved.map((s) => s.id), [before[1]!.id, before[0]!.id])
  const removed = await client.post(`/process-flows/${flowId}/shapes/${before[1]!.id}/delete`)
  t.equal(removed.statusCode, 303)
  const after = await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId))
  t.same(after.map((s) => [s.id, s.position]), [[before[0]!.id, 0]])
  await client.post(`/process-flows/${flowId}/shapes/${before[0]!.id}/delete`)
  const empty = textOf((await client.get(`/process-flows/${flowId}`)).body)
  t.match(empty, 'The connection shape was removed. ')
  t.match(empty, 'This process flow has no connection shapes.', 'right after removing the last one')
  t.notMatch(empty, 'no connection shapes yet', 'not "yet": it had some a moment ago')
  await addShape(ctx.db, ctx.company.users.user, flowId, { instanceId: after[0]!.instanceId, endpointKey: after[0]!.endpointKey })
})

t.test('enables, disables and renames a flow; every change is in the audit log', async (t) => {
  t.equal((await client.post(`/process-flows/${flowId}/enabled`, { enabled: 'true' })).statusCode, 303)
  t.match(textOf((await client.get(`/process-flows/${flowId}`)).body), 'This process flow is enabled')
  t.equal((await client.post(`/process-flows/${flowId}`, { name: 'Orders to Xero (UK)' })).statusCode, 303)
  const [flow] = await ctx.db.select().from(processFlows).where(eq(processFlows.id, flowId))
  t.equal(flow!.name, 'Orders to Xero (UK)')
  t.equal(flow!.enabled, true)
  const actions = (await ctx.db.select().from(auditEvents).where(eq(auditEvents.companyId, ctx.company.id))).map((e) => e.action)
  for (const action of ['create process flow', 'add connection shape', 'reconfigure connection shape', 'move connection shape', 'remove connection shape', 'enable process flow', 'rename process flow']) {
    t.ok(actions.includes(action), action)
  }
})

t.test('another company\'s flows answer 404; read-only users cannot change flows', async (t) => {
  const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
  t.equal((await outsider.get(`/process-flows/${flowId}`)).statusCode, 404)
  t.equal((await outsider.post(`/process-flows/${flowId}/enabled`, { enabled: 'false' })).statusCode, 404)
  t.equal((await outsider.post(`/process-flows/${flowId}/shapes`, { instance: theirs.instance.id, endpoint: ordersKey })).statusCode, 404)
  const reader = await signedIn(ctx.app, ctx.company.users['read-only'])
  t.equal((await reader.get(`/process-flows/${flowId}`)).statusCode, 200)
  t.notMatch((await reader.get(`/process-flows/${flowId}`)).body, 'add connection shape')
  t.equal((await reader.post('/process-flows', { name: 'Nope' })).statusCode, 403)
  t.equal((await reader.post(`/process-flows/${flowId}/enabled`, { enabled: 'false' })).statusCode, 403)
})

t.test('removing a flow asks to type confirm and takes its shapes with it', async (t) => {
  const wrong = await client.post(`/process-flows/${flowId}/delete`, { confirm: 'delete' })
  t.equal(wrong.statusCode, 422)
  const removed = await client.post(`/process-flows/${flowId}/delete`, { confirm: 'confirm' })
  t.equal(removed.statusCode, 303)
  t.equal((await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.processFlowId, flowId))).length, 0)
})
