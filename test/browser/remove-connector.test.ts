// Help text: "removing a connector": cog → settings → trash → type confirm; cancelled while the
// connector has instances. With and without JavaScript, and with the keyboard alone.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import {
  accessibilityProblems,
  installWithInstance,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  screenshot,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`remove a connector: blocked while it has instances, then removed, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    await installWithInstance(world!, user, 'xero', 'Xero - UK')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())

    // Step 1: log in and open manage connectors.
    await logIn(page, user)
    await openManageConnectors(page)
    // Step 2: click the settings cog of the connector.
    await page.getByRole('link', { name: 'settings for Xero' }).click()
    // Step 3: the connector wizard is displayed on the settings page; click the trash icon.
    await page.getByRole('heading', { level: 1, name: /Xero/ }).waitFor()
    t.same(await accessibilityProblems(page), [], 'settings page: no serious accessibility problems')
    await page.getByRole('link', { name: 'remove connector' }).click()
    // Step 4: when prompted, type confirm.
    const field = page.getByLabel('Type confirm to confirm that you wish to proceed')
    await field.waitFor()
    t.equal(
      mode.js ? new URL(page.url()).pathname.endsWith('/settings') : new URL(page.url()).pathname.endsWith('/delete'),
      true,
      mode.js ? 'the prompt is swapped into the settings page' : 'without JavaScript the prompt is a page of its own',
    )
    t.same(await accessibilityProblems(page), [], 'prompt: no serious accessibility problems')
    await field.fill('remove it')
    await page.getByRole('button', { name: 'remove connector' }).click()
    await page.getByText('Type the word confirm to remove this connector. Nothing was removed.').waitFor()
    await field.fill('confirm')
    await page.getByRole('button', { name: 'remove connector' }).click()
    // Step 5: instances found: the delete operation is cancelled, and they are listed.
    await page.getByRole('heading', { name: 'The delete operation is cancelled' }).waitFor()
    t.ok(await page.getByRole('link', { name: 'Xero - UK' }).isVisible(), 'the instance is listed with a link')
    if (mode.js) await screenshot(page, 'remove-connector-blocked')
    t.same(await accessibilityProblems(page), [], 'blocked: no serious accessibility problems')

    // Housekeeping: remove the instance (its cog → settings → trash → type confirm) ...
    await page.getByRole('link', { name: 'Xero - UK' }).click()
    await page.getByRole('link', { name: 'remove instance' }).click()
    await page.getByLabel('Type confirm to confirm that you wish to proceed').fill('confirm')
    await page.getByRole('button', { name: 'remove instance' }).click()
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByText('The instance Xero - UK was removed.').waitFor()
    // ... then remove the connector: it is removed immediately.
    await page.getByRole('link', { name: 'settings for Xero' }).click()
    await page.getByRole('link', { name: 'remove connector' }).click()
    await page.getByLabel('Type confirm to confirm that you wish to proceed').fill('confirm')
    await page.getByRole('button', { name: 'remove connector' }).click()
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByText('The connector Xero was removed.').waitFor()
    t.equal(await page.getByRole('link', { name: 'settings for Xero' }).count(), 0, 'gone from manage connectors')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}

if (world) {
  t.test('the type-confirm removal with the keyboard alone: Tab, Enter, typing, Escape', async (t) => {
    const { user } = await world.company()
    const [entry] = await world.database.db
      .select()
      .from(marketplaceConnectors)
      .where(eq(marketplaceConnectors.key, 'stripe'))
    const stripe = await installConnector(world.database.db, user, { marketplaceConnectorId: entry!.id })
    const { context, page, problems } = await openPage(world, true)
    t.teardown(() => context.close())
    await logIn(page, user)
    await page.goto(`/connectors/${stripe.id}/settings`)

    const focusName = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null
        return el ? (el.getAttribute('aria-label') ?? el.id ?? el.textContent?.trim() ?? '') : ''
      })
    // Tab until the trash icon has focus; it shows a visible focus style.
    for (let i = 0; i < 30 && (await focusName()) !== 'remove connector'; i++) await page.keyboard.press('Tab')
    t.equal(await focusName(), 'remove connector', 'the trash icon is reachable with Tab')
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)
    t.not(outline, 'none', 'focus is visible')

    await page.keyboard.press('Enter')
    await page.getByLabel('Type confirm to confirm that you wish to proceed').waitFor()
    await page.waitForFunction(() => document.activeElement?.id === 'confirm-text')
    t.equal(await focusName(), 'confirm-text', 'focus lands in the text field')
    await page.keyboard.press('Escape')
    await page.waitForFunction(() => !document.getElementById('confirm-removal'))
    t.equal(await focusName(), 'remove connector', 'Escape closes the prompt and focus returns to the trash icon')

    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.activeElement?.id === 'confirm-text')
    await page.keyboard.type('confirn')
    await page.keyboard.press('Enter')
    await page.getByText('Type the word confirm to remove this connector.').waitFor()
    await page.waitForFunction(() => document.activeElement?.id === 'confirm-text')
    t.equal(await focusName(), 'confirm-text', 'after a wrong word, focus is back in the field')
    await page.keyboard.press('Control+A')
    await page.keyboard.type('confirm')
    await page.keyboard.press('Enter')
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByText('The connector Stripe was removed.').waitFor()
    t.same(problems, [], 'no console errors')
  })
}
