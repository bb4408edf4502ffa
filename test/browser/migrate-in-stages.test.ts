// "Move instances in stages" after installing a new connector version alongside: the installed-
// alongside page (or the new connector's settings) → the picker (one of two instances, one of the
// two process flows using it) → the preview, which shows exactly what apply will do and changes
// nothing → apply without answering the missing endpoint is refused beside its select → answered,
// applied → the batch page, the process flow now on the copy → undo with the keyboard alone puts
// everything back. Then the picker with more instances than a page holds: next and previous page with
// the keyboard, a tick kept across pages (with JavaScript only the results are swapped). With and
// without JavaScript.
import t from 'tap'
import { and, asc, eq } from 'drizzle-orm'
import type { Locator, Page } from 'playwright-core'
import { connectionShapes, instances, migrationBatches } from '../../src/db/schema.js'
import type { Actor } from '../../src/domain/actor.js'
import { createInstance } from '../../src/domain/instances.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { installVersionAlongside } from '../../src/domain/install-alongside.js'
import { addFlow, install, publishNextVersion } from '../connector-fixtures.js'
import { testConfig } from '../helpers.js'
import {
  accessibilityProblems,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  screenshot,
  startBrowserWorld,
  type BrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)
const box = new SecretBox(testConfig().encryptionKey)

/**
 * Shopify as installed today with two instances: "Shopify - UK", used by "Orders sync" (Get orders,
 * Get customers) and "Stock" (Set inventory level), and "Shopify - US", used by "US orders".
 */
async function oldShopify(world: BrowserWorld, user: Actor) {
  const db = world.database.db
  const old = await install(db, user, 'shopify')
  const instance = (name: string, token: string, domain: string) =>
    createInstance(db, user, box, {
      connectorId: old.id,
      name,
      timeZone: 'Europe/London',
      dateFormat: 'd/m/Y',
      rateLimitAmount: '3',
      rateLimitUnit: 'second',
      authMethod: 'admin_api_token',
      values: { 'auth.access_token': token, 'var.shop_domain': domain, 'var.order_status': 'open' },
    })
  const uk = await instance('Shopify - UK', 'shpat_uk_secret', 'acme-uk.myshopify.com')
  const us = await instance('Shopify - US', 'shpat_us_secret', 'acme-us.myshopify.com')
  const orders = await addFlow(db, user, 'Orders sync', [
    { instanceId: uk.id, endpointKey: 'get_orders' },
    { instanceId: uk.id, endpointKey: 'get_customers' },
  ])
  const stock = await addFlow(db, user, 'Stock', [{ instanceId: uk.id, endpointKey: 'set_inventory_level' }])
  const usOrders = await addFlow(db, user, 'US orders', [{ instanceId: us.id, endpointKey: 'get_orders' }])
  return { user, old, uk, us, orders, stock, usOrders }
}

/** A company whose Shopify has 23 instances, "Store 01" to "Store 23": more than a page of the picker (20). */
async function manyStores(world: BrowserWorld) {
  const { user } = await world.company()
  const old = await install(world.database.db, user, 'shopify')
  for (let n = 1; n <= 23; n++)
    await createInstance(world.database.db, user, box, {
      connectorId: old.id,
      name: `Store ${String(n).padStart(2, '0')}`,
      timeZone: 'UTC',
      dateFormat: 'Y-m-d',
      rateLimitAmount: '3',
      rateLimitUnit: 'second',
      authMethod: 'admin_api_token',
      values: { 'auth.access_token': 'shpat_x', 'var.shop_domain': 'x.myshopify.com', 'var.order_status': 'open' },
    })
  return { user, old }
}
const stores = world ? await manyStores(world) : null

// Every run installs Shopify before the vendor's next version is published (it drops "Get
// customers"); then each run's Shopify gets that version installed alongside.
const runs = world ? await Promise.all(MODES.map(async () => oldShopify(world, (await world.company()).user))) : []
const version = world
  ? await publishNextVersion(
      world.database.db,
      'shopify',
      (d) => {
        d.endpoints = d.endpoints.filter((e) => e.key !== 'get_customers')
      },
      'Customers moved to their own connector.',
    )
  : ''
