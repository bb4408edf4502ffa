// With JavaScript on: a refused form leaves the address as it was (never a POST-only address a
// reload would post again), every htmx swap puts focus on the new prompt or message, and messages
// are said by a live region that was in the page before they came. Keyboard only.
import t from 'tap'
import type { Page } from 'playwright-core'
import { startDraft } from '../../src/domain/builder.js'
import { createFlow } from '../../src/domain/flows.js'
import { installWithInstance, logIn, openPage, startBrowserWorld } from './harness.js'

const world = await startBrowserWorld(t)

/** What has focus, described: its tag, id, role and first words. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return 'body'
    const words = el.getAttribute('aria-label') ?? (el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 60)
    return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.getAttribute('role') ? `[role=${el.getAttribute('role')}]` : ''} ${words}`.trim()
  })
const path = (page: Page) => new URL(page.url()).pathname
/** POST forms that a browser would send itself: neither an htmx request of their own, nor boosted without pushing an address. */
const plainForms = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('form[method="post"]')]
      .filter(
        (f) =>
          !f.hasAttribute('data-hx-post') &&
          !(f.getAttribute('data-hx-boost') === 'true' && f.getAttribute('data-hx-push-url') === 'false'),
      )
      .map((f) => f.getAttribute('action')),
  )
/** Presses Tab until the focused element's description contains the words (as a keyboard user would). */
async function tabTo(page: Page, words: string | RegExp) {
  for (let i = 0; i < 80; i++) {
    const now = await focused(page)
    if (typeof words === 'string' ? now.includes(words) : words.test(now)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${words}`)
}

/**
 * Starts noting each text that arrives inside a live region already in the page ([role=alert],
 * [role=status], [aria-live]): what screen readers announce. Returns a check for some words.
 */
const listenToLiveRegions = async (page: Page) => {
  await page.evaluate(() => {
    const heard: string[] = []
    ;(window as unknown as { heard: string[] }).heard = heard
    new MutationObserver((records) => {
      for (const record of records) {
        const region =
          record.target instanceof Element ? record.target.closest('[role=alert], [role=status], [aria-live]') : null
        // Text added to a region that was there already; not a region arriving with its text.
        if (region && record.addedNodes.length)
          heard.push(
            [...record.addedNodes]
              .map((n) => n.textContent)
              .join(' ')
              .replace(/\s+/g, ' '),
          )
      }
    }).observe(document.body, { childList: true, subtree: true })
  })
  return (words: string) =>
    page.waitForFunction((w) => (window as unknown as { heard: string[] }).heard.some((h) => h.includes(w)), words)
}

if (world) {
  t.test('a refused form leaves the address as it was, for every form, with JavaScript on', async (t) => {
    const { user } = await world.company()
    const { connector } = await installWithInstance(world, user, 'xero', 'Xero - UK')
    const draft = await startDraft(world.database.db, user)
    const flow = await createFlow(world.database.db, user, { name: 'Orders to ERP' })
    const { context, page, problems } = await openPage(world, true)
    t.teardown(() => context.close())
    await logIn(page, user)

    // Every POST form on these screens is sent by htmx and never pushes an address.
    for (const url of [
      '/connectors',
      '/marketplace',
      `/connectors/${connector.id}/settings`,
      `/connectors/${connector.id}/delete`,
      `/builder/drafts/${draft.id}/basic-details`,
      `/builder/drafts/${draft.id}/endpoints`,
      `/process-flows/${flow.id}`,
      '/process-flows',
      '/settings/users',
    ]) {
      await page.goto(url)
      t.same(await plainForms(page), [], `${url}: every POST form is sent by htmx without changing the address`)
    }

    // The connector wizard's basic details, refused.
    await page.goto(`/connectors/${connector.id}/settings`)
    await page.locator('#details-name').fill('')
    await page.locator('#details-name').press('Enter')
    await page.getByText('Enter a name.').waitFor()
    t.equal(path(page), `/connectors/${connector.id}/settings`, 'the address is still the settings page')
    t.match(await focused(page), /^input#details-name/, 'focus is in the refused field')
    await page.reload()
    t.equal(
      await page.getByRole('heading', { level: 1 }).textContent(),
      'Settings for Xero',
      'a reload shows the page, nothing is posted again',
    )

    // The builder's "next step" with no authentication method yet.
    await page.goto(`/builder/drafts/${draft.id}/auth-methods`)
    await page.getByRole('button', { name: 'next step' }).press('Enter')
    await page.getByText('Add at least one authentication method.').waitFor()
    t.equal(path(page), `/builder/drafts/${draft.id}/auth-methods`, 'the address is still the step')
    t.ok(await page.getByRole('link', { name: /^help for this page/ }).isVisible(), 'the help link is still there')
    t.same(await plainForms(page), [], 'the forms swapped in are sent by htmx too')

    // A process flow renamed to nothing; a user added without a name; the removal page's wrong word.
    await page.goto(`/process-flows/${flow.id}`)
    await page.getByLabel('Process flow name').fill('')
    await page.getByLabel('Process flow name').press('Enter')
    await page.getByText('Enter a name for the process flow.').waitFor()
    t.equal(path(page), `/process-flows/${flow.id}`)
    await page.goto('/settings/users')
    await page.getByLabel('Name', { exact: true }).press('Enter')
    await page.getByText("Enter the person's name.").waitFor()
    t.equal(path(page), '/settings/users')
    await page.goto(`/connectors/${connector.id}/delete`)
    await page.getByLabel('Type confirm to confirm that you wish to proceed').fill('nope')
    await page.getByLabel('Type confirm to confirm that you wish to proceed').press('Enter')
    await page.getByText('Type the word confirm to remove this connector.').waitFor()
    t.equal(path(page), `/connectors/${connector.id}/delete`)
    t.equal(await page.getByRole('heading', { level: 1 }).count(), 1, 'the removal page keeps its one h1')
    t.same(problems, [], 'no console errors')
  })

  t.test('after every htmx swap focus is on the new prompt or message, and messages are announced', async (t) => {
    const { user } = await world.company()
    const { connector } = await installWithInstance(world, user, 'xero', 'Xero - UK')
    const draft = await startDraft(world.database.db, user)
    const { context, page, problems } = await openPage(world, true)
    t.teardown(() => context.close())
    await logIn(page, user)

    // The trash icon of a connector with instances: focus in the confirm box, not on an instance link.
    await page.goto(`/connectors/${connector.id}/settings`)
    let announced = await listenToLiveRegions(page)
    await tabTo(page, 'remove connector')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.activeElement?.id === 'confirm-text')
    t.match(await focused(page), /^input#confirm-text/, 'focus is in the confirm box')
    await page.keyboard.type('confirm')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'The delete operation is cancelled' }).waitFor()
    await page.waitForFunction(
      () =>
        document.activeElement?.getAttribute('role') === 'alert' && document.activeElement.textContent!.trim() !== '',
    )
    t.match(
      await focused(page),
      /^div\[role=alert\] Connector Xero was not removed/,
      'focus is on the message, not the page body',
    )
    await announced('was not removed: it still has instances')
    t.pass('the message is announced by the live region that was there before it')

    // A refused builder step, a refused item, an added item.
    await page.goto(`/builder/drafts/${draft.id}/auth-methods`)
    announced = await listenToLiveRegions(page)
    await tabTo(page, /^button next step/)
    await page.keyboard.press('Enter')
    await page.getByText('Add at least one authentication method.').waitFor()
    await page.waitForFunction(
      () =>
        document.activeElement?.getAttribute('role') === 'alert' && document.activeElement.textContent!.trim() !== '',
    )
    t.match(await focused(page), /\[role=alert\] Add at least one authentication method\./, 'focus is on the message')
    await announced('Add at least one authentication method.')
    await tabTo(page, /^input#add-authMethod-name/)
    await page.keyboard.type('API key')
    await page.keyboard.press('Enter')
    await page.getByText('Enter a key, e.g. api_key.').waitFor()
    t.match(await focused(page), /^input#add-authMethod-key/, 'focus is in the refused field')
    await page.keyboard.type('api_key')
    await page.keyboard.press('Enter')
    await page.getByText('API key').first().waitFor()
    await page.waitForFunction(() => document.activeElement !== document.body)
    t.notMatch(await focused(page), /^body$/, `after adding, focus is on the step again: ${await focused(page)}`)
    t.same(await plainForms(page), [], 'the forms of the new step are sent by htmx too')

    // Choosing another authentication method swaps its fields in; focus stays on the choice.
    const klaviyo = await installWithInstance(world, user, 'klaviyo', 'Klaviyo - EU')
    await page.goto(`/instances/${klaviyo.instance.id}/settings`)
    await tabTo(page, /^select#choose-method/)
    const swapped = page.waitForResponse(
      (r) =>
        new URL(r.url()).pathname === `/instances/${klaviyo.instance.id}/settings` &&
        r.request().headers()['hx-request'] === 'true',
    )
    await page.keyboard.press('ArrowDown')
    await swapped
    await page.getByText(/Saving switches this instance to/).waitFor()
    t.match(await focused(page), /^select#choose-method/, 'focus is back on the choice it replaced')

    t.same(problems, [], 'no console errors')
  })
}
