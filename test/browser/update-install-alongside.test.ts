// Help text: "updating a connector" that has been modified, choosing install: update available → the
// choice → install. The new version is a second connector, named so both can be told apart, and the
// landing page tells what is left to do. With and without JavaScript.
import t from 'tap'
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
} from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`update a modified connector by installing the new version alongside, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    const { connector } = await installWithInstance(world!, user, 'xero', 'Xero - UK')
    await addRefundsEndpoint(world!.database.db, user, connector.id)
    const version = await publishNextVersion(world!.database.db, 'xero', () => {}, 'Supports tracking categories.')
    const newName = `Xero ${version}`
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())

    // Step 1: log in and select process flows > connectors & instances.
    await logIn(page, user)
    await openManageConnectors(page)
    t.same(await accessibilityProblems(page), [], 'manage connectors: no serious accessibility problems')

    // Step 2: click update available.
    await page
      .getByRole('article', { name: 'Xero', exact: true })
      .getByRole('link', { name: 'update available' })
      .click()
    const choice = mode.js ? page.getByRole('dialog', { name: 'Update available for Xero' }) : page.getByRole('main')
    await choice.getByRole('heading', { name: 'Update available for Xero' }).waitFor()
    // Step 3: the connector was modified, so the admin chooses; install names the second connector.
    t.ok(await choice.getByText("If in doubt, don't overwrite!").isVisible(), "it warns: If in doubt, don't overwrite!")
    t.match(
      await choice.textContent(),
      `installed as a second connector, ${newName}, with no instances`,
      'install says what the new connector is called',
    )
    t.same(await accessibilityProblems(page), [], 'the choice: no serious accessibility problems')

    // Step 4: select install.
    await choice.getByRole('button', { name: 'install', exact: true }).click()

    // Step 5: the update is completed; the landing page tells what is left to do.
    await page.getByRole('heading', { level: 1, name: `${newName} is installed alongside Xero` }).waitFor()
    t.ok(
      await page
        .getByRole('status')
        .getByText(`${newName} is installed alongside Xero. Here is what is left to do.`)
        .isVisible(),
      'the flash says it is installed',
    )
    t.match(await page.getByRole('main').textContent(), /You now have two connectors on your manage connectors page/)
    await page.getByRole('heading', { level: 2, name: 'What is left to do' }).waitFor()
    const step = (name: string) =>
      page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name }) })
    t.match(
      await step('Apply your modifications to the new version').textContent(),
      'added endpoint Get refunds',
      'apply your modifications: the customisations of Xero are listed',
    )
    t.ok(
      await step('Apply your modifications to the new version')
        .getByRole('link', { name: `settings of ${newName}` })
        .isVisible(),
      'with a link to the settings of the new connector',
    )
    t.match(
      await step('Create new instances').textContent(),
      'Xero - UK',
      'create new instances: those of Xero are listed',
    )
    t.ok(
      await step('Create new instances')
        .getByRole('link', { name: `add new instance of ${newName}` })
        .isVisible(),
      'with a link to add one',
    )
    t.match(
      await step('Update the connection shapes of the affected process flows').textContent(),
      'No process flow uses an instance of Xero',
      'update connection shapes: none to update',
    )
    t.same(await accessibilityProblems(page), [], 'installed alongside: no serious accessibility problems')
    if (mode.js) await screenshot(page, 'installed-alongside')

    // You now have two connectors in your manage connectors list.
    await openManageConnectors(page)
    await page.getByText('2 connectors').waitFor()
    const existing = page.getByRole('article', { name: 'Xero', exact: true })
    const installed = page.getByRole('article', { name: newName, exact: true })
    t.match(await existing.textContent(), `version ${connector.version}`, 'Xero is on its old version')
    t.match(await existing.textContent(), 'modified by Ana Diaz', 'with its modifications')
    t.ok(await existing.getByRole('link', { name: 'settings for instance Xero - UK' }).isVisible(), 'and its instance')
    t.match(await installed.textContent(), `version ${version}`, `${newName} is on the new version`)
    t.notMatch(await installed.textContent(), 'modified by', 'not modified')
    t.match(await installed.textContent(), 'No instances.', 'with no instances')
    t.equal(await installed.getByRole('link', { name: 'update available' }).count(), 0, 'and no update available')
    t.same(await accessibilityProblems(page), [], 'manage connectors with both: no serious accessibility problems')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