const alongside = await Promise.all(
  runs.map((run) => installVersionAlongside(world!.database.db, run.user, { connectorId: run.old.id, version })),
)

const storesAlongside = stores
  ? await installVersionAlongside(world!.database.db, stores.user, { connectorId: stores.old.id, version })
  : null

const text = async (locator: Locator) => ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim()

const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null
    return el ? { tag: el.tagName.toLowerCase(), text: (el.textContent ?? '').replace(/\s+/g, ' ').trim() } : null
  })

for (const [index, mode] of (world ? MODES : []).entries()) {
  t.test(`move instances in stages to a version installed alongside, and undo, ${mode.label}`, async (t) => {
    const db = world!.database.db
    const { user, old, uk, us, orders, stock, usOrders } = runs[index]!
    const to = alongside[index]!
    const newName = to.name
    const copyName = `Shopify - UK (${version})`
    t.equal(newName, `Shopify ${version}`, 'the new version is a second connector named after its version')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())

    const shapesOf = async (flowId: string) =>
      (
        await db
          .select()
          .from(connectionShapes)
          .where(eq(connectionShapes.processFlowId, flowId))
          .orderBy(asc(connectionShapes.position))
      ).map((s) => [s.instanceId, s.endpointKey])
    const copies = () => db.select().from(instances).where(eq(instances.connectorId, to.id))
    const snapshot = async () =>
      JSON.stringify([
        await db.select().from(instances).where(eq(instances.companyId, user.companyId)).orderBy(asc(instances.id)),
        await db
          .select()
          .from(connectionShapes)
          .where(eq(connectionShapes.companyId, user.companyId))
          .orderBy(asc(connectionShapes.id)),
        await db.select().from(migrationBatches).where(eq(migrationBatches.companyId, user.companyId)),
      ])

    // Log in; the way in: the installed-alongside page (where installing alongside lands) with
    // JavaScript, the settings of the new connector without.
    await logIn(page, user)
    await openManageConnectors(page)
    if (mode.js) {
      await page.goto(`/connectors/${to.id}/installed-alongside/${old.id}`)
      await page.getByRole('heading', { level: 1, name: `${newName} is installed alongside Shopify` }).waitFor()
      const step = page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { level: 3, name: 'Create new instances' }) })
      t.match(await text(step), 'Shopify - UK', 'create new instances lists the instances of Shopify')
      await step.getByRole('link', { name: 'move instances in stages' }).click()
      await page.waitForURL(
        (url) => url.pathname === `/connectors/${to.id}/migrate` && url.searchParams.get('from') === old.id,
      )
    } else {
      await page.getByRole('link', { name: `settings for ${newName}`, exact: true }).click()
      await page.waitForURL((url) => url.pathname === `/connectors/${to.id}/settings`)
      t.match(
        await text(page.getByRole('main')),
        `You have another connector installed from Shopify: Shopify (version ${old.version}, 2 instances) · move instances in stages from Shopify to ${newName}`,
        'the settings of the new connector say there is another one to move from',
      )
      await page.getByRole('link', { name: `move instances in stages from Shopify to ${newName}` }).click()
      await page.waitForURL(
        (url) => url.pathname === `/connectors/${to.id}/migrate` && url.searchParams.get('from') === old.id,
      )
    }

    // The picker: the instances of Shopify, unchecked; the flows using each, checked.
    await page.getByRole('heading', { level: 1, name: `Move instances to ${newName}` }).waitFor()
    const from = page.getByRole('region', { name: `From Shopify (version ${old.version})`, exact: true })
    t.ok(await from.getByRole('heading', { level: 2 }).isVisible(), `a section: From Shopify (version ${old.version})`)
    const picked = from.getByRole('group', { name: 'Instances of Shopify to move', exact: true })
    const ukBox = picked.getByRole('checkbox', { name: 'Shopify - UK', exact: true })
    const usBox = picked.getByRole('checkbox', { name: 'Shopify - US', exact: true })
    t.notOk((await ukBox.isChecked()) || (await usBox.isChecked()), 'no instance is picked for the user')
    const ukFlows = picked.getByRole('group', {
      name: 'Process flows using Shopify - UK: repoint their connection shapes to the copy',
      exact: true,
    })
    const ordersBox = ukFlows.getByRole('checkbox', { name: 'Orders sync (enabled, 2 connection shapes)', exact: true })
    const stockBox = ukFlows.getByRole('checkbox', { name: 'Stock (enabled, 1 connection shape)', exact: true })
    t.ok((await ordersBox.isChecked()) && (await stockBox.isChecked()), 'the flows using Shopify - UK are checked')
    t.ok(
      await picked
        .getByRole('group', { name: 'Process flows using Shopify - US: repoint their connection shapes to the copy' })
        .getByRole('checkbox', { name: 'US orders (enabled, 1 connection shape)', exact: true })
        .isChecked(),
      'and the one using Shopify - US',
    )
    const suffix = from.getByRole('textbox', { name: 'name suffix' })
    t.equal(await suffix.inputValue(), ` (${version})`, 'the suffix is the new version')
    t.same(await accessibilityProblems(page), [], 'the picker: no serious accessibility problems')

    // Find instances by name: with JavaScript as you type (the results swap, focus stays in the box), without
    // it with the search button (the form is posted and shown again). Ticks survive another search.
    const searchBox = from.getByRole('searchbox', { name: 'Find instances of Shopify' })
    const count = page.locator(`#migrate-count-${old.id}`)
    const search = async (text: string) => {
      if (mode.js) {
        await searchBox.fill('')
        await searchBox.pressSequentially(text)
      } else {
        await searchBox.fill(text)
        await from.getByRole('button', { name: 'search', exact: true }).click()
      }
      await count.filter({ hasText: `1 instance matches “${text}”` }).waitFor()
      if (mode.js)
        t.ok(await searchBox.evaluate((el) => el === document.activeElement), 'focus stays in the search box')
    }
    await search('uk')
    t.equal(await usBox.count(), 0, 'a search narrows the list: Shopify - US is not listed')
    t.equal(await count.getAttribute('role'), 'status', 'the count is announced')

    // Pick Shopify - UK and only Orders sync; a search for another name keeps them; then preview.
    await ukBox.check()
    await stockBox.uncheck()
    await search('us')
    t.ok(await usBox.isVisible(), 'the other search shows Shopify - US')
    t.ok(await ukBox.isChecked(), 'Shopify - UK stays ticked, listed above the results')
    t.notOk(await stockBox.isChecked(), 'and Stock stays unticked')
    t.ok(await ordersBox.isChecked(), 'and Orders sync ticked')
    t.match(await count.textContent(), '1 instance matches “us”; 1 more instance picked.')
    const before = await snapshot()
    await from.getByRole('button', { name: 'preview', exact: true }).click()

    // The preview: exactly the planned change, and nothing changed yet.
    await page.getByRole('heading', { level: 1, name: `Preview: move instances to ${newName}` }).waitFor()
    t.equal(await snapshot(), before, 'the preview changes nothing in the database')
    const toCreate = page.getByRole('region', { name: `1 instance to create in ${newName}`, exact: true })
    t.equal(await toCreate.getByRole('heading', { level: 3 }).count(), 1, 'one copy')
    const copy = toCreate.getByRole('region', { name: copyName, exact: true })
    t.ok(
      await copy.getByRole('heading', { level: 3, name: copyName, exact: true }).isVisible(),
      `the copy is named with the suffix: ${copyName}`,
    )
    const copyText = await text(copy)
    t.match(copyText, 'a copy of Shopify - UK (Shopify)')
    t.match(copyText, 'Authentication method Admin API access token (custom app) (the same as Shopify - UK)')
    t.match(
      copyText,
      'Copied Admin API access token: copied, stored encrypted Shop domain (e.g. example.myshopify.com): acme-uk.myshopify.com Order status filter: open',
    )
    t.match(copyText, 'Dropped nothing Left empty nothing: every required field has a value')
    t.notMatch(await text(page.getByRole('main')), 'shpat_uk_secret', 'the credential is never shown')
    t.notMatch(await text(page.getByRole('main')), 'Shopify - US', 'the instance left out is not in the preview')
    const shapes = page.getByRole('region', { name: '2 connection shapes to repoint', exact: true })
    t.same(
      await shapes.locator('thead th').allTextContents(),
      ['Process flow', 'Position', 'Now', 'After apply'],
      'a table of the shapes',
    )
    const rows = shapes.locator('tbody tr')
    t.equal(await rows.count(), 2, 'the two shapes of Orders sync, not the one of Stock')
    const cells = async (row: Locator) => Promise.all((await row.locator('td').all()).map(text))
    t.same(
      await cells(rows.nth(0)),
      ['Orders sync (enabled)', 'connection shape 1', 'Shopify - UK, Get orders', `${copyName}, Get orders`],
      'shape 1: Shopify - UK, Get orders → the copy, Get orders',
    )
    const [flow2, position2, now2, after2] = await cells(rows.nth(1))
    t.same(
      [flow2, position2, now2],
      ['Orders sync (enabled)', 'connection shape 2', 'Shopify - UK, Get customers'],
      'shape 2: Shopify - UK, Get customers now',
    )
    t.match(
      after2,
      `${copyName}, ${newName} has no endpoint Get customers. Choose one:`,
      'after apply: the copy, with an endpoint to choose',
    )
    t.notMatch(await text(shapes), 'Stock', 'the flow left out is not repointed')
    const endpoint = shapes.getByRole('combobox', {
      name: 'Endpoint for connection shape 2 of Orders sync',
      exact: true,
    })
    t.equal(await endpoint.count(), 1, 'one endpoint to choose: for the shape whose endpoint the new version lacks')
    t.ok(await endpoint.evaluate((el: HTMLSelectElement) => el.required), 'the endpoint is required')
    t.equal(await endpoint.inputValue(), '', 'and not chosen for the user')
    t.equal(await text(endpoint.locator('option').first()), 'choose an endpoint')
    t.ok(
      (await page.getByRole('button', { name: 'apply', exact: true }).isVisible()) &&
        (await page.getByRole('button', { name: 'back', exact: true }).isVisible()),
      'apply and back',
    )
    t.same(await accessibilityProblems(page), [], 'the preview: no serious accessibility problems')
    if (mode.js) await screenshot(page, 'migrate-preview')

    // Apply without choosing the endpoint: refused, the message beside the select.
    const migrate = `/connectors/${to.id}/migrate`
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === migrate),
      page.getByRole('button', { name: 'apply', exact: true }).click(),
    ])
    t.equal(refused.status(), 422, 'an endpoint left unchosen is refused')
    const message = `Choose an endpoint of ${newName} for this connection shape: it has no endpoint Get customers.`
    await page.getByText(message).waitFor()
    t.equal(await endpoint.getAttribute('aria-invalid'), 'true', 'the select is marked invalid')
    const describedBy = await endpoint.getAttribute('aria-describedby')
    t.equal(describedBy && (await text(page.locator(`#${describedBy}`))), message, 'and described by the message')
    t.ok(await endpoint.locator('xpath=..').getByText(message).isVisible(), 'the message is beside the select')
    t.same(await copies(), [], 'nothing created')
    t.equal(await snapshot(), before, 'nothing changed')
    t.same(await accessibilityProblems(page), [], 'the refused preview: no serious accessibility problems')

    // Choose the endpoint, apply.
    await endpoint.selectOption('get_products')
    await page.getByRole('button', { name: 'apply', exact: true }).click()
    await page.waitForURL((url) => new RegExp(`^/connectors/${to.id}/migrations/[0-9a-f-]{36}$`).test(url.pathname))
    const batchUrl = new URL(page.url()).pathname
    await page.getByRole('heading', { level: 1, name: `Move from Shopify to ${newName}` }).waitFor()
    t.match(
      await text(page.getByRole('status')),
      new RegExp(`^Done: migrated 1 instance from Shopify to ${newName}; 2 connection shapes repointed\\.`),
      'the flash says what was done',
    )
    const created = page.getByRole('region', { name: '1 instance created', exact: true })
    t.ok(await created.getByRole('link', { name: copyName, exact: true }).isVisible(), 'the copy is listed')
    t.match(await text(created), `${copyName}, a copy of Shopify - UK`)
    const repointed = page.getByRole('region', { name: '2 connection shapes repointed', exact: true })
    t.match(
      await text(repointed),
      `Orders sync (enabled) connection shape 2 Shopify - UK, Get customers ${copyName}, Get products`,
      'the endpoint chosen',
    )
    const undoSection = page.getByRole('region', { name: 'Undo', exact: true })
    t.ok(await undoSection.getByRole('button', { name: 'undo', exact: true }).isVisible(), 'it can be undone')
    t.same(await accessibilityProblems(page), [], 'the batch page: no serious accessibility problems')

    const [made] = await copies()
    t.match(
      made,
      { name: copyName, companyId: user.companyId, authMethodKey: 'admin_api_token', createdBy: user.id },
      'the copy exists on the new connector',
    )
    t.same(box.open(made!.secrets), { 'auth.access_token': 'shpat_uk_secret' }, 'with the credential')
    t.same(
      await shapesOf(orders.flow.id),
      [
        [made!.id, 'get_orders'],
        [made!.id, 'get_products'],
      ],
      'the flow picked points to the copy',
    )
    t.same(
      await shapesOf(stock.flow.id),
      [[uk.id, 'set_inventory_level']],
      'the flow left out still points to Shopify - UK',
    )
    t.same(await shapesOf(usOrders.flow.id), [[us.id, 'get_orders']], 'the instance left out is untouched')

    // The process flow shows the copy.
    await repointed.getByRole('link', { name: 'Orders sync', exact: true }).first().click()
    await page.getByRole('heading', { level: 1, name: 'Orders sync' }).waitFor()
    const flowShapes = page.getByRole('region', { name: 'Connection shapes' }).getByRole('listitem')
    t.equal(await flowShapes.count(), 2)
    for (const [i, endpointName] of ['Get orders', 'Get products'].entries()) {
      const shape = await text(flowShapes.nth(i))
      t.match(
        shape,
        `${copyName} (${newName}) ${endpointName}`,
        `the process flow: shape ${i + 1} uses ${copyName}, ${endpointName}`,
      )
    }
    t.notMatch(await text(page.getByRole('main')), 'Shopify - UK (Shopify)', 'and no longer the old instance')

    // Back to the batch page; undo with the keyboard alone.
    await page.goBack()
    await page.waitForURL((url) => url.pathname === batchUrl)
    await page.getByRole('heading', { level: 1, name: `Move from Shopify to ${newName}` }).waitFor()
    const undo = undoSection.getByRole('button', { name: 'undo', exact: true })
    for (let i = 0; i < 80 && !(await undo.evaluate((el) => el === document.activeElement)); i++)
      await page.keyboard.press('Tab')
    t.same(await focused(page), { tag: 'button', text: 'undo' }, 'Tab reaches the undo button')
    t.not(
      await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle),
      'none',
      'its focus is visible',
    )
    const [undone] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${batchUrl}/undo`),
      page.keyboard.press('Enter'),
    ])
    // Without JavaScript a 303; with it, the form goes by htmx and the answer is HX-Redirect (public/app.js).
    t.equal(mode.js ? undone.headers()['hx-redirect'] : undone.headers().location, batchUrl, 'Enter submits undo')
    await page
      .getByRole('status')
      .getByText(/^Undone: /)
      .waitFor()
    t.match(
      await text(page.getByRole('status')),
      `Undone: undid the migration of 1 instance from Shopify to ${newName}: 2 connection shapes pointed back, 1 created instance removed.`,
      'the flash says it is undone',
    )
    t.match(await text(undoSection), `This move was undone by ${user.name} on`, 'the batch page says who undid it')
    t.equal(await page.getByRole('button', { name: 'undo', exact: true }).count(), 0, 'and it cannot be undone twice')
    t.same(
      await shapesOf(orders.flow.id),
      [
        [uk.id, 'get_orders'],
        [uk.id, 'get_customers'],
      ],
      'the shapes point back, endpoints as before',
    )
    t.same(await shapesOf(stock.flow.id), [[uk.id, 'set_inventory_level']])
    t.same(await copies(), [], 'the copy is gone')
    const [batch] = await db
      .select()
      .from(migrationBatches)
      .where(and(eq(migrationBatches.companyId, user.companyId), eq(migrationBatches.toConnectorId, to.id)))
    t.equal(batch?.undoneBy, user.id, 'the batch is recorded as undone')
    t.same(await accessibilityProblems(page), [], 'the undone batch page: no serious accessibility problems')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}

for (const mode of world ? MODES : []) {
  t.test(`the picker pages through 23 instances, a tick kept across pages, keyboard only, ${mode.label}`, async (t) => {
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, stores!.user)
    await page.goto(`/connectors/${storesAlongside!.id}/migrate?from=${stores!.old.id}`)
    const from = page.getByRole('region', { name: `From Shopify (version ${stores!.old.version})`, exact: true })
    const boxes = from.getByRole('group', { name: 'Instances of Shopify to move' }).getByRole('checkbox')
    t.equal(await boxes.count(), 20, 'page 1: 20 instances')
    t.match(await text(from), 'page 1 of 2')
    const store02 = from.getByRole('checkbox', { name: 'Store 02', exact: true })
    await store02.focus()
    await page.keyboard.press('Space')
    t.ok(await store02.isChecked(), 'Space ticks Store 02')

    // With JavaScript only the results are swapped: the window (and this mark in it) stays.
    if (mode.js) await page.evaluate(() => ((window as unknown as { mark: number }).mark = 1))
    const next = from.getByRole('button', { name: 'next page of instances of Shopify', exact: true })
    await next.focus()
    await page.keyboard.press('Enter')
    await from.getByText('page 2 of 2', { exact: true }).waitFor()
    t.match(
      await text(page.locator('.count[role="status"]')),
      '23 instances match, page 2 of 2; 1 more instance picked',
    )
    t.ok(await from.getByRole('checkbox', { name: 'Store 23', exact: true }).isVisible(), 'page 2: Store 23')
    t.notOk(await from.getByRole('checkbox', { name: 'Store 03', exact: true }).count(), 'and not page 1')
    t.ok(await store02.isChecked(), 'Store 02 stays ticked, listed above the results')
    if (mode.js)
      t.equal(
        await page.evaluate(() => (window as unknown as { mark?: number }).mark),
        1,
        'the results were swapped in place, the page not loaded again',
      )

    const previous = from.getByRole('button', { name: 'previous page of instances of Shopify', exact: true })
    await previous.focus()
    await page.keyboard.press('Enter')
    await from.getByText('page 1 of 2', { exact: true }).waitFor()
    t.ok(await store02.isChecked(), 'back on page 1, Store 02 is still ticked')
    t.equal(await from.getByRole('checkbox', { name: 'Store 02', exact: true }).count(), 1, 'and listed once')
    t.same(await accessibilityProblems(page), [], 'the paged picker: no serious accessibility problems')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
