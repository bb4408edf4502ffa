// Two people change the same instance: the second save is refused (409) with what is saved now shown
// beside what they entered, nothing overwritten; with JavaScript the form is swapped in place, without
// it the whole page comes back. Saving again from the refreshed form works.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { instances } from '../../src/db/schema.js'
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
  t.test(`a stale save of instance settings is refused with both versions shown, ${mode.label}`, async (t) => {
    const { id: companyId, user } = await world!.company('user')
    const colleague = await world!.person(companyId, 'manager', 'Ben Okafor')
    const { instance } = await installWithInstance(world!, user, 'shopify', 'Shopify - UK')
    const mine = await openPage(world!, mode.js)
    const theirs = await openPage(world!, mode.js)
    t.teardown(() => Promise.all([mine.context.close(), theirs.context.close()]))
    await logIn(mine.page, user)
    await logIn(theirs.page, colleague)
    for (const { page } of [mine, theirs]) await page.goto(`/instances/${instance.id}/settings`)

    await theirs.page.getByLabel('Instance name').fill('Shopify - Great Britain')
    await theirs.page.getByRole('button', { name: 'save details' }).click()
    await theirs.page.getByText('The details of instance Shopify - Great Britain were saved.').waitFor()

    await mine.page.getByLabel('Time zone').selectOption('Europe/London')
    await mine.page.getByRole('button', { name: 'save details' }).click()
    const conflict = mine.page
      .getByRole('alert')
      .filter({ hasText: 'Ben Okafor saved a change to this instance meanwhile. Your details were not saved.' })
    await conflict.waitFor()
    await settled(mine.page)
    t.equal(await mine.page.getByLabel('Time zone').inputValue(), 'Europe/London', 'what I chose is kept')
    t.equal(await mine.page.getByLabel('Instance name').inputValue(), 'Shopify - UK', 'what I had in the form is kept')
    t.ok(
      await mine.page.getByText('Saved now: Shopify - Great Britain').isVisible(),
      'what is saved now, beside the field',
    )
    t.equal(
      await mine.page.getByLabel('Instance name').getAttribute('aria-describedby'),
      'field-name-hint',
      'tied to the field',
    )
    const heading = await mine.page.getByRole('heading', { level: 1 }).textContent()
    t.equal(
      heading,
      mode.js ? 'Instance settings for Shopify - UK' : 'Instance settings for Shopify - Great Britain',
      mode.js ? 'with JavaScript only the form was swapped' : 'without JavaScript the whole page came back',
    )
    t.same(await accessibilityProblems(mine.page), [], 'the refused form: no serious accessibility problems')
    const [stored] = await world!.database.db.select().from(instances).where(eq(instances.id, instance.id))
    t.same([stored!.name, stored!.timeZone], ['Shopify - Great Britain', 'UTC'], 'their change was not overwritten')

    await mine.page.getByLabel('Instance name').fill('Shopify - Great Britain')
    await mine.page.getByRole('button', { name: 'save details' }).click()
    await mine.page.getByText('The details of instance Shopify - Great Britain were saved.').waitFor()
    const [after] = await world!.database.db.select().from(instances).where(eq(instances.id, instance.id))
    t.same(
      [after!.name, after!.timeZone],
      ['Shopify - Great Britain', 'Europe/London'],
      'saved again from the refreshed form',
    )
    t.same([...mine.problems, ...theirs.problems], [], 'no console errors')
  })
}
