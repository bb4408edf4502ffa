import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, connectorRevisions, connectors, marketplaceVersions, users } from '../../src/db/schema.js'
import { buildApp } from '../../src/app.js'
import { carryOnBatches, UPDATE_CHUNK } from '../../src/domain/update-batches.js'
import { setup, signedIn, testConfig, textOf, type Client } from '../helpers.js'
import {
  addFlow,
  addInstance,
  addRefundsEndpoint,
  connectorRow,
  install,
  publishNextVersion,
} from '../connector-fixtures.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const client = await signedIn(ctx.app, admin)

// 28 copies of Xero (more than a chunk and a page), three of Shopify; one Shopify modified by the company.
const xeros: Awaited<ReturnType<typeof install>>[] = []
for (let i = 0; i < UPDATE_CHUNK + 3; i++) xeros.push(await install(ctx.db, admin, 'xero'))
const shopifys = [
  await install(ctx.db, admin, 'shopify'),
  await install(ctx.db, admin, 'shopify'),
  await install(ctx.db, admin, 'shopify'),
]
const modified = shopifys[2]!
await addRefundsEndpoint(ctx.db, admin, modified.id)
// One Shopify is used by a process flow through the endpoint the new version removes.
const shop = await addInstance(ctx.db, admin, shopifys[0]!.id, 'Shop - UK', 'oauth')
await addFlow(ctx.db, admin, 'Orders to ERP', [{ instanceId: shop.id, endpointKey: 'get_orders' }])

const xeroVersion = await publishNextVersion(ctx.db, 'xero', () => {}, 'Faster invoices. Also smaller fixes.')
const shopifyVersion = await publishNextVersion(
  ctx.db,
  'shopify',
  (d) => {
    d.endpoints = d.endpoints.filter((e) => e.key !== 'get_orders')
  },
  'Orders moved to a new endpoint.',
)
const TOTAL = xeros.length + shopifys.length

/** The rows of the updates screen: connector names in order. */
const rowsOf = (html: string) =>
  [...html.matchAll(/<th scope="row"><a href="\/connectors\/[^"]+">([^<]+)<\/a>/g)].map((m) => m[1])
const itemsOf = (html: string) => [...html.matchAll(/name="item" value="([^"]+)"/g)].map((m) => m[1]!)
const submissionOf = (html: string) => /name="submission" value="([^"]+)"/.exec(html)![1]!

async function startBatch(c: Client, form: Record<string, string | string[]>) {
  const preview = await c.post('/connectors/updates/preview', form)
  t.equal(preview.statusCode, 200, 'the preview is shown')
  return { preview, items: itemsOf(preview.body), submission: submissionOf(preview.body) }
}

async function confirm(c: Client, kind: string, items: string[], submission: string) {
  const started = await c.post('/connectors/updates/batches', { kind, item: items, submission })
  t.equal(started.statusCode, 303)
  return started.headers.location as string
}

t.test('manage connectors says how many updates are available and links to the updates screen', async (t) => {
  const page = await client.get('/connectors')
  t.match(page.body, `<a href="/connectors/updates">${TOTAL} updates available</a>`)
  const readOnly = await signedIn(ctx.app, ctx.company.users['read-only'])
  t.notMatch((await readOnly.get('/connectors')).body, 'updates available')
  t.equal((await readOnly.get('/connectors/updates')).statusCode, 403, 'read-only users cannot open the screen')
  const other = await signedIn(ctx.app, ctx.other.users.administrator)
  t.match(textOf((await other.get('/connectors/updates')).body), 'All your connectors are up to date.')
})

