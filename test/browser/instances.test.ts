// Add, change and remove an instance, with and without JavaScript.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { INSTANCES_SHOWN } from '../../src/domain/connectors.js'
import { createInstance } from '../../src/domain/instances.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { testConfig } from '../helpers.js'
import {
  accessibilityProblems,
  installWithInstance,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  screenshot,
  settled,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`add, change and remove an instance, ${mode.label}`, async (t) => {
    const { user } = await world!.company('user')
    const [entry] = await world!.database.db
      .select()
      .from(marketplaceConnectors)
      .where(eq(marketplaceConnectors.key, 'shopify'))
    await installConnector(
      world!.database.db,
      { ...user, role: 'administrator' },
      { marketplaceConnectorId: entry!.id },
    )
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, user)
    await openManageConnectors(page)

    // add new instance → name → next step → settings → next step → method → next step → credentials → save
    await page.getByRole('link', { name: 'add new instance of Shopify' }).click()
    await page.getByText('Step 1 of 4').waitFor()
    t.same(await accessibilityProblems(page), [], 'wizard: no serious accessibility problems')
    await page.getByRole('button', { name: 'next step' }).click()
    await page.getByText('Enter a name for this instance').waitFor()
    // The refused step is swapped in: let htmx finish with it before the next click (under load a
    // click on a button htmx has not processed yet was lost, and "Step 2 of 4" never came).
    await settled(page)
    t.equal(
      await page.getByLabel('Instance name').getAttribute('aria-invalid'),
      'true',
      'the error is tied to the field',
    )
    await page.getByLabel('Instance name').fill('Shopify - UK')
    await page.getByRole('button', { name: 'next step' }).click()
    await page.getByText('Step 2 of 4').waitFor()
    t.equal(await page.getByLabel('Time zone').inputValue(), 'UTC', 'UTC is preselected')
    const amountBox = (await page.getByLabel('Rate limit (requests)').boundingBox())!
    const perBox = (await page.getByLabel('per', { exact: true }).boundingBox())!
    t.ok(perBox.width < 200, `the "per" select is as wide as its choices (${perBox.width}px), not the page`)
    t.ok(perBox.x - (amountBox.x + amountBox.width) < 40, 'and sits beside the number it qualifies')
    await page.getByLabel('Time zone').selectOption('Europe/London')
    await page.getByLabel('Rate limit (requests)').fill('40')
    await page.getByRole('button', { name: 'next step' }).click()
    await page.getByText('Step 3 of 4').waitFor()
    await page.getByRole('radio').first().check()
    await page.getByRole('button', { name: 'next step' }).click()
    await page.getByText('Step 4 of 4').waitFor()
    t.same(await accessibilityProblems(page), [], 'credentials step: no serious accessibility problems')
    if (mode.js) await screenshot(page, 'add-instance-credentials')
    for (const input of await page.locator('input[name^="auth."], input[name^="var."]').all()) {
      await input.fill(
        (await input.getAttribute('type')) === 'password' ? 'shpat_secret_value' : 'uk-store.myshopify.com',
      )
    }
    await page.getByRole('button', { name: 'save' }).click()
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByText('Instance Shopify - UK of Shopify was added.').waitFor()
    t.ok(await page.getByText('used by 0 process flows').isVisible())
    t.notOk((await page.content()).includes('shpat_secret_value'), 'the secret is not on the page')

    // change: its cog → instance settings
    await page.getByRole('link', { name: 'settings for instance Shopify - UK' }).click()
    await page.getByRole('heading', { level: 1, name: 'Instance settings for Shopify - UK' }).waitFor()
    t.same(await accessibilityProblems(page), [], 'instance settings: no serious accessibility problems')
    t.notOk((await page.content()).includes('shpat_secret_value'), 'secrets are never shown back')
    await page.getByLabel('Instance name').fill('Shopify - United Kingdom')
    await page.getByRole('button', { name: 'save details' }).click()
    await page.getByText('The details of instance Shopify - United Kingdom were saved.').waitFor()
    await page.getByRole('button', { name: 'save authentication' }).click()
    await page.getByText('The authentication of instance Shopify - United Kingdom was saved.').waitFor()

    // remove: trash → type confirm
    await page.getByRole('link', { name: 'remove instance' }).click()
    await page.getByLabel('Type confirm to confirm that you wish to proceed').fill('confirm')
    await page.getByRole('button', { name: 'remove instance' }).click()
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page.getByText('The instance Shopify - United Kingdom was removed.').waitFor()
    t.equal(await page.getByRole('link', { name: /settings for instance/ }).count(), 0)
    t.same(problems, [], 'no console errors or CSP violations')
  })
}

for (const mode of world ? MODES : []) {
  t.test(`a connector's instances beyond the first ${INSTANCES_SHOWN} are one link away, ${mode.label}`, async (t) => {
    const { user } = await world!.company('administrator')
    const { connector, definition } = await installWithInstance(world!, user, 'xero', 'Xero - AU')
    const method = definition.authMethods[0]!
    const values = Object.fromEntries([
      ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
      ...definition.variables.map((v) => [`var.${v.key}`, 'x']),
    ])
    for (const name of ['Xero - CA', 'Xero - DE', 'Xero - FR', 'Xero - UK']) {
      await createInstance(world!.database.db, user, new SecretBox(testConfig().encryptionKey), {
        connectorId: connector.id,
        name,
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: '5',
        rateLimitUnit: 'minute',
        authMethod: method.key,
        values,
      })
    }
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, user)
    await openManageConnectors(page)
    const cogs = page.getByRole('link', { name: /^settings for instance Xero/ })
    t.equal(await cogs.count(), INSTANCES_SHOWN)
    await page.getByRole('link', { name: 'show all 5 instances of Xero' }).focus()
    await page.keyboard.press('Enter')
    if (mode.js) {
      await page.getByRole('link', { name: 'settings for instance Xero - UK' }).waitFor()
      t.equal(new URL(page.url()).pathname, '/connectors', 'the list opens in place')
      t.equal(await cogs.count(), 5)
      t.equal(
        await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
        'settings for instance Xero - FR',
        'focus on the first instance added',
      )
    } else {
      await page.getByRole('heading', { level: 1, name: 'Instances of Xero' }).waitFor()
      t.equal(await cogs.count(), 5)
      t.same(await accessibilityProblems(page), [], 'the instances page: no serious accessibility problems')
    }
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
