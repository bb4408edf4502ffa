// Help text: "managing people": an administrator deactivates a person, whose open session is signed
// out at its next click; anybody changes their own password on their account page. With and
// without JavaScript.
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { PASSWORD } from '../helpers.js'
import { accessibilityProblems, logIn, MODES, openPage, startBrowserWorld } from './harness.js'

const world = await startBrowserWorld(t)

async function logInAs(page: Page, email: string, password: string) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'sign in' }).click()
}

/**
 * A new company's administrator signed in on one page, a second person (`role`, `name`) of the same
 * company, and a second page for them, both with or without JavaScript.
 */
async function adminAndPerson(t: Test, js: boolean, role: 'user' | 'manager', name: string) {
  const { id, user: admin } = await world!.company()
  const person = await world!.person(id, role, name)
  const a = await openPage(world!, js)
  const b = await openPage(world!, js)
  t.teardown(() => Promise.all([a.context.close(), b.context.close()]))
  await logIn(a.page, admin)
  return { a, b, person }
}

for (const mode of world ? MODES : []) {
  t.test(`deactivate a person: their open session is signed out at its next click, ${mode.label}`, async (t) => {
    const { a, b, person: bo } = await adminAndPerson(t, mode.js, 'user', 'Bo Chen')
    await logInAs(b.page, bo.email, PASSWORD)
    await b.page.waitForURL((url) => url.pathname === '/connectors')

    // The administrator: settings > users, deactivate in Bo's row.
    await a.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'users' }).click()
    await a.page.getByRole('heading', { level: 1, name: 'Users' }).waitFor()
    await a.page.getByRole('button', { name: 'deactivate Bo Chen' }).click()
    await a.page.getByText('Bo Chen is deactivated: their sessions have ended and they cannot sign in.').waitFor()
    t.ok(await a.page.getByRole('button', { name: 'reactivate Bo Chen' }).isVisible(), 'reactivate is offered')
    t.same(await accessibilityProblems(a.page), [], 'users page: no serious accessibility problems')

    // Bo, still on the page they had open: the next click (an htmx request with JavaScript, a plain
    // GET without) leads to sign-in.
    await b.page.getByLabel('Filter connectors by name').fill('xero')
    await b.page.getByRole('button', { name: 'filter' }).click()
    await b.page.waitForURL((url) => url.pathname === '/login')
    t.equal(new URL(b.page.url()).searchParams.get('next')?.startsWith('/connectors'), true, 'back there after sign-in')
    await b.page.getByRole('button', { name: 'sign in' }).waitFor()
    await logInAs(b.page, bo.email, PASSWORD)
    await b.page.getByText('That email and password do not match an account.').waitFor()
    t.equal(new URL(b.page.url()).pathname, '/login', 'they cannot sign in again')

    // Reactivated (with the keyboard), they can.
    await a.page.getByRole('button', { name: 'reactivate Bo Chen' }).focus()
    await a.page.keyboard.press('Enter')
    await a.page.getByText('Bo Chen is active again and can sign in as user.').waitFor()
    await logInAs(b.page, bo.email, PASSWORD)
    await b.page.waitForURL((url) => url.pathname === '/connectors')
    t.same([...a.problems, ...b.problems], [], 'no console errors')
  })

  t.test(`change your own password from your account, ${mode.label}`, async (t) => {
    const { user } = await world!.company('read-only')
    const { context, page, problems } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await logIn(page, user)
    // Your name at the top of the page opens your account.
    await page.getByRole('link', { name: `${user.name} · read-only` }).click()
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor()
    t.ok(await page.getByText('(this device)').isVisible(), 'this device is marked')
    t.same(await accessibilityProblems(page), [], 'account page: no serious accessibility problems')

    await page.getByLabel('Current password').fill('not my password')
    await page.getByLabel('New password', { exact: true }).fill('a new password of mine')
    await page.getByLabel('New password again').fill('a new password of mine')
    await page.getByRole('button', { name: 'change password' }).click()
    const current = page.getByLabel('Current password')
    await page.getByText('That is not your current password.').waitFor()
    t.equal(await current.getAttribute('aria-invalid'), 'true', 'the message is beside the field')

    await current.fill(PASSWORD)
    await page.getByLabel('New password', { exact: true }).fill('a new password of mine')
    await page.getByLabel('New password again').fill('a new password of mine')
    await page.getByRole('button', { name: 'change password' }).click()
    await page.getByText('Your password is changed.').waitFor()

    await page.getByRole('button', { name: 'sign out', exact: true }).click()
    await page.waitForURL((url) => url.pathname === '/login')
    await logInAs(page, user.email, PASSWORD)
    await page.getByText('That email and password do not match an account.').waitFor()
    await logInAs(page, user.email, 'a new password of mine')
    await page.waitForURL((url) => url.pathname === '/connectors')
    t.same(problems, [], 'no console errors')
  })
}

for (const mode of world ? MODES : []) {
  t.test(`reset a password: shown once; the person chooses their own at next sign-in, ${mode.label}`, async (t) => {
    const { a, b: c, person: cy } = await adminAndPerson(t, mode.js, 'manager', 'Cy Park')
    await a.page.goto('/settings/users')
    await a.page.getByRole('link', { name: 'reset password of Cy Park' }).click()
    await a.page.getByRole('heading', { level: 1, name: 'Reset the password of Cy Park?' }).waitFor()
    await a.page.getByRole('button', { name: 'reset password' }).click()
    await a.page.getByRole('heading', { level: 1, name: 'New password for Cy Park' }).waitFor()
    const password = (await a.page.locator('#generated-password').textContent())!.trim()
    t.match(password, /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/, 'a readable generated password')
    t.same(await accessibilityProblems(a.page), [], 'the password page: no serious accessibility problems')

    await logInAs(c.page, cy.email, password)
    await c.page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor()
    await c.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'process flows' }).click()
    await c.page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor()
    t.equal(new URL(c.page.url()).pathname, '/account/new-password', 'every page leads here until it is done')
    await c.page.getByLabel('New password', { exact: true }).fill('cy chose this one')
    await c.page.getByLabel('New password again').fill('cy chose this one')
    await c.page.getByRole('button', { name: 'save new password' }).click()
    await c.page.getByText('Your new password is saved.').waitFor()
    await c.page.getByRole('heading', { level: 1, name: 'Manage connectors' }).waitFor()
    t.same([...a.problems, ...c.problems], [], 'no console errors')
  })
}
