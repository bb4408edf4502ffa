// "Move over in stages" after installing a version alongside: what is left to do → move instances in
// stages → pick one instance and one of its flows → preview (nothing changes yet) → apply, choosing
// an endpoint for a shape whose endpoint the new version dropped → the move's page → undo, with the
// keyboard alone. With and without JavaScript.
import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { connectionShapes, connectors, instances } from '../../src/db/schema.js'
import type { Actor } from '../../src/domain/actor.js'
import { createInstance } from '../../src/domain/instances.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { installVersionAlongside } from '../../src/domain/updates.js'
import { addFlow, manifestOf, publishNextVersion } from '../connector-fixtures.js'
import { testConfig } from '../helpers.js'
import {
  accessibilityProblems, installWithInstance, logIn, MODES, openPage, screenshot, startBrowserWorld, type BrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

/** Shopify with two instances in use, a version that drops "Get customers", installed alongside. */
async function shopifyAlongside(world: BrowserWorld, user: Actor) {
  const db = world.database.db
  // The version installed has "Get customers" (an earlier run may have published one without it).
  const customers = manifestOf('shopify').versions.at(-1)!.definition.endpoints.find((e) => e.key === 'get_customers')!
  await publishNextVersion(db, 'shopify', (d) => { if (!d.endpoints.some((e) => e.key === customers.key)) d.endpoints.push(customers) })
  const { connector: old, instance: uk, definition } = await installWithInstance(world, user, 'shopify', 'Shopify - UK')
  const method = definition.authMethods[0]!
  const us = await createInstance(db, { ...user, role: 'administrator' }, new SecretBox(testConfig().encryptionKey), old.id, {
    name: 'Shopify - US', timeZone: 'UTC', dateFormat: 'Y-m-d', rateLimitAmount: '5', rateLimitUnit: 'minute', authMethod: method.key,
    values: Object.fromEntries([...method.fields.map((f) => [`auth.${f.key}`, 'us']), ...definition.variables.map((v) => [`var.${v.key}`, 'us'])]),
  })
  const orders = await addFlow(db, user, 'Orders sync', [{ instanceId: uk.id, endpointKey: 'get_orders' }, { instanceId: uk.id, endpointKey: 'get_customers' }])
  const stock = await addFlow(db, user, 'Stock', [{ instanceId: uk.id, endpointKey: 'get_products' }, { instanceId: us.id, endpointKey: 'get_orders' }])
  const version = await publishNextVersion(db, 'shopify', (d) => { d.endpoints = d.endpoints.filter((e) => e.key !== 'get_customers') })
  const alongside = await installVersionAlongside(db, user, { connectorId: old.id, version })
  return { old, uk, orders, stock, version, alongside }
}

const shapesOf = async (world: BrowserWorld, flowId: string) => (await world.database.db.select().from(connectionShapes)
  .where(eq(connectionShapes.processFlowId, flowId)).orderBy(connectionShapes.position)).map((s) => [s.instanceId, s.endpointKey])

for (const mode of world ? MODES : []) {
  t.test(`move one instance to the new version in stages, then undo it, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    const { old, uk, orders, stock, version, alongside } = await shopifyAlongside(world!, user)
    const db = world!.database.db
    const copyName = `Shopify - UK (${version})`
    const before = { orders: await shapesOf(world!, orders.flow.id), stock: await shapesOf(world!, stock.flow.id) }
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())

    // What is left to do after installing alongside leads to the migrate page.
    await logIn(page, user)
    await page.goto(`/connectors/${alongside.id}/installed-alongside/${old.id}`)
    await page.getByRole('link', { name: 'move instances in stages' }).click()
    await page.getByRole('heading', { level: 1, name: `Move instances to ${alongside.name}` }).waitFor()
    t.same(await accessibilityProblems(page), [], 'the migrate page: no serious accessibility problems')

    // Pick Shopify - UK and only its "Orders sync" flow.
    const instance = page.getByRole('checkbox', { name: 'Shopify - UK', exact: true })
    t.notOk(await instance.isChecked(), 'nothing is picked until the admin picks it')
    await instance.check()
    const flows = page.getByRole('group', { name: 'Process flows using Shopify - UK: repoint their connection shapes to the copy' })
    t.ok(await flows.getByRole('checkbox', { name: /^Orders sync \(enabled, 2 connection shapes\)/ }).isChecked(), 'its flows are picked by default')
    await flows.getByRole('checkbox', { name: /^Stock/ }).uncheck()
    await page.getByRole('button', { name: 'preview' }).click()

    // The preview says exactly what will change, and nothing has yet.
    await page.getByRole('heading', { level: 1, name: `Preview: move instances to ${alongside.name}` }).waitFor()
    t.ok(await page.getByRole('heading', { level: 3, name: copyName }).isVisible(), 'the copy is named with the suffix')
    const rows = page.getByRole('region', { name: /connection shapes? to repoint/ }).getByRole('row')
    t.equal(await rows.count(), 3, 'a header and the two shapes of Orders sync')
    t.match(await rows.nth(1).textContent(), /Orders sync[\s\S]*Shopify - UK[\s\S]*Get orders[\s\S]*Shopify - UK \(/)
    t.notMatch(await page.getByRole('main').textContent(), 'Stock (', 'the flow left out is not repointed')
    t.same(await db.select().from(instances).where(eq(instances.connectorId, alongside.id)), [], 'nothing is created by a preview')
    t.same(await accessibilityProblems(page), [], 'the preview: no serious accessibility problems')
    if (mode.js) await screenshot(page, 'migrate-preview')

    // Apply without choosing an endpoint for the shape that used "Get customers": asked beside the field.
    await page.getByRole('button', { name: 'apply' }).click()
    const endpoint = page.getByRole('combobox', { name: 'Endpoint for connection shape 2 of Orders sync' })
    await page.getByText(`Choose an endpoint of ${alongside.name} for this connection shape: it has no endpoint Get customers.`).waitFor()
    t.equal(await endpoint.getAttribute('aria-invalid'), 'true', 'the message is tied to the field')
    t.same(await db.select().from(instances).where(eq(instances.connectorId, alongside.id)), [], 'still nothing created')
    await endpoint.selectOption('get_products')
    await page.getByRole('button', { name: 'apply' }).click()

    // The move's page: what was done, and undo.
    await page.getByRole('heading', { level: 1, name: `Move from ${old.name} to ${alongside.name}` }).waitFor()
    t.match(await page.getByRole('status').textContent(), /^Done: migrated 1 instance from /, 'the flash says what was done')
    const [copy] = await db.select().from(instances).where(and(eq(instances.connectorId, alongside.id), eq(instances.name, copyName)))
    t.ok(copy, 'the copy is an instance of the new connector')
    t.same(await shapesOf(world!, orders.flow.id), [[copy!.id, 'get_orders'], [copy!.id, 'get_products']], 'Orders sync uses the copy')
    t.same(await shapesOf(world!, stock.flow.id), before.stock, 'Stock is untouched')
    t.same(await accessibilityProblems(page), [], 'the move: no serious accessibility problems')
    const batchUrl = page.url()

    await page.goto(`/process-flows/${orders.flow.id}`)
    t.match(await page.getByRole('main').textContent(), copyName, 'the process flow shows the copy')

    // Undo with the keyboard alone.
    await page.goto(batchUrl)
    const undo = page.getByRole('button', { name: 'undo' })
    await page.getByRole('heading', { level: 2, name: 'Undo' }).waitFor()
    await page.keyboard.press('Tab')
    for (let i = 0; i < 60 && !(await undo.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab')
    t.ok(await undo.evaluate((el) => el === document.activeElement), 'the undo button is reached with Tab')
    await page.keyboard.press('Enter')
    await page.getByText('This move was undone by').waitFor()
    t.match(await page.getByRole('status').textContent(), /^Undone: /)
    t.same(await shapesOf(world!, orders.flow.id), before.orders, 'the shapes point back')
    t.same(await db.select().from(instances).where(eq(instances.connectorId, alongside.id)), [], 'the copy is removed')
    t.ok((await db.select().from(connectors).where(eq(connectors.id, old.id))).length, 'the old connector is still there')
    t.ok((await db.select().from(instances).where(eq(instances.id, uk.id))).length, 'with its instance')
    t.same(await accessibilityProblems(page), [], 'undone: no serious accessibility problems')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
