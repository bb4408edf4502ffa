// Help and screens cannot drift apart: every button or prompt a help page names in bold exists on
// the screen its step links to, every live link opens, every screen's help link has a page.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { marketplaceConnectors } from '../../src/db/schema.js'
import Fastify from 'fastify'
import { HELP_PAGES, helpPage, requireKnownHelp, type HelpSlug } from '../../src/help/pages.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { addShape } from '../../src/domain/connection-shapes.js'
import { saveDefinition } from '../../src/domain/revisions.js'
import { connectorRow, install, publishNextVersion } from '../connector-fixtures.js'
import { setup, signedIn, textOf } from '../helpers.js'
import { buildWorld, fillRouteVariants } from '../world.js'

const ctx = await setup(t)
const world = await buildWorld(ctx, ctx.company)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)
// A custom connector too, so "custom" shows on manage connectors.
const [custom] = await ctx.db
  .select()
  .from(marketplaceConnectors)
  .where(eq(marketplaceConnectors.id, world.customMarketplaceId))
await installConnector(ctx.db, ctx.company.users.administrator, { marketplaceConnectorId: custom!.id })
// A second shape, so the flow shows move up and move down.
await addShape(ctx.db, ctx.company.users.administrator, {
  flowId: world.flowId,
  instanceId: world.instanceId,
  endpointKey: world.endpointKey,
  version: 2,
})

// Connectors with an update waiting: one as installed, one modified since.
const updatable = await install(ctx.db, ctx.company.users.administrator, 'shopify')
const modified = await install(ctx.db, ctx.company.users.administrator, 'bigcommerce')
const modifiedRow = await connectorRow(ctx.db, modified.id)
await saveDefinition(ctx.db, ctx.company.users.administrator, {
  connectorId: modified.id,
  revision: modifiedRow.revision,
  summary: 'added endpoint Get refunds',
  definition: {
    ...modifiedRow.definition,
    endpoints: [
      ...modifiedRow.definition.endpoints,
      { ...modifiedRow.definition.endpoints[0]!, key: 'get_refunds', name: 'Get refunds' },
    ],
  },
})
await publishNextVersion(ctx.db, 'shopify')
await publishNextVersion(ctx.db, 'bigcommerce')

const ids: Record<string, string> = {
  connectorId: world.connectorId,
  instanceId: world.instanceId,
  flowId: world.flowId,
  shapeId: world.shapeId,
  draftId: world.draftId,
  userId: world.userId,
  updatableConnectorId: updatable.id,
  modifiedConnectorId: modified.id,
}
const screens = new Map<string, string>()

/** What a user can read or hear on a screen: its text and the accessible names of its controls. */
async function screen(template: string): Promise<string> {
  const url = template.replace(/:(\w+)/g, (_, name: string) => ids[name] ?? `missing-${name}`)
  if (!screens.has(url)) {
    const response = await admin.get(url)
    if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}`)
    const labels = [...response.body.matchAll(/aria-label="([^"]+)"/g)].map((m) => m[1]).join(' | ')
    screens.set(url, `${textOf(response.body)} | ${labels}`)
  }
  return screens.get(url)!
}

const decode = (html: string) => textOf(html)

for (const page of HELP_PAGES) {
  t.test(`help page "${page.title}" names only what its screens show`, async (t) => {
    const response = await admin.get(`/help/${page.slug}`)
    t.equal(response.statusCode, 200)
    const steps = [...response.body.matchAll(/<li data-screen="([^"]+)">([\s\S]*?)<\/li>/g)]
    t.ok(steps.length >= 3, `${steps.length} numbered steps`)
    for (const [, template, html] of steps) {
      const text = await screen(template!)
      for (const [, bold] of html!.matchAll(/<strong>([\s\S]*?)<\/strong>/g)) {
        t.ok(text.includes(decode(bold!)), `"${decode(bold!)}" is on ${template}`)
      }
      for (const [, href] of html!.matchAll(/<a class="live-link" href="([^"]+)"/g)) {
        t.equal((await admin.get(href!)).statusCode, 200, `live link ${href} opens`)
      }
    }
  })
}

t.test('every route names a help page that exists, and every page it shows links to it', async (t) => {
  const withHelp = ctx.app.routeTable.filter((r) => r.help)
  t.ok(withHelp.length > 40, `${withHelp.length} routes name a help page`)
  for (const route of withHelp)
    t.ok(helpPage(route.help!), `${route.method} ${route.url}: "${route.help}" is a help page`)
  for (const route of withHelp.filter((r) => r.method === 'GET')) {
    for (const url of fillRouteVariants(route, world)) {
      // Whatever it answers (the world fills some addresses with ids of other things, a 404 or 409).
      const response = await admin.get(url)
      t.match(
        response.body,
        `<a class="help-link" href="/help/${route.help}" target="help" rel="help">help`,
        `GET ${url} links to its help`,
      )
    }
  }
})

t.test('the screens with no help page of their own are only these', async (t) => {
  const without = ctx.app.routeTable
    .filter((r) => r.method === 'GET' && !r.help)
    .map((r) => r.url)
    .sort()
  t.same(without, [
    '/',
    '/account/new-password',
    '/healthz',
    '/help',
    '/help/:slug',
    '/login',
    '/readyz',
    '/robots.txt',
    '/settings/audit-log.csv',
  ])
})

t.test('a route that names a help page which does not exist is refused when the app is built', async (t) => {
  const app = Fastify()
  app.addHook('onRoute', requireKnownHelp)
  t.throws(
    () => app.get('/somewhere', { config: { help: 'no-such-page' as HelpSlug } }, async () => ''),
    /GET \/somewhere names the help page "no-such-page", which does not exist/,
  )
  t.doesNotThrow(() => app.get('/elsewhere', { config: { help: 'removing-a-connector' } }, async () => ''))
  await app.close()
})

t.test('help is searchable', async (t) => {
  const all = textOf((await admin.get('/help')).body)
  for (const page of HELP_PAGES) t.match(all, page.title)
  const found = textOf((await admin.get('/help?q=type+confirm')).body)
  t.match(found, 'Removing a connector')
  t.match(found, 'Removing an instance')
  t.notMatch(found, 'Installing a prebuilt connector')
  t.match(textOf((await admin.get('/help?q=zebra')).body), 'No help page mentions “zebra”')
  t.equal((await admin.get('/help/no-such-page')).statusCode, 404)
})
