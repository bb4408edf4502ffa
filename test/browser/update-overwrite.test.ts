// Help text: "updating a connector" that has been modified, choosing overwrite: update available →
// the choice ("If in doubt, don't overwrite!", the customisations, the release notes) → overwrite →
// the connector is on the new version and no longer modified. With and without JavaScript, and with
// the keyboard alone in the modal dialog.
import t from 'tap'
import type { Actor } from '../../src/domain/actor.js'
import { addRefundsEndpoint, publishNextVersion } from '../connector-fixtures.js'
import {
  accessibilityProblems,
  installWithInstance,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  screenshot,
  startBrowserWorld,
  type BrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

/** BigCommerce with an instance, modified by the team, and a newer version in the marketplace. */
async function modifiedBigCommerce(world: BrowserWorld, user: Actor) {
  const { connector } = await installWithInstance(world, user, 'bigcommerce', 'BigCommerce - UK store')
  await addRefundsEndpoint(world.database.db, user, connector.id)
  const version = await publishNextVersion(world.database.db, 'bigcommerce', () => {}, 'Faster catalogue sync.')
  return { connector, version }
}

for (const mode of world ? MODES : []) {
  t.test(`update a modified connector by overwriting it, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    const { connector, version } = await modifiedBigCommerce(world!, user)
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    const card = page.getByRole('article', { name: 'BigCommerce', exact: true })

    // Step 1: log in and select process flows > connectors & instances.
    await logIn(page, user)
    await openManageConnectors(page)
    t.match(await card.textContent(), /modified by Ana Diaz/, 'the connector shows who modified it')
    t.same(await accessibilityProblems(page), [], 'manage connectors: no serious accessibility problems')

    // Step 2: click update available.
    await card.getByRole('link', { name: 'update available' }).click()
    const choice = mode.js
      ? page.getByRole('dialog', { name: 'Update available for BigCommerce' })
      : page.getByRole('main')
    await choice.getByRole('heading', { name: 'Update available for BigCommerce' }).waitFor()
    t.equal(
      new URL(page.url()).pathname,
      mode.js ? '/connectors' : `/connectors/${connector.id}/update`,
      mode.js
        ? 'the choice opens in a dialog over manage connectors'
        : 'without JavaScript the choice is a page of its own',
    )
    if (!mode.js)
      t.ok(
        await page.getByRole('heading', { level: 1, name: 'Update BigCommerce' }).isVisible(),
        'the page is headed for the update',
      )

    // Step 3: the connector was modified: overwrite it or install the new version alongside.
    t.ok(await choice.getByText("If in doubt, don't overwrite!").isVisible(), "it warns: If in doubt, don't overwrite!")
    t.match(
      await choice
        .getByRole('region', { name: 'What overwrite loses: the customisations of BigCommerce' })
        .textContent(),
      'added endpoint Get refunds',
      'it lists the customisations that overwrite loses',
    )
    t.match(
      await choice.getByRole('region', { name: 'Release notes' }).textContent(),
      `Version ${version}`,
      'and the release notes of the new version',
    )
    t.match(await choice.getByRole('region', { name: 'Release notes' }).textContent(), 'Faster catalogue sync.')
    t.ok(await choice.getByRole('button', { name: 'overwrite', exact: true }).isVisible(), 'an overwrite button')
    t.ok(await choice.getByRole('button', { name: 'install', exact: true }).isVisible(), 'an install button')
    t.same(await accessibilityProblems(page), [], 'the choice: no serious accessibility problems')
    if (mode.js) await screenshot(page, 'update-choice')

    // Step 4: select overwrite.
    await choice.getByRole('button', { name: 'overwrite', exact: true }).click()

    // Step 5: the update is completed: the same connector on the new version, no longer modified.
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByRole('status').getByText(`BigCommerce is overwritten with version ${version}.`).waitFor()
    t.match(
      await page.getByRole('status').textContent(),
      'Its customisations are gone from it but kept in its revision history',
      'the flash says where the customisations went',
    )
    t.equal(await page.getByRole('article', { name: /BigCommerce/ }).count(), 1, 'still one BigCommerce connector')
    t.match(await card.textContent(), `version ${version}`, 'on the new version')
    t.notMatch(await card.textContent(), 'modified by', 'no longer modified')
    t.equal(
      await card.getByRole('link', { name: 'update available' }).count(),
      0,
      'the update available button is gone',
    )
    t.ok(
      await card.getByRole('link', { name: 'settings for instance BigCommerce - UK store' }).isVisible(),
      'its instance stays attached',
    )
    t.same(await accessibilityProblems(page), [], 'overwritten: no serious accessibility problems')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}

if (world) {
  t.test('the update choice with the keyboard alone: Tab, Enter and Escape', async (t) => {
    const { user } = await world.company()
    const { version } = await modifiedBigCommerce(world, user)
    const { context, page, problems } = await openPage(world, true)
    t.teardown(() => context.close())
    await logIn(page, user)
    await page.getByRole('heading', { level: 1, name: 'Manage connectors' }).waitFor()

    const focusName = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null
        return el ? (el.getAttribute('aria-label') ?? el.textContent ?? '').replace(/\s+/g, ' ').trim() : ''
      })
    const focusInDialog = () => page.evaluate(() => !!document.activeElement?.closest('dialog[open]'))
    const focusOutline = () => page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)
    const dialog = page.getByRole('dialog', { name: 'Update available for BigCommerce' })
    const opener = 'update available for BigCommerce'

    // Tab until update available has focus; it shows a visible focus style.
    for (let i = 0; i < 30 && (await focusName()) !== opener; i++) await page.keyboard.press('Tab')
    t.equal(await focusName(), opener, 'update available is reachable with Tab')
    t.not(await focusOutline(), 'none', 'its focus is visible')

    // Enter opens the choice in a modal dialog, and focus moves into it.
    await page.keyboard.press('Enter')
    await dialog.waitFor()
    await page.waitForFunction(() => !!document.activeElement?.closest('dialog[open]'))
    t.ok(await focusInDialog(), 'focus lands inside the dialog')
    t.equal(new URL(page.url()).pathname, '/connectors', 'the page stays')
    // Escape closes it, and focus returns to the button.
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    t.equal(await focusName(), opener, 'Escape closes the dialog and focus returns to update available')

    // Its close link does the same.
    await page.keyboard.press('Enter')
    await dialog.waitFor()
    await page.waitForFunction(() => !!document.activeElement?.closest('dialog[open]'))
    for (let i = 0; i < 30 && !/^close/.test(await focusName()); i++) await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await dialog.waitFor({ state: 'hidden' })
    t.equal(await focusName(), opener, 'close closes the dialog and focus returns to update available')

    // Open it again, Tab to overwrite and press Enter.
    await page.keyboard.press('Enter')
    await dialog.waitFor()
    await page.waitForFunction(() => !!document.activeElement?.closest('dialog[open]'))
    for (let i = 0; i < 30 && (await focusName()) !== 'overwrite'; i++) await page.keyboard.press('Tab')
    t.equal(await focusName(), 'overwrite', 'overwrite is reachable with Tab')
    t.ok(await focusInDialog(), 'Tab stays inside the dialog')
    t.not(await focusOutline(), 'none', 'its focus is visible')
    await page.keyboard.press('Enter')
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByRole('status').getByText(`BigCommerce is overwritten with version ${version}.`).waitFor()
    t.same(problems, [], 'no console errors')
  })
}
