// Help text: "reading the audit log": a read-only user opens settings > audit log, filters it by
// action and by dates (a wrong range is refused beside the field), reaches one connector's own log
// from its settings, and the revision behind "modified by". With and without JavaScript.
import t from 'tap'
import { addRefundsEndpoint } from '../connector-fixtures.js'
import {
  accessibilityProblems,
  installWithInstance,
  logIn,
  MODES,
  openPage,
  settled,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`read and filter the audit log, ${mode.label}`, async (t) => {
    const { id, user: admin } = await world!.company()
    const { connector } = await installWithInstance(world!, admin, 'shopify', 'Shopify - UK')
    await addRefundsEndpoint(world!.database.db, admin, connector.id)
    const reader = await world!.person(id, 'read-only', 'Rae Reader')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, reader)

    // settings > audit log: newest first.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'audit log' }).click()
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor()
    const rows = page.getByRole('table').locator('tbody tr')
    t.equal(await rows.count(), 3, 'install, add instance, modify')
    t.match(await rows.first().innerText(), /modify\s+changed Shopify \(revision 2\)/)
    t.same(await accessibilityProblems(page), [], 'audit log: no serious accessibility problems')

    // Filter by action. With JavaScript only the log is swapped (the page stays) and the address follows.
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true))
    await page.getByLabel('Action').selectOption('install')
    await page.getByRole('button', { name: 'filter' }).click()
    await page.waitForURL((url) => url.searchParams.get('action') === 'install')
    await settled(page)
    t.equal(await rows.count(), 1, 'only the install')
    t.match(await rows.first().innerText(), /install\s+installed Shopify/)
    const stayed = await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true)
    t.equal(stayed, mode.js, mode.js ? 'swapped in place' : 'a whole page')
    t.equal(await page.getByLabel('Action').inputValue(), 'install', 'the filter stays chosen')
    const download = page.getByRole('link', { name: 'download as CSV' })
    t.equal(
      await download.getAttribute('href'),
      '/settings/audit-log.csv?action=install',
      'the CSV has the same filter',
    )

    // A range that ends before it starts: refused beside the field, what was typed kept.
    await page.getByLabel('Action').selectOption('')
    await page.getByLabel('From').fill('2026-03-02')
    await page.getByLabel('To').fill('2026-03-01')
    await page.getByRole('button', { name: 'filter' }).click()
    const message = page.getByText('The end date must not be before the start date.')
    await message.waitFor()
    t.equal(await page.getByLabel('To').getAttribute('aria-describedby'), await message.getAttribute('id'))
    t.equal(await page.getByLabel('From').inputValue(), '2026-03-02')
    t.equal(await rows.count(), 0, 'no entries until the filter is right')

    // One connector's own log, from its settings; "modified by" opens the revision that did it.
    await page.goto(`/connectors/${connector.id}/settings`)
    await page.getByRole('link', { name: 'audit log of Shopify' }).click()
    await page.getByText('Showing the log of connector Shopify only.').waitFor()
    t.equal(await rows.count(), 2, 'install and modify of this connector')
    await page.getByRole('link', { name: /^revision 2/ }).click()
    await page.getByRole('heading', { level: 1, name: /Revision 2/ }).waitFor()
    await page.goto(`/connectors/${connector.id}/settings`)
    await page.getByRole('link', { name: /^modified by Ana Diaz on/ }).click()
    await page.waitForURL((url) => url.pathname === `/connectors/${connector.id}/revisions/2`)
    t.same(problems, [], 'no console errors')
  })
}
