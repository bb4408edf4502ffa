// Browser tests: the real app on a free port against the test database, driven in Debian's
// Chromium by playwright-core. Without Chromium they skip locally and fail in CI.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { eq } from 'drizzle-orm'
import { buildApp } from '../../src/app.js'
import { connectors, marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { createInstance } from '../../src/domain/instances.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { createCompany, createUser } from '../../src/domain/users.js'
import type { Actor } from '../../src/domain/actor.js'
import type { Role } from '../../src/domain/enums.js'
import type { Database } from '../../src/db/client.js'
import { catalogueDatabase, PASSWORD, testConfig } from '../helpers.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOTS = path.join(import.meta.dirname, '..', '..', 'test-results', 'screenshots')

interface Tap {
  teardown(fn: () => unknown): void
  test(name: string, options: { skip: string }, fn: () => void): unknown
  fail(message: string): unknown
}

export interface BrowserWorld {
  baseUrl: string
  browser: Browser
  database: Database
  /** A new company with one user of the given role; its own data, so runs do not meet. */
  company(role?: Role): Promise<{ id: string; user: Actor }>
  /** Another person of the company (password PASSWORD, address from their first name). */
  person(companyId: string, role: Role, name: string): Promise<Actor>
}

/** Starts the app and Chromium for one test file, or returns null when Chromium is missing outside CI. */
export async function startBrowserWorld(t: Tap): Promise<BrowserWorld | null> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) t.fail(`Chromium is missing at ${CHROMIUM}: CI must install it (see .ci/run)`)
    else t.test('browser flows', { skip: `Chromium is missing at ${CHROMIUM} (apt-get install chromium)` }, () => {})
    return null
  }
  const database = await catalogueDatabase(t)
  // Bulk updates run in the background as on a server, resting a second between chunks so that a
  // page can be seen to follow one.
  const app = await buildApp({ config: testConfig(), database, runBatches: true, batchPauseMs: 1000 })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  })
  t.teardown(() => browser.close())
  let count = 0
  return {
    baseUrl: address,
    browser,
    database,
    async company(role: Role = 'administrator') {
      const slug = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}${count++}`
      const company = await createCompany(database.db, `Company ${slug}`)
      const user = await createUser(database.db, {
        companyId: company.id,
        role,
        name: 'Ana Diaz',
        email: `ana-${slug}@example.test`,
        password: PASSWORD,
      })
      return { id: company.id, user }
    },
    person: (companyId, role, name) =>
      createUser(database.db, {
        companyId,
        role,
        name,
        email: `${name.split(' ')[0]!.toLowerCase()}-${companyId.slice(0, 8)}@example.test`,
        password: PASSWORD,
      }),
  }
}

/** Arranges what the help text assumes was done before: a catalogue connector installed, with one instance. */
export async function installWithInstance(world: BrowserWorld, user: Actor, key: string, instanceName: string) {
  const db = world.database.db
  const admin: Actor = { ...user, role: 'administrator' }
  const [entry] = await db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, key))
  const connector = await installConnector(db, admin, { marketplaceConnectorId: entry!.id })
  const [row] = await db.select().from(connectors).where(eq(connectors.id, connector.id))
  const method = row!.definition.authMethods[0]!
  const instance = await createInstance(db, admin, new SecretBox(testConfig().encryptionKey), {
    connectorId: connector.id,
    name: instanceName,
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'minute',
    authMethod: method.key,
    values: Object.fromEntries([
      ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
      ...row!.definition.variables.map((v) => [`var.${v.key}`, 'x']),
    ]),
  })
  return { connector, instance, definition: row!.definition }
}

const javaScriptOn = new WeakMap<Page, boolean>()

/** A browser window for one run: JavaScript on or off, console errors and CSP violations collected. */
export async function openPage(
  world: BrowserWorld,
  javaScriptEnabled: boolean,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await world.browser.newContext({
    javaScriptEnabled,
    baseURL: world.baseUrl,
    viewport: { width: 1280, height: 900 },
  })
  context.setDefaultTimeout(8000)
  const page = await context.newPage()
  javaScriptOn.set(page, javaScriptEnabled)
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    // 4xx answers to forms are expected (422 re-renders, 409 blocked removals); anything else is a problem.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text()))
      problems.push(`console: ${message.text()}`)
  })
  return { context, page, problems }
}

/** Step 1 of every help page: log in to the dashboard. */
export async function logIn(page: Page, user: Actor): Promise<void> {
  await page.goto('/login')
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'sign in' }).click()
  await page.waitForURL((url) => url.pathname === '/connectors')
}

/** Step 2: select process flows > connectors & instances. */
export async function openManageConnectors(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'connectors & instances' }).click()
  await page.waitForURL((url) => url.pathname === '/connectors')
  await page.getByRole('heading', { level: 1, name: 'Manage connectors' }).waitFor()
}

/**
 * Accessibility: no serious or critical axe violations on what is on screen now. axe runs as
 * JavaScript, so for a page without JavaScript the HTML on screen is checked in a twin window at the
 * same address (loading the address again would show something else after a form's POST).
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const html = await page.content()
  const key = screenKey(html)
  let problems = checkedScreens.get(key)
  if (!problems) checkedScreens.set(key, (problems = await axeProblems(page, html)))
  return problems
}

/**
 * Screens this file has checked, by their HTML: axe's verdict depends only on the document (the
 * viewport and styles are the same), so a screen shown again, most often the same screen without
 * JavaScript, is not checked twice (each check takes 0.2–0.7 s).
 */
const checkedScreens = new Map<string, string[]>()

/**
 * The HTML without what differs between renders and is not seen: hidden inputs (CSRF tokens,
 * one-time keys), ids, and the htmx attributes app.js adds when JavaScript runs.
 */
export function screenKey(html: string): string {
  return html
    .replace(/<input type="hidden"[^>]*>| data-(?:hx|htmx)-[a-z-]+="[^"]*"/g, '')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '')
}

/** axe-core, evaluated in the page it checks (what @axe-core/playwright does, without injecting it again at every check). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

type AxeViolation = { id: string; impact?: string | null; help: string; nodes: { target: unknown[] }[] }

async function axeProblems(page: Page, html: string): Promise<string[]> {
  const target = javaScriptOn.get(page) ? page : await twinShowing(page, html)
  if (!(await target.evaluate(() => 'axe' in window))) await target.evaluate(AXE_SOURCE)
  // Only the violations are collected: what passed is not wanted, and collecting it is half of axe's time.
  const violations = await target.evaluate(() =>
    (
      window as unknown as {
        axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> }
      }
    ).axe
      .run(document, { resultTypes: ['violations'] })
      .then((r) => r.violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes })) as AxeViolation[]),
  )
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    )
}

/**
 * One window per browser, JavaScript on (axe is JavaScript) but the app's scripts refused, that shows
 * the HTML a window without JavaScript has on screen, at its address (so its styles load the same).
 */
const twins = new WeakMap<Browser, Promise<{ page: Page; html: { now: string } }>>()

async function twinShowing(page: Page, html: string): Promise<Page> {
  const browser = page.context().browser()!
  let twin = twins.get(browser)
  if (!twin) {
    twin = (async () => {
      const context = await browser.newContext({ viewport: page.viewportSize() })
      const shown = { now: '' }
      const twinPage = await context.newPage()
      await twinPage.route('**/*', (route) => {
        const request = route.request()
        if (request.isNavigationRequest())
          return route.fulfill({
            body: shown.now,
            contentType: 'text/html; charset=utf-8',
            // No script of the page runs, inline or not, as without JavaScript; axe is run by the test driver.
            headers: { 'content-security-policy': "script-src 'none'" },
          })
        return request.resourceType() === 'script' ? route.abort() : route.fallback()
      })
      return { page: twinPage, html: shown }
    })()
    twins.set(browser, twin)
  }
  const { page: twinPage, html: shown } = await twin
  shown.now = html
  await twinPage.goto(page.url())
  return twinPage
}

/** Saves a screenshot of the screen into test-results/screenshots (ignored by git). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** Waits until navigation or an htmx swap has settled. */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('load')
  await page
    .waitForFunction(() => !document.querySelector('.htmx-request'), undefined, { timeout: 5000 })
    .catch(() => {})
}

export const MODES = [
  { js: true, label: 'with JavaScript' },
  { js: false, label: 'without JavaScript' },
] as const