t.test('the updates screen: versions, release notes, who modified, impact with breaking marked; paged', async (t) => {
  const page = await client.get('/connectors/updates')
  t.equal(page.statusCode, 200)
  const text = textOf(page.body)
  t.match(text, `${TOTAL} connectors with an update available: ${TOTAL - 1} not modified, 1 modified.`)
  t.equal(rowsOf(page.body).length, 25, 'a page of 25')
  t.match(text, `all ${TOTAL} matching this filter (every page)`)
  t.match(page.body, 'rel="next"')
  const second = await client.get('/connectors/updates?page=2')
  t.equal(rowsOf(second.body).length, TOTAL - 25)
  const beyond = await client.get('/connectors/updates?page=9')
  t.equal(beyond.statusCode, 303, 'past the last page')
  t.equal(beyond.headers.location, '/connectors/updates?page=2', 'moves to the last one')

  const shopifyOnly = await client.get('/connectors/updates?type=eCommerce')
  const shopText = textOf(shopifyOnly.body)
  t.same(
    rowsOf(shopifyOnly.body),
    shopifys.map((s) => s.name).sort((a, b) => a.localeCompare(b)),
  )
  t.match(shopText, `${shopifys[0]!.version} ${shopifyVersion} Orders moved to a new endpoint.`)
  t.match(shopText, `modified by ${admin.name}`)
  t.match(shopText, 'breaking : endpoint Get orders removed — used by 1 connection shape in 1 process flow')
  t.match(shopText, '1 instance, 1 process flow, 1 connection shape')
  t.match(
    textOf((await client.get('/connectors/updates?q=xero')).body),
    `${xeros.length} connectors with an update available matching this filter`,
  )
  t.match(textOf((await client.get('/connectors/updates?q=xero')).body), 'Faster invoices.')
  t.notMatch(
    textOf((await client.get('/connectors/updates?q=xero')).body),
    'Also smaller fixes',
    'one line of release notes',
  )
})

t.test('filters: name, system type, modified or not, breaking changes or not', async (t) => {
  const count = async (query: string) =>
    /(\d+) connectors? with an update available/.exec(
      textOf((await client.get(`/connectors/updates?${query}`)).body),
    )?.[1] ?? '0'
  t.equal(await count('modified=yes'), '1')
  t.equal(await count('modified=no'), String(TOTAL - 1))
  t.equal(await count('breaking=yes'), '3', 'every Shopify: the new version removes an endpoint')
  t.equal(await count('breaking=no'), String(xeros.length))
  t.equal(await count('type=Accounting&breaking=yes'), '0')
  t.equal(await count(`q=${encodeURIComponent(shopifys[1]!.name)}`), '1')
  t.equal(
    (await client.get('/connectors/updates?type=Nonsense&modified=maybe')).statusCode,
    200,
    'unknown values filter nothing',
  )
  const htmx = await client.get('/connectors/updates?modified=yes', {
    'hx-request': 'true',
    'hx-request-type': 'partial',
  })
  t.match(htmx.body, /^<section id="update-list"/, 'htmx gets the list alone')
})

t.test(
  'preview: chosen connectors, modified ones left as they are; nothing chosen is refused beside the list',
  async (t) => {
    const refused = await client.post('/connectors/updates/preview', { kind: 'update', modified: 'no' })
    t.equal(refused.statusCode, 422)
    t.match(refused.body, 'id="choose-error" role="alert">Choose at least one connector')
    t.match(refused.body, '<option value="no" selected>', 'the filter is kept')

    const { preview, items } = await startBatch(client, { kind: 'update', connector: [shopifys[0]!.id, modified.id] })
    const text = textOf(preview.body)
    t.match(text, '1 connector is updated in place; 1 is left as it is.')
    t.match(
      text,
      `${shopifys[0]!.name} ${shopifys[0]!.version} → ${shopifyVersion} updated in place; its instance keeps working with it`,
    )
    t.match(
      text,
      `${modified.name} ${modified.version} → ${shopifyVersion} left as it is : modified by ${admin.name}: never overwritten in bulk.`,
    )
    t.match(text, 'breaking : endpoint Get orders removed')
    t.equal(items.length, 1)
    t.match(items[0], new RegExp(`^${shopifys[0]!.id}:1:`))
    const row = await connectorRow(ctx.db, shopifys[0]!.id)
    t.equal(row.revision, 1, 'a preview changes nothing')
  },
)

