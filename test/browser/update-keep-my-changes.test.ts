// Help text: "updating a connector" that has been modified, choosing "update and keep my changes":
// update available → the choice (three cards) → resolve conflicts → the merge page, with each
// conflict side by side, mine or theirs → a submit that leaves one unanswered is refused beside it,
// keeping the answer given → answered with the keyboard alone → the connector is on the new version
// with the choices made and the changes that did not conflict kept. With and without JavaScript.
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import type { Actor } from '../../src/domain/actor.js'
import { saveDefinition } from '../../src/domain/revisions.js'
import { addFlow, connectorRow, publishNextVersion } from '../connector-fixtures.js'
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

/**
 * BigCommerce with an instance used by an enabled process flow. The team changed the URL of its
 * first endpoint, removed its second and added "Get refunds"; the vendor's next version changes
 * the same URL differently and renames the removed endpoint: two conflicts, one change that is not.
 */
async function conflictingBigCommerce(world: BrowserWorld, user: Actor) {
  const db = world.database.db
  const { connector, instance, definition } = await installWithInstance(
    world,
    user,
    'bigcommerce',
    'BigCommerce - UK store',
  )
  const [first, second] = definition.endpoints
  await addFlow(db, user, 'Orders sync', [{ instanceId: instance.id, endpointKey: first!.key }])
  const mine = structuredClone(definition)
  mine.endpoints[0]!.url = `${first!.url}&ours=1`
  mine.endpoints = mine.endpoints.filter((e) => e.key !== second!.key)
  mine.endpoints.push({ ...structuredClone(first!), key: 'get_refunds', name: 'Get refunds' })
  const row = await connectorRow(db, connector.id)
  await saveDefinition(db, user, { connectorId: connector.id, revision: row.revision, definition: mine })
  const version = await publishNextVersion(
    db,
    'bigcommerce',
    (d) => {
      d.endpoints.find((e) => e.key === first!.key)!.url = `${first!.url}&theirs=1`
      d.endpoints.find((e) => e.key === second!.key)!.name = `${second!.name} v2`
    },
    'Order lines carry tax details.',
  )
  return {
    connector,
    version,
    first: first!,
    second: second!,
    ourUrl: `${first!.url}&ours=1`,
    theirUrl: `${first!.url}&theirs=1`,
    theirName: `${second!.name} v2`,
  }
}

const isFocused = (locator: Locator) => locator.evaluate((el) => el === document.activeElement)
const focusedLabel = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null
    if (!el) return ''
    const text =
      el instanceof HTMLInputElement && el.labels?.[0]
        ? el.labels[0].textContent
        : (el.getAttribute('aria-label') ?? el.textContent)
    return (text ?? '').replace(/\s+/g, ' ').trim()
  })

