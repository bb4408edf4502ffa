// Add a connection shape to a process flow and reconfigure it, with and without JavaScript.
import t from 'tap'
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
    await installWithInstance(world!, user, 'xero', 'Xero - Main')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, user)

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'process flows' }).click()
    await page.getByRole('heading', { level: 1, name: 'Process flows' }).waitFor()
    await page.getByLabel('New process flow name').fill('Orders to Xero')
    await page.getByRole('button', { name: 'create process flow' }).click()
    await page.getByRole('heading', { level: 1, name: 'Orders to Xero' }).waitFor()

    await page.getByRole('link', { name: 'add connection shape' }).click()
    await page.getByLabel('Instance').selectOption({ label: 'Shopify - UK' })
    if (!mode.js) await page.getByRole('button', { name: 'next step' }).click()
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
    await page.getByLabel('Instance').selectOption({ label: 'Xero - Main' })
    if (!mode.js) await page.getByRole('button', { name: 'next step' }).click()
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
