// Help text: "building a custom connector", end to end, with and without JavaScript.
import t from 'tap'
import { accessibilityProblems, logIn, MODES, openPage, screenshot, startBrowserWorld } from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`build a custom connector end to end, ${mode.label}`, async (t) => {
    const { user } = await world!.company('manager')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, user)

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'connector builder' }).click()
    await page.getByRole('heading', { level: 1, name: 'Connector builder' }).waitFor()
    await page.getByRole('button', { name: 'build a new connector' }).click()
    await page.getByRole('heading', { name: /Step 1 of 5: Basic details/ }).waitFor()
    t.same(await accessibilityProblems(page), [], 'basic details: no serious accessibility problems')
    await page.getByRole('button', { name: 'next step' }).click()
    await page.getByText('Enter a name.').first().waitFor()
    await page.getByLabel('Name', { exact: true }).fill('Acme WMS')
    await page.getByLabel('Version').fill('Version 1 - 28th July 2023')
    await page.getByLabel('Description').fill('Orders and stock from our own warehouse system.')
    await page.getByLabel('System type').selectOption('WMS')
    await page.getByLabel('Base URL').fill('https://wms.acme.test/api')
    await page.getByLabel('Default date format').fill('Y-m-d')
    await page.getByRole('button', { name: 'next step' }).click()

    await page.getByRole('heading', { name: /Step 2 of 5: Variables/ }).waitFor()
    await page.getByLabel('Key', { exact: true }).fill('warehouse')
    await page.getByLabel('Label', { exact: true }).fill('Warehouse code')
    await page.getByRole('button', { name: 'add variable' }).click()
    await page.getByText('Warehouse code').first().waitFor()
    await page.getByRole('button', { name: 'next step' }).click()

    await page.getByRole('heading', { name: /Step 3 of 5: Authentication methods/ }).waitFor()
    const steps = page.getByRole('navigation', { name: 'Connector builder steps' })
    const styleOf = (name: string) =>
      steps.getByRole('link', { name }).evaluate((a) => {
        const style = getComputedStyle(a)
        return { weight: style.fontWeight, border: style.borderBottomColor, current: a.getAttribute('aria-current') }
      })
    const [current, other] = [await styleOf('3. Authentication methods'), await styleOf('4. Endpoints')]
    t.equal(current.current, 'step', 'the current step is marked for assistive technology')
    t.ok(
      current.weight !== other.weight && current.border !== other.border,
      `and stands out on screen (${JSON.stringify([current, other])})`,
    )
    const addBox = (await page.getByRole('button', { name: 'add authentication method' }).boundingBox())!
    const nextBox = (await page.getByRole('button', { name: 'next step' }).boundingBox())!
    t.ok(
      nextBox.y - (addBox.y + addBox.height) >= 12,
      `"add authentication method" and "next step" do not touch (${nextBox.y - (addBox.y + addBox.height)}px apart)`,
    )
    t.equal(await page.locator('button.primary:visible').count(), 1, 'one primary button: next step')
    await page.getByRole('button', { name: 'next step' }).click()
    await page.getByText('Add at least one authentication method.').waitFor()
    await page.getByLabel('Key', { exact: true }).fill('api_key')
    await page.getByLabel('Name', { exact: true }).fill('API key')
    await page.getByLabel('Type').selectOption('token')
    // One blank field row; "add another field" adds one (a fragment with JavaScript, the page again without).
    t.equal(await page.getByLabel(/^Field \d+: key$/).count(), 1, 'one blank field row')
    await page.getByLabel('Field 1: key').fill('token')
    await page.getByLabel('Field 1: label').fill('API token')
    await page.getByRole('button', { name: 'add another field' }).click()
    await page.getByLabel('Field 2: key').waitFor()
    t.equal(await page.getByLabel('Field 1: key').inputValue(), 'token', 'the typed row is kept')
    t.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'API key', 'and the rest of the form')
    t.equal(
      await page.evaluate(() => document.activeElement?.id),
      'add-authMethod-field-1-key',
      'focus is on the new row',
    )
    await page.getByLabel('Field 2: key').fill('account')
    await page.getByLabel('Field 2: label').fill('Account')
    // Filled in but not added: next step adds it rather than dropping it.
    await page.getByRole('button', { name: 'next step' }).click()
    await page.getByText('The authentication method API key you typed was added.').waitFor()
    await page.getByRole('link', { name: '3. Authentication methods' }).click()
    await page.getByText('API key').first().waitFor()
    t.match(
      await page.getByRole('listitem').filter({ hasText: 'api_key' }).textContent(),
      'API key',
      'the method is on its step',
    )
    await page.getByRole('button', { name: 'next step' }).click()

    await page.getByRole('heading', { name: /Step 4 of 5: Endpoints/ }).waitFor()
    await page.getByLabel('Key', { exact: true }).fill('get_orders')
    await page.getByLabel('Name', { exact: true }).fill('Get orders')
    await page.getByLabel('Entity').fill('Orders')
    await page.getByLabel('URL', { exact: true }).fill('/orders?warehouse={{nowhere}}')
    await page.getByRole('button', { name: 'add endpoint' }).click()
    await page.getByText('{{nowhere}} is not a variable').first().waitFor()
    t.equal(
      await page.getByLabel('URL', { exact: true }).inputValue(),
      '/orders?warehouse={{nowhere}}',
      'the typed URL is kept',
    )
    await page.getByLabel('URL', { exact: true }).fill('/orders?warehouse={{warehouse}}')
    await page.getByRole('button', { name: 'add endpoint' }).click()
    await page.getByRole('button', { name: 'clone endpoint Get orders' }).click()
    await page.getByText('Get orders (copy)', { exact: true }).waitFor()
    t.same(await accessibilityProblems(page), [], 'endpoints: no serious accessibility problems')
    if (mode.js) await screenshot(page, 'builder-endpoints')
    await page.getByRole('button', { name: 'next step' }).click()

    await page.getByRole('heading', { name: /Step 5 of 5: Complete/ }).waitFor()
    await page.getByRole('button', { name: 'complete' }).click()
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByText('Acme WMS is built and installed.').waitFor()
    const card = page.locator('li.connector', { has: page.getByRole('heading', { name: 'Acme WMS', exact: true }) })
    t.match(await card.textContent(), /custom/)
    t.equal(await card.getByRole('link', { name: 'update available' }).count(), 0, 'never update available')
    t.ok(await card.getByRole('link', { name: 'add new instance of Acme WMS' }).isVisible(), 'ready for instances')
    await page.goto('/marketplace?q=acme')
    await page.getByText('WMS · your company').waitFor()
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
