// Help text: "updating a connector" that has not been modified: update available → update. It is
// updated in place, the button goes, its instances keep working. With and without JavaScript.
import t from 'tap'
import { publishNextVersion } from '../connector-fixtures.js'
import {
  accessibilityProblems,
  installWithInstance,
  logIn,
  MODES,
  openManageConnectors,
  openPage,
  startBrowserWorld,
} from './harness.js'

const world = await startBrowserWorld(t)

for (const mode of world ? MODES : []) {
  t.test(`update a connector that has not been modified, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    const { connector } = await installWithInstance(world!, user, 'hubspot', 'HubSpot - Sales')
    const version = await publishNextVersion(world!.database.db, 'hubspot', () => {}, 'Adds the deals pipeline stages.')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    const card = page.getByRole('article', { name: 'HubSpot', exact: true })

    // Step 1: log in and select process flows > connectors & instances.
    await logIn(page, user)
    await openManageConnectors(page)
    t.match(await card.textContent(), `version ${connector.version}`, 'the connector is on its installed version')
    t.same(await accessibilityProblems(page), [], 'manage connectors: no serious accessibility problems')

    // Step 2: the connector has a pending update: click update available.
    await card.getByRole('link', { name: 'update available' }).click()
    const choice = mode.js ? page.getByRole('dialog', { name: 'Update available for HubSpot' }) : page.getByRole('main')
    await choice.getByRole('heading', { name: 'Update available for HubSpot' }).waitFor()
    t.equal(
      new URL(page.url()).pathname,
      mode.js ? '/connectors' : `/connectors/${connector.id}/update`,
      mode.js
        ? 'the update opens in a dialog over manage connectors'
        : 'without JavaScript the update is a page of its own',
    )
    t.match(
      await choice.textContent(),
      'has not been modified, so it is updated in place: its instances keep working with it',
      'it says the connector is updated in place',
    )
    t.match(
      await choice.getByRole('region', { name: 'Release notes' }).textContent(),
      'Adds the deals pipeline stages.',
      'with the release notes',
    )
    t.equal(
      await choice.getByRole('button', { name: 'overwrite' }).count(),
      0,
      'not modified: no overwrite or install choice',
    )
    t.same(await accessibilityProblems(page), [], 'update: no serious accessibility problems')

    // It updates in place: the same connector, on the new version, without the button.
    await choice.getByRole('button', { name: 'update', exact: true }).click()
    await page.waitForURL((url) => url.pathname === '/connectors')
    await page
      .getByRole('status')
      .getByText(
        `HubSpot is updated from version ${connector.version} to version ${version}. Its instance keeps working with it.`,
      )
      .waitFor()
    t.equal(
      await page.getByRole('article', { name: /HubSpot/ }).count(),
      1,
      'still one HubSpot connector: updated in place',
    )
    t.match(await card.textContent(), `version ${version}`, 'on the new version')
    t.equal(
      await card.getByRole('link', { name: 'update available' }).count(),
      0,
      'the update available button is gone',
    )
    t.ok(
      await card.getByRole('link', { name: 'settings for instance HubSpot - Sales' }).isVisible(),
      'its instance is still listed under it',
    )
    t.same(await accessibilityProblems(page), [], 'updated: no serious accessibility problems')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
