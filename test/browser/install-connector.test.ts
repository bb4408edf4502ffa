// Help text: "installing a prebuilt connector", step by step, with and without JavaScript.
import t from 'tap'
import {
  accessibilityProblems,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  screenshot,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`install a prebuilt connector from the marketplace, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())

    // Step 1: log in to the dashboard.
    await page.goto('/login')
    t.same(await accessibilityProblems(page), [], 'login page: no serious accessibility problems')
    await logIn(page, user)
    // Step 2: select process flows > connectors & instances.
    await openManageConnectors(page)
    t.same(await accessibilityProblems(page), [], 'manage connectors: no serious accessibility problems')
    // Step 3: click the add new connector button: the marketplace is displayed.
    await page.getByRole('link', { name: 'add new connector' }).click()
    await page.getByRole('heading', { level: 1, name: 'Marketplace' }).waitFor()
    t.same(await accessibilityProblems(page), [], 'marketplace: no serious accessibility problems')
    if (!mode.js) await screenshot(page, 'marketplace')

    // Step 4: browse or search the marketplace to find the required connector.
    await page
      .getByRole('navigation', { name: 'Browse by system type' })
      .getByRole('link', { name: 'eCommerce' })
      .click()
    await page.getByText(/\d+ connectors in eCommerce/).waitFor()
    t.ok(await page.getByRole('heading', { name: 'Shopify' }).isVisible(), 'browsing eCommerce shows Shopify')
    t.notOk(await page.getByRole('heading', { name: 'Xero' }).isVisible(), 'and not Xero')
    await page.goto('/marketplace')
    await page.getByLabel('Search the marketplace').fill('shopify')
    if (mode.js) {
      // Results update as you type (debounced), and the address follows.
      await page.getByText('1 connector matching “shopify”').waitFor()
      await page.waitForURL(/q=shopify/)
    } else {
      await page.getByRole('button', { name: 'search' }).click()
      await page.getByText('1 connector matching “shopify”').waitFor()
    }

    // Step 5: click the associated install button.
    await page.getByRole('button', { name: 'install Shopify' }).click()
    // Step 6: the connector installs and is available on the manage connectors page.
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page
      .getByRole('status')
      .getByText(/Shopify \(version [\d.]+\) is installed/)
      .waitFor()
    const card = page.locator('li.connector', { has: page.getByRole('heading', { name: 'Shopify', exact: true }) })
    t.ok(await card.isVisible(), 'Shopify is on manage connectors')
    t.match(await card.textContent(), /prebuilt/)
    t.ok(await card.getByRole('link', { name: 'settings for Shopify' }).isVisible(), 'with its settings cog')
    t.ok(await card.getByRole('link', { name: 'add new instance of Shopify' }).isVisible(), 'ready for instances')
    if (mode.js) await screenshot(page, 'manage-connectors')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
