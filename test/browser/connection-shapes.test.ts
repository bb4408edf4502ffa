// Add a connection shape to a process flow and reconfigure it, with and without JavaScript.
import t from 'tap'
import { instances } from '../../src/db/schema.js'
import {
  accessibilityProblems,
  installWithInstance,
  logIn,
  MODES,
  openPage,
  screenshot,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`add a connection shape and reconfigure it, ${mode.label}`, async (t) => {
    const { user } = await world!.company('user')
    const { definition: shopify } = await installWithInstance(world!, user, 'shopify', 'Shopify - UK')
    const xero = await installWithInstance(world!, user, 'xero', 'Xero - Main')
    await world!.database.db.insert(instances).values(
      Array.from({ length: 25 }, (_, i) => ({
        companyId: user.companyId,
        connectorId: xero.connector.id,
        name: `Xero - Store ${String(i).padStart(2, '0')}`,
        authMethodKey: xero.definition.authMethods[0]!.key,
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: 5,
        rateLimitUnit: 'minute',
        createdBy: user.id,
      })),
    )
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, user)
    const count = page.locator('#instance-count')
    /** Finds instances: as you type with JavaScript (the results swap, focus stays), else the search button. */
    const search = async (text: string) => {
      const box = page.getByRole('searchbox', { name: 'Find an instance' })
      if (mode.js) {
        await box.pressSequentially(text)
        await count
          .filter({ hasText: `match “${text}”` })
          .or(count.filter({ hasText: `matches “${text}”` }))
          .waitFor()
        t.ok(await box.evaluate((el) => el === document.activeElement), 'focus stays in the search box')
        t.equal(await count.getAttribute('role'), 'status', 'the count is announced')
        t.equal(new URL(page.url()).searchParams.get('q'), text, 'the address keeps the search')
      } else {
        await box.fill(text)
        await page.getByRole('button', { name: 'search', exact: true }).click()
        await page.waitForURL((url) => url.searchParams.get('q') === text)
      }
      t.match(await count.textContent(), `“${text}”`, `the count says what was searched: ${await count.textContent()}`)
    }

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'process flows' }).click()
    await page.getByRole('heading', { level: 1, name: 'Process flows' }).waitFor()
    await page.getByLabel('New process flow name').fill('Orders to Xero')
    await page.getByRole('button', { name: 'create process flow' }).click()
    await page.getByRole('heading', { level: 1, name: 'Orders to Xero' }).waitFor()

    await page.getByRole('link', { name: 'add connection shape' }).click()
    // A search, not a list of every instance: 25 more instances make two pages of results.
    t.match(await count.textContent(), '27 instances match, page 1 of 2.', 'twenty of 27 instances on the first page')
    // The next page: with JavaScript only the results swap and focus lands on them, never lost to the page.
    const next = page.getByRole('link', { name: 'next page of instances' })
    if (mode.js) {
      await next.focus()
      await page.keyboard.press('Enter')
    } else await next.click()
    await count.filter({ hasText: '27 instances match, page 2 of 2.' }).waitFor()
    t.equal(await page.getByRole('radio').count(), 7, 'the last seven on page 2')
    if (mode.js)
      t.equal(
        await page.evaluate(() => (document.activeElement as HTMLInputElement).type),
        'radio',
        'focus is on the first result of the page',
      )
    t.equal(new URL(page.url()).searchParams.get('page'), '2', 'the address says which page')
    await search('shop')
    const shopifyUk = page.getByRole('radio', { name: 'Shopify - UK (Shopify)' })
    if (mode.js) {
      // Tab from the search box, past its button, into the results; Space picks.
      await page.keyboard.press('Tab')
      await page.keyboard.press('Tab')
      t.ok(await shopifyUk.evaluate((el) => el === document.activeElement), 'Tab reaches the first result')
      await page.keyboard.press('Space')
    } else {
      await shopifyUk.check()
      await page.getByRole('button', { name: 'next step' }).click()
    }
    const endpoint = page.getByLabel('Endpoint of Shopify for Shopify - UK')
    await endpoint.waitFor()
    if (mode.js)
      t.equal(
        await page.getByRole('button', { name: 'next step' }).count(),
        0,
        'with JavaScript the endpoints load by themselves: no next step button',
      )
    t.same(await accessibilityProblems(page), [], 'shape form: no serious accessibility problems')
    const orders = shopify.endpoints[0]!
    await endpoint.selectOption(orders.key)
    await page.getByRole('button', { name: 'add connection shape' }).click()
    await page.getByText('The connection shape was added.').waitFor()
    t.ok(await page.getByText(orders.name).first().isVisible(), 'the shape shows its endpoint')

    // Reconfigure the shape to another instance: Xero has no such endpoint, so it is asked again.
    await page.getByRole('link', { name: 'reconfigure connection shape 1' }).click()
    await search('xero - m')
    t.ok(await shopifyUk.isChecked(), 'the instance the shape uses stays listed and checked whatever the search')
    const xeroMain = page.getByRole('radio', { name: 'Xero - Main (Xero)' })
    if (mode.js) {
      await page.keyboard.press('Tab')
      await page.keyboard.press('Tab')
      t.ok(await shopifyUk.evaluate((el) => el === document.activeElement), 'Tab reaches the checked instance')
      await page.keyboard.press('ArrowDown')
      t.ok(await xeroMain.isChecked(), 'an arrow key picks the next one')
    } else {
      await xeroMain.check()
      await page.getByRole('button', { name: 'next step' }).click()
    }
    const xeroEndpoint = page.getByLabel('Endpoint of Xero for Xero - Main')
    await xeroEndpoint.waitFor()
    t.equal(await xeroEndpoint.inputValue(), '', 'the endpoint is asked again')
    await xeroEndpoint.selectOption({ index: 1 })
    await page.getByRole('button', { name: 'save connection shape' }).click()
    await page.getByText('The connection shape was reconfigured.').waitFor()
    t.ok(await page.getByText('Xero - Main').first().isVisible())
    t.same(await accessibilityProblems(page), [], 'process flow: no serious accessibility problems')
    const reconfigure = (await page.getByRole('link', { name: 'reconfigure connection shape 1' }).boundingBox())!
    const remove = (await page.getByRole('button', { name: 'remove connection shape 1' }).boundingBox())!
    t.ok(
      Math.abs(reconfigure.height - remove.height) < 1 && Math.abs(reconfigure.y - remove.y) < 1,
      `reconfigure and remove are the same size, on one line (${JSON.stringify([reconfigure, remove])})`,
    )
    const toggle = (await page.getByRole('button', { name: /able process flow$/ }).boundingBox())!
    const nameLabel = (await page.getByText('Process flow name', { exact: true }).boundingBox())!
    t.ok(
      nameLabel.y - (toggle.y + toggle.height) >= 8,
      `the enable/disable button keeps its distance from the name label (${nameLabel.y - (toggle.y + toggle.height)}px)`,
    )
    if (mode.js) await screenshot(page, 'process-flow')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
