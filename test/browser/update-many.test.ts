// Help page "updating many connectors at once": manage connectors → N updates available → choose all
// matching the filter → preview → confirm → the batch runs in chunks by itself (the page follows it
// with JavaScript; without, its refresh link shows how far it has got) → undo. With the keyboard
// alone, with and without JavaScript.
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import { marketplaceConnectors } from '../../src/db/schema.js'
import { eq } from 'drizzle-orm'
import { installConnector } from '../../src/domain/connector-install.js'
import { UPDATE_CHUNK } from '../../src/domain/update-batches.js'
import { addRefundsEndpoint, publishNextVersion } from '../connector-fixtures.js'
import {
  accessibilityProblems,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  settled,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

/** Presses Tab until `target` has focus; false if it never does (a target not on the page fails at once, with its name). */
async function tabTo(page: Page, target: Locator): Promise<boolean> {
  await target.waitFor()
  for (let i = 0; i < 200; i++) {
    if (await target.evaluate((el) => el === document.activeElement, undefined, { timeout: 1000 }).catch(() => false))
      return true
    await page.keyboard.press('Tab')
  }
  return false
}

const COPIES = UPDATE_CHUNK + 2

for (const mode of world ? MODES : []) {
  t.test(`update many connectors at once and undo it, keyboard only, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    const db = world!.database.db
    const [xero] = await db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, 'xero'))
    const installed = []
    for (let i = 0; i < COPIES; i++)
      installed.push(await installConnector(db, user, { marketplaceConnectorId: xero!.id }))
    await addRefundsEndpoint(db, user, installed[1]!.id)
    const version = await publishNextVersion(db, 'xero', () => {}, 'Faster invoices.')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())

    await logIn(page, user)
    await openManageConnectors(page)
    const link = page.getByRole('link', { name: `${COPIES} updates available` })
    t.ok(await tabTo(page, link), 'Tab reaches the updates available link')
    await page.keyboard.press('Enter')
    await page.waitForURL((url) => url.pathname === '/connectors/updates')
    await page.getByRole('heading', { level: 1, name: 'Updates available' }).waitFor()
    const main = page.getByRole('main')
    t.match(await main.textContent(), `${COPIES - 1} not modified, 1 modified`)
    t.match(await main.textContent(), 'Faster invoices.', 'a line of the release notes')
    t.same(await accessibilityProblems(page), [], 'the updates screen: no serious accessibility problems')

    // Filter by name (Enter submits the filter; htmx swaps the list in place).
    const filter = page.getByLabel('Filter by name')
    t.ok(await tabTo(page, filter), 'Tab reaches the name filter')
    await page.keyboard.type('Xero')
    await page.keyboard.press('Enter')
    await settled(page)
    await main.getByText(`${COPIES} connectors with an update available matching this filter`).waitFor()

    // All matching this filter, across both pages.
    const all = page.getByLabel(`all ${COPIES} matching this filter (every page)`)
    t.ok(await tabTo(page, all), 'Tab reaches "all matching this filter"')
    await page.keyboard.press('Space')
    t.ok(await all.isChecked(), 'Space ticks it')
    t.ok(await tabTo(page, page.getByRole('button', { name: 'preview update', exact: true })), 'Tab reaches preview')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { level: 1, name: 'Preview: update' }).waitFor()
    const preview = await main.textContent()
    t.match(preview, `${COPIES - 1} connectors are updated in place; 1 is left as it is.`)
    t.match(preview, 'never overwritten in bulk', 'the modified one is left as it is, and says why')
    t.same(await accessibilityProblems(page), [], 'the preview: no serious accessibility problems')

    const confirm = page.getByRole('button', { name: `update ${COPIES - 1} connectors` })
    t.ok(await tabTo(page, confirm), 'Tab reaches the confirm button')
    await page.keyboard.press('Enter')
    await page.waitForURL((url) => url.pathname.startsWith('/connectors/updates/batches/'))
    const status = page.getByRole('status').filter({ hasText: /done/i })
    const done = status.filter({ hasText: `Done: ${COPIES - 1} updated, 0 skipped.` })
    if (mode.js) {
      // The page asks for the progress every second until the batch is done, then stops asking.
      t.match(await status.textContent(), new RegExp(`\\d+ of ${COPIES - 1} done`), 'the batch is running')
      await done.waitFor()
      let asked = 0
      const count = (request: { url(): string }) => {
        if (new URL(request.url()).pathname.startsWith('/connectors/updates/batches/')) asked++
      }
      page.on('request', count)
      await page.waitForTimeout(2500)
      page.off('request', count)
      t.equal(asked, 0, 'once done, the page stops asking for progress')
    } else {
      // Nothing to press: the batch runs by itself; refresh shows how far it has got.
      let refreshes = 0
      while (!(await done.isVisible()) && refreshes++ < 60) {
        t.match(await status.textContent(), new RegExp(`\\d+ of ${COPIES - 1} done`), 'how far it has got')
        const refresh = page.getByRole('link', { name: 'refresh', exact: true })
        if (refreshes === 1) t.ok(await tabTo(page, refresh), 'Tab reaches refresh')
        else await refresh.focus()
        await page.keyboard.press('Enter')
        await page.waitForLoadState('load')
        await page.waitForTimeout(200)
      }
      await done.waitFor()
    }
    t.match((await main.innerText()).replace(/\s+/g, ' '), `${installed[0]!.version} → ${version} updated`)
    t.same(await accessibilityProblems(page), [], 'the batch page: no serious accessibility problems')

    const undo = page.getByRole('button', { name: 'undo' })
    t.ok(await tabTo(page, undo), 'Tab reaches undo')
    await page.keyboard.press('Enter')
    await page.getByText(`Undone: ${COPIES - 1} connectors back to the revision before the bulk update.`).waitFor()
    t.match(await main.textContent(), 'This bulk update was undone by Ana Diaz')

    await openManageConnectors(page)
    t.ok(
      await page.getByRole('link', { name: `${COPIES} updates available` }).isVisible(),
      'the updates are pending again',
    )
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
