// Help text, "updating a connector", in Chromium: the update available button opens the choice in
// a modal (focus moves in, Escape closes it, focus returns); without JavaScript it is a full page.
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { setup, PASSWORD } from '../helpers.js'
import { connectorRow, install, publishNextVersion } from '../connector-fixtures.js'
import { saveDefinition } from '../../src/domain/revisions.js'

const CHROMIUM = '/usr/bin/chromium'
if (!existsSync(CHROMIUM)) {
  t.test('updating a connector in Chromium', { skip: 'Chromium is not installed' }, async () => {})
} else {
  const ctx = await setup(t)
  const admin = ctx.company.users.administrator
  const bigcommerce = await install(ctx.db, admin, 'bigcommerce')
  const row = await connectorRow(ctx.db, bigcommerce.id)
  await saveDefinition(ctx.db, admin, {
    connectorId: bigcommerce.id, revision: row.revision,
    definition: { ...row.definition, endpoints: [...row.definition.endpoints, { ...row.definition.endpoints[0]!, key: 'get_refunds', name: 'Get refunds' }] },
  })
  const version = await publishNextVersion(ctx.db, 'bigcommerce')
  const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())

  async function signedInPage(javaScriptEnabled: boolean): Promise<Page> {
    const page = await (await browser.newContext({ javaScriptEnabled })).newPage()
    await page.goto(`${base}/login`)
    await page.fill('#field-email', admin.email)
    await page.fill('#field-password', PASSWORD)
    await page.click('button[type=submit].primary')
    await page.waitForURL(`${base}/connectors`)
    return page
  }

  t.test('with JavaScript: a modal that keyboard users can open, read and close', async (t) => {
    const page = await signedInPage(true)
    const button = page.locator(`#connector-${bigcommerce.id} a.update-available`)
    await button.focus()
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => (document.getElementById('modal') as HTMLDialogElement).open)
    t.equal(page.url(), `${base}/connectors`, 'the page stays')
    t.equal(await page.locator('#modal-title').textContent(), `Update available for ${bigcommerce.name}`)
    t.ok(await page.evaluate(() => document.getElementById('modal')!.contains(document.activeElement)), 'focus moved into the dialog')
    t.same(await page.locator('#modal button[type=submit]').allTextContents(), ['overwrite', 'install'])
    t.match(await page.locator('#modal').innerText(), "If in doubt, don't overwrite!")
    await page.keyboard.press('Escape')
    await page.waitForFunction(() => !(document.getElementById('modal') as HTMLDialogElement).open)
    t.ok(await page.evaluate(() => document.activeElement?.classList.contains('update-available')), 'focus returned to the button')

    await button.click()
    await page.waitForFunction(() => (document.getElementById('modal') as HTMLDialogElement).open)
    await page.click('#modal [data-closes-dialog]')
    t.notOk(await page.evaluate(() => (document.getElementById('modal') as HTMLDialogElement).open), 'the close button closes it')

    await button.click()
    await page.waitForFunction(() => (document.getElementById('modal') as HTMLDialogElement).open)
    await page.click('#modal button:text-is("install")')
    await page.waitForURL(/\/installed-alongside\//)
    t.match(await page.locator('h1').textContent(), `BigCommerce ${version} is installed alongside ${bigcommerce.name}`)
  })

  t.test('without JavaScript: the same choice as a full page', async (t) => {
    const page = await signedInPage(false)
    await page.click(`#connector-${bigcommerce.id} a.update-available`)
    await page.waitForURL(`${base}/connectors/${bigcommerce.id}/update`)
    t.equal(await page.locator('h1').textContent(), `Update ${bigcommerce.name}`)
    t.same(await page.locator('main button[type=submit]').allTextContents(), ['overwrite', 'install'])
    await page.click('main button:text-is("overwrite")')
    await page.waitForURL(/\/connectors\?page=/)
    t.match(await page.locator('.flash').textContent(), `${bigcommerce.name} is overwritten with version ${version}.`)
  })
}