for (const mode of world ? MODES : []) {
  t.test(`update a modified connector and keep my changes, resolving its conflicts, ${mode.label}`, async (t) => {
    const { user } = await world!.company()
    const fx = await conflictingBigCommerce(world!, user)
    const { connector, version } = fx
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    const card = page.getByRole('article', { name: 'BigCommerce', exact: true })

    // Step 1: log in and select process flows > connectors & instances.
    await logIn(page, user)
    await openManageConnectors(page)
    t.match(await card.textContent(), /modified by Ana Diaz/, 'the connector shows who modified it')

    // Step 2: click update available: the choice, in a dialog with JavaScript, a page without.
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

    // Step 3: three cards: overwrite, update and keep my changes (with its conflicts), install.
    for (const heading of ['Overwrite', 'Update and keep my changes', 'Install alongside']) {
      t.ok(
        await choice.getByRole('heading', { level: 3, name: heading, exact: true }).isVisible(),
        `a card: ${heading}`,
      )
    }
    t.ok(await choice.getByRole('button', { name: 'overwrite', exact: true }).isVisible(), 'an overwrite button')
    t.ok(await choice.getByRole('button', { name: 'install', exact: true }).isVisible(), 'an install button')
    const keepCard = choice
      .locator('.choice-card')
      .filter({ has: page.getByRole('heading', { name: 'Update and keep my changes' }) })
    t.match(
      (await keepCard.textContent())!.replace(/\s+/g, ' '),
      '2 conflicts: your team and the vendor changed the same thing differently; choose mine or theirs for each',
      'the middle card says how many conflicts there are',
    )
    const resolve = keepCard.getByRole('link', { name: 'resolve conflicts and update BigCommerce', exact: true })
    t.ok(await resolve.isVisible(), 'and links to resolve them')
    t.match(
      await choice
        .getByRole('region', { name: 'What overwrite loses: the customisations of BigCommerce' })
        .textContent(),
      'added endpoint Get refunds',
      'the customisations are listed',
    )
    t.same(await accessibilityProblems(page), [], 'the choice: no serious accessibility problems')

    // Step 4: select resolve conflicts: the merge page.
    await resolve.click()
    await page.waitForURL((url) => url.pathname === `/connectors/${connector.id}/merge`)
    await page.getByRole('heading', { level: 1, name: 'Update BigCommerce and keep my changes' }).waitFor()
    const conflicts = page.getByRole('region', { name: '2 conflicts to resolve' })
    t.ok(await conflicts.isVisible(), 'a region: 2 conflicts to resolve')
    t.equal(await conflicts.getByRole('group').count(), 2, 'one fieldset per conflict')
    const url = conflicts.getByRole('group', { name: `endpoint “${fx.first.name}”: URL`, exact: true })
    const removed = conflicts.getByRole('group', { name: `endpoint “${fx.second.name}”`, exact: true })
    const urlMine = url.getByRole('radio', { name: `mine: ${fx.ourUrl}`, exact: true })
    const urlTheirs = url.getByRole('radio', { name: `theirs (version ${version}): ${fx.theirUrl}`, exact: true })
    const removedMine = removed.getByRole('radio', { name: 'mine: removed', exact: true })
    const removedTheirs = removed.getByRole('radio', {
      name: `theirs (version ${version}): ${fx.theirName}: ${fx.second.method} ${fx.second.url}`,
    })

    // Each conflict side by side: both values visible, mine on the left, theirs on the right.
    for (const [group, mine, theirs, what] of [
      [url, urlMine, urlTheirs, 'the URL'],
      [removed, removedMine, removedTheirs, 'the removed endpoint'],
    ] as const) {
      t.ok((await mine.isVisible()) && (await theirs.isVisible()), `${what}: a radio for mine and one for theirs`)
      t.notOk((await mine.isChecked()) || (await theirs.isChecked()), `${what}: nothing is chosen for the admin`)
      const [left, right] = await Promise.all(
        (await group.locator('label').all()).map(async (label) => ({
          box: (await label.boundingBox())!,
          visible: await label.isVisible(),
        })),
      )
      t.ok(left!.visible && right!.visible, `${what}: both values are on screen`)
      t.ok(
        Math.abs(left!.box.y - right!.box.y) < 2 && left!.box.x + left!.box.width <= right!.box.x,
        `${what}: mine and theirs side by side`,
      )
    }
    t.ok(await url.getByText(fx.ourUrl, { exact: true }).isVisible(), 'our URL is shown in full')
    t.ok(await url.getByText(fx.theirUrl, { exact: true }).isVisible(), 'their URL is shown in full')
    t.ok(await url.getByText(fx.first.url, { exact: true }).isVisible(), 'and the URL both started from')
    t.ok(
      await removed.getByText('Your team removed this; the vendor changed it.').isVisible(),
      'the removal is explained',
    )
    const impact = page.getByRole('region', { name: 'What this touches' })
    t.match(
      (await impact.textContent())!.replace(/\s+/g, ' '),
      `Orders sync (enabled): shape 1 uses ${fx.first.name}`,
      'the instance and the process flow using it are listed',
    )
    t.same(await accessibilityProblems(page), [], 'the merge page: no serious accessibility problems')
    if (mode.js) await screenshot(page, 'update-keep-my-changes')

    // Step 5: answer one conflict only (mine for the removed endpoint) and apply: refused, beside the other.
    const kept = page.getByRole('region', { name: `Your changes kept on top of version ${version}` })
    await removedMine.check()
    if (mode.js) {
      await kept.getByText(`kept your removal of endpoint “${fx.second.name}”, which the new version changes`).waitFor()
      t.pass('with JavaScript, the preview of what is kept follows the choice')
    }
    const submit = page.getByRole('button', { name: 'update and keep my changes', exact: true })
    const [refused] = await Promise.all([
      page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/connectors/${connector.id}/merge`,
      ),
      submit.click(),
    ])
    t.equal(refused.status(), 422, 'an unanswered conflict is refused')
    await page.getByText('Choose mine or theirs for this conflict.').waitFor()
    t.equal(
      await page.getByText('Choose mine or theirs for this conflict.').count(),
      1,
      'one error: for the one conflict left unanswered',
    )
    const describedBy = await url.getAttribute('aria-describedby')
    t.ok(describedBy, 'the unanswered fieldset is described by its error')
    t.equal(
      (await page.locator(`#${describedBy}`).textContent())?.trim(),
      'Choose mine or theirs for this conflict.',
      'the error is beside it',
    )
    t.equal(await url.locator(`#${describedBy}`).count(), 1, 'inside the fieldset of the unanswered conflict')
    t.equal(await removed.getAttribute('aria-describedby'), null, 'the answered one has no error')
    t.ok(await removedMine.isChecked(), 'the answer given is kept')
    t.notOk((await urlMine.isChecked()) || (await urlTheirs.isChecked()), 'the unanswered one is still unanswered')
    t.equal((await connectorRow(world!.database.db, connector.id)).revision, 2, 'nothing is saved')
    t.same(await accessibilityProblems(page), [], 'the merge page with an error: no serious accessibility problems')

    // Step 6: with the keyboard alone: mine for the URL, theirs for the removed endpoint, then apply.
    t.ok(await isFocused(urlMine), 'focus is on the first unanswered conflict')
    await page.keyboard.press('Space')
    t.ok(await urlMine.isChecked(), 'Space chooses mine for the URL')
    if (mode.js) await kept.getByText(`kept your change to endpoint “${fx.first.name}”: URL`).waitFor()
    await page.keyboard.press('Tab')
    t.ok(await isFocused(removedMine), 'Tab moves to the chosen side of the next conflict')
    await page.keyboard.press('ArrowRight')
    t.ok(await isFocused(removedTheirs), 'the arrow key moves to theirs')
    t.ok(await removedTheirs.isChecked(), 'and chooses it')
    t.notOk(await removedMine.isChecked(), 'mine is no longer chosen')
    if (mode.js) {
      await kept.getByText(`kept your removal of endpoint “${fx.second.name}”`).waitFor({ state: 'detached' })
      t.ok(await isFocused(removedTheirs), 'the live preview does not move focus')
    }
    for (let i = 0; i < 40 && (await focusedLabel(page)) !== 'update and keep my changes'; i++)
      await page.keyboard.press('Tab')
    t.equal(await focusedLabel(page), 'update and keep my changes', 'the apply button is reachable with Tab')
    t.not(
      await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle),
      'none',
      'its focus is visible',
    )
    await page.keyboard.press('Enter')

    // Step 7: the update is completed: on the new version, the choices made and our other change kept.
    await page.waitForURL((u) => u.pathname === '/connectors')
    const status = page.getByRole('status')
    await status.getByText(`BigCommerce is updated from version ${connector.version} to version ${version}.`).waitFor()
    const flash = (await status.textContent())!.replace(/\s+/g, ' ')
    t.match(
      flash,
      `Your changes are kept: kept your change to endpoint “${fx.first.name}”: URL; kept your endpoint “Get refunds”.`,
      'the status message says which changes are kept',
    )
    t.match(flash, 'Its instance keeps working with it.', 'and that its instance keeps working')
    t.match(await card.textContent(), `version ${version}`, 'the connector is on the new version')
    t.equal(await card.getByRole('link', { name: 'update available' }).count(), 0, 'update available is gone')
    t.same(await accessibilityProblems(page), [], 'updated: no serious accessibility problems')

    const after = await connectorRow(world!.database.db, connector.id)
    const endpoint = (key: string) => after.definition.endpoints.find((e) => e.key === key)
    t.equal(after.revision, 3, 'one new revision')
    t.equal(endpoint(fx.first.key)?.url, fx.ourUrl, 'mine for the URL: our URL')
    t.equal(
      endpoint(fx.second.key)?.name,
      fx.theirName,
      'theirs for the removed endpoint: it is back, as the vendor changed it',
    )
    t.equal(endpoint('get_refunds')?.name, 'Get refunds', 'our added endpoint is kept')
    t.same(problems, [], 'no console errors or CSP violations')
  })
}