t.test(
  '"keep my changes" in bulk: a modified connector whose merge has no conflict is updated, its changes kept',
  async (t) => {
    const { preview, items, submission } = await startBatch(client, {
      kind: 'keep my changes',
      connector: [modified.id],
    })
    t.match(
      textOf(preview.body),
      `${modified.name} ${modified.version} → ${shopifyVersion} updated, keeping your changes`,
    )
    t.match(textOf(preview.body), 'kept: kept your endpoint “Get refunds”')
    const batch = await confirm(client, 'keep my changes', items, submission)
    await client.post(`${batch}/continue`)
    t.match(textOf((await client.get(batch)).body), 'Done: 1 updated, 0 skipped.')
    const row = await connectorRow(ctx.db, modified.id)
    t.ok(
      row.definition.endpoints.some((e) => e.key === 'get_refunds'),
      'the company’s endpoint is kept',
    )
    t.notOk(
      row.definition.endpoints.some((e) => e.key === 'get_orders'),
      'the vendor’s removal is taken',
    )
    t.not(row.modifiedAt, null, 'still modified')
  },
)

t.test(
  'a batch whose starter may no longer update connectors waits, and continues as whoever continues it',
  async (t) => {
    const manager = ctx.company.users.manager
    const theirs = await signedIn(ctx.app, manager)
    const { items, submission } = await startBatch(theirs, { kind: 'update', connector: [shopifys[1]!.id] })
    const batch = await confirm(theirs, 'update', items, submission)
    await ctx.db.update(users).set({ role: 'user' }).where(eq(users.id, manager.id))
    t.teardown(() => ctx.db.update(users).set({ role: 'manager' }).where(eq(users.id, manager.id)))
    t.equal(await carryOnBatches(ctx.db), 0, 'the runner leaves it')
    const page = await client.get(batch)
    t.match(
      textOf(page.body),
      `${manager.name}, who started it, can no longer update connectors, so the batch waits. continue updates the next connectors as you.`,
    )
    t.notMatch(page.body, 'data-hx-trigger', 'nothing to follow while it waits')
    const continued = await client.post(`${batch}/continue`)
    t.equal(continued.statusCode, 303)
    t.match(textOf((await client.get(batch)).body), 'Done: 1 updated, 0 skipped.')
    const [revision] = await ctx.db
      .select({ authorId: connectorRevisions.authorId })
      .from(connectorRevisions)
      .where(and(eq(connectorRevisions.connectorId, shopifys[1]!.id), eq(connectorRevisions.number, 2)))
    t.equal(revision?.authorId, admin.id, 'made by who continued it')
  },
)

