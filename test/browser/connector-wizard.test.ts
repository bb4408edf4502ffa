// The connector wizard (cog → settings): a step per address, each with the trash icon; an endpoint
// edited (a refused save keeps the address and the typed values), removed, and put back with the
// undo in the message — with the keyboard alone, with and without JavaScript.
import t from 'tap'
import { eq } from 'drizzle-orm'
import type { Page } from 'playwright-core'
import { connectors, marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import {
  accessibilityProblems,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  screenshot,
  settled,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

/** Presses Tab until `name` (an accessible name, or its start) has focus; false if it never does. */
async function tabTo(page: Page, name: RegExp): Promise<boolean> {
  for (let i = 0; i < 80; i++) {
    const current = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null
      return el ? (el.getAttribute('aria-label') ?? el.textContent ?? '').replace(/\s+/g, ' ').trim() : ''
    })
    if (name.test(current)) return true
    await page.keyboard.press('Tab')
  }
  return false
}

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim()

for (const mode of world ? MODES : []) {
  t.test(
    `the connector wizard: steps, edit, remove an endpoint and undo it with the keyboard, ${mode.label}`,
    async (t) => {
      const { user } = await world!.company()
      const db = world!.database.db
      const [entry] = await db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, 'shopify'))
      const shopify = await installConnector(db, user, { marketplaceConnectorId: entry!.id })
      const endpointKeys = async () =>
        (await db.select().from(connectors).where(eq(connectors.id, shopify.id)))[0]!.definition.endpoints.map(
          (e) => e.key,
        )
      const original = await endpointKeys()
      const { context, page, problems } = await openPage(world!, mode.js)
      t.teardown(() => context.close())

      // Cog → the connector wizard on the settings page: basic details first, the trash icon in its head.
      await logIn(page, user)
      await openManageConnectors(page)
      await page.getByRole('link', { name: 'settings for Shopify' }).click()
      await page.getByRole('heading', { level: 1, name: 'Settings for Shopify' }).waitFor()
      const steps = page.getByRole('navigation', { name: 'Connector wizard' })
      t.equal(
        await steps.locator('[aria-current="step"]').textContent(),
        '1. basic details',
        'the step list marks the current step',
      )
      t.ok(await page.getByRole('link', { name: 'remove connector' }).isVisible(), 'the trash icon')
      t.same(await accessibilityProblems(page), [], 'basic details: no serious accessibility problems')

      // With the keyboard: the step list's endpoints link.
      t.ok(await tabTo(page, /^4\. endpoints/), 'Tab reaches the endpoints step')
      await page.keyboard.press('Enter')
      await page.waitForURL((url) => url.pathname === `/connectors/${shopify.id}/endpoints`)
      await page.getByRole('heading', { level: 2, name: 'Endpoints' }).waitFor()
      t.match(await steps.locator('[aria-current="step"]').textContent(), /^4\. endpoints/)
      t.ok(await page.getByRole('link', { name: 'remove connector' }).isVisible(), 'the trash icon on this step too')
      t.same(await accessibilityProblems(page), [], 'endpoints: no serious accessibility problems')

      // Edit an endpoint: its form opens in place (its own page without JavaScript), focus in its first field.
      await page.getByRole('link', { name: 'edit endpoint Get orders' }).click()
      const form = page.getByRole('form', { name: 'Edit endpoint Get orders' })
      await form.waitFor()
      await page.waitForURL((url) => url.pathname === `/connectors/${shopify.id}/endpoints/get_orders`)
      await page.waitForFunction(() => document.activeElement?.id === 'edit-endpoint-get_orders-name')
      t.pass('focus is in the name field')
      // A refused save: the message beside the field, the typed values kept, the address still the edit form's.
      await page.keyboard.press('Control+A')
      await page.keyboard.press('Delete')
      await form.getByLabel('Entity').fill('Open orders')
      await form.getByRole('button', { name: 'save endpoint' }).click()
      await page.getByText('Enter a name.').waitFor()
      await settled(page)
      t.equal(
        new URL(page.url()).pathname,
        `/connectors/${shopify.id}/endpoints/get_orders`,
        "the address is still the edit form's",
      )
      t.equal(
        await page.getByRole('form', { name: 'Edit endpoint Get orders' }).getByLabel('Entity').inputValue(),
        'Open orders',
        'what was typed is kept',
      )
      await page.waitForFunction(() => document.activeElement?.id === 'edit-endpoint-get_orders-name')
      t.pass('focus is on the field with the message')
      t.same(await accessibilityProblems(page), [], 'refused edit: no serious accessibility problems')
      await page.getByRole('link', { name: 'cancel' }).click()
      await page.waitForURL((url) => url.pathname === `/connectors/${shopify.id}/endpoints`)

      // Remove an endpoint: one click, then the message offers an undo.
      await page.getByRole('button', { name: 'remove endpoint Get customers' }).click()
      await page.getByText('Saved revision 2 of Shopify: removed endpoint Get customers.').waitFor()
      t.equal(new URL(page.url()).pathname, `/connectors/${shopify.id}/endpoints`, 'back on the endpoints step')
      t.equal(await page.getByRole('button', { name: 'remove endpoint Get customers' }).count(), 0, 'it is gone')
      t.same(
        await endpointKeys(),
        original.filter((k) => k !== 'get_customers'),
      )
      t.same(await accessibilityProblems(page), [], 'the message with its undo: no serious accessibility problems')
      if (mode.js) await screenshot(page, 'connector-wizard-undo')

      // Undo with the keyboard alone: Tab to it from the top of the page, Enter.
      await page.locator('body').focus()
      t.ok(await tabTo(page, /^undo \(removed endpoint Get customers\)$/), 'Tab reaches the undo button in the message')
      t.not(
        await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle),
        'none',
        'its focus is visible',
      )
      const [undone] = await Promise.all([
        page.waitForResponse(
          (r) =>
            r.request().method() === 'POST' &&
            new URL(r.url()).pathname === `/connectors/${shopify.id}/revisions/2/undo`,
        ),
        page.keyboard.press('Enter'),
      ])
      // Without JavaScript a 303; with it the form goes by htmx, and HX-Redirect must load the page again
      // (a URL differing only by its #fragment would only scroll, and the message would never show).
      if (mode.js)
        t.equal(undone.headers()['hx-redirect'], `/connectors/${shopify.id}/endpoints`, 'Enter submits the undo')
      else t.equal(undone.status(), 303, 'Enter submits the undo')
      await page.getByText('The endpoint Get customers is back in Shopify, saved as revision 3.').waitFor()
      t.match(await text(page, '#flash'), 'The endpoint Get customers is back in Shopify, saved as revision 3.')
      t.equal(await page.getByRole('button', { name: /^undo/ }).count(), 0, 'the undo is not offered again')
      t.ok(
        await page.getByRole('button', { name: 'remove endpoint Get customers' }).isVisible(),
        'the endpoint is listed again',
      )
      t.same(await endpointKeys(), original, 'back in its place')
      t.same(problems, [], 'no console errors or CSP violations')
    },
  )
}