t.test(
  '"all matching this filter" takes every page; a connector changed since the preview is skipped and reported',
  async (t) => {
    const { items, submission } = await startBatch(client, { kind: 'update', all: 'yes', q: 'xero' })
    t.equal(items.length, xeros.length, 'every Xero, on both pages')
    const changed = xeros[3]!
    await addRefundsEndpoint(ctx.db, ctx.company.users.manager, changed.id)
    const batch = await confirm(client, 'update', items, submission)
    const again = await client.post('/connectors/updates/batches', { kind: 'update', item: items, submission })
    t.equal(again.headers.location, batch, 'a double submit answers the same batch')

    // The page only shows progress: nothing is updated by looking at it.
    const page = await client.get(batch)
    t.match(textOf(page.body), `0 of ${xeros.length} done`)
    t.match(page.body, `data-hx-get="${batch}" data-hx-trigger="every 1s"`, 'htmx asks for it again every second')
    t.match(page.body, `<a href="${batch}">refresh</a>`, 'without JavaScript, a refresh link')
    t.notMatch(page.body, `${batch}/continue`, 'nothing to press: it runs by itself')

    // A chunk (this app runs no background runner: as if the process stopped after one), then a new
    // app on the same database carries the batch on by itself.
    const chunk = await client.post(`${batch}/continue`)
    t.equal(chunk.statusCode, 303)
    t.match(textOf((await client.get(batch)).body), `${UPDATE_CHUNK} of ${xeros.length} done`)
    await ctx.app.close()
    const restarted = await buildApp({ config: testConfig(), database: ctx.database, runBatches: true })
    t.teardown(() => restarted.close())
    const after = await signedIn(restarted, admin)
    let last = await after.get(batch, { 'hx-request': 'true', 'hx-request-type': 'partial' })
    for (let i = 0; i < 100 && !textOf(last.body).includes('Done'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      last = await after.get(batch, { 'hx-request': 'true', 'hx-request-type': 'partial' })
    }
    t.match(last.body, /^<div id="batch-progress">/, 'htmx gets the progress alone')
    const done = textOf(last.body)
    t.match(done, `Done: ${xeros.length - 1} updated, 1 skipped.`, 'the new process finished it by itself')
    t.match(
      done,
      `${changed.name} 1.1.0 → ${xeroVersion} skipped: changed since the preview: ${ctx.company.users.manager.name} saved revision 2.`,
    )
    t.notMatch(last.body, 'data-hx-trigger', 'polling stops once done')
    t.notMatch(last.body, '>refresh</a>', 'and so does the refresh link')

    const skipped = await connectorRow(ctx.db, changed.id)
    t.equal(skipped.revision, 2, 'the changed connector is not updated')
    const updated = await connectorRow(ctx.db, xeros[0]!.id)
    t.equal(updated.revision, 2)
    const [revision] = await ctx.db
      .select({ summary: connectorRevisions.summary })
      .from(connectorRevisions)
      .where(and(eq(connectorRevisions.connectorId, xeros[0]!.id), eq(connectorRevisions.number, 2)))
    const batchId = batch.split('/').at(-1)!
    t.equal(revision!.summary, `updated from version 1.1.0 to ${xeroVersion} (bulk update ${batchId.slice(0, 8)})`)
    const events = await ctx.db.select().from(auditEvents).where(eq(auditEvents.subjectId, batchId))
    t.same(
      events.map((e) => e.action).sort(),
      ['bulk update', 'finish bulk update'],
      'one recorded batch in the audit log',
    )

    t.test(
      'undo: every connector back to its revision before, refused with reasons for one changed since',
      async (t) => {
        const touched = xeros[5]!
        await addRefundsEndpoint(restarted.db, admin, touched.id)
        const page = await after.get(batch)
        t.match(textOf(page.body), `1 connector was changed since and will be left as it is: ${touched.name}.`)
        const undone = await after.post(`${batch}/undo`, { submission: submissionOf(page.body) })
        t.equal(undone.statusCode, 303)
        const text = textOf((await after.get(batch)).body)
        t.match(
          text,
          `Undone: ${xeros.length - 2} connectors back to the revision before the bulk update. 1 connector was changed since`,
        )
        t.match(
          text,
          `${touched.name} 1.1.0 → ${xeroVersion} not undone: changed since: ${admin.name} saved revision 3.`,
        )
        t.match(text, `This bulk update was undone by ${admin.name}`)
        const back = await connectorRow(ctx.db, xeros[0]!.id)
        t.equal(back.revision, 3)
        const [from] = await ctx.db
          .select({ version: marketplaceVersions.version })
          .from(connectors)
          .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
          .where(eq(connectors.id, xeros[0]!.id))
        t.equal(from!.version, '1.1.0', 'back on the version it had')
        t.equal(back.modifiedAt, null, 'and not modified, as before')
        t.equal((await connectorRow(ctx.db, touched.id)).revision, 3, 'the changed one is left as it is')
        const again = await after.post(`${batch}/undo`, {})
        t.equal(again.statusCode, 409, 'a batch is undone once')
        const other = await signedIn(restarted, ctx.other.users.administrator)
        t.equal((await other.get(batch)).statusCode, 404, 'another company does not see the batch')
      },
    )
  },
)
