// Every page runs a fixed, small number of SQL statements, however many rows the company has:
// pagination, aggregation in SQL and no query per row. Counted at the database driver.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { auditEvents, connectionShapes, connectors, instances, marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { applyMigration } from '../../src/domain/instance-moves/index.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { setup, signedIn, testConfig, type TestContext } from '../helpers.js'
import { addFlow, publishNextVersion } from '../connector-fixtures.js'

const MAX_STATEMENTS = 4
let statements = 0
const ctx = await setup(t, {
  onQuery: () => {
    statements += 1
  },
})
const admin = ctx.company.users.administrator
const client = await signedIn(ctx.app, admin)

const PAGES = [
  '/connectors',
  '/connectors?q=o',
  '/connectors?page=2',
  '/marketplace',
  '/marketplace?q=o',
  '/marketplace?type=eCommerce',
]

async function statementsPerPage(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const page of PAGES) {
    statements = 0
    const response = await client.get(page)
    if (response.statusCode !== 200) throw new Error(`${page} answered ${response.statusCode}`)
    counts[page] = statements
  }
  return counts
}

/** Installs `count` connectors, each with `instancesEach` instances, for the test company. */
async function installConnectors(context: TestContext, count: number, instancesEach: number) {
  const entries = await context.db.select({ id: marketplaceConnectors.id }).from(marketplaceConnectors)
  for (let i = 0; i < count; i++) {
    const connector = await installConnector(context.db, admin, {
      marketplaceConnectorId: entries[i % entries.length]!.id,
    })
    await context.db.insert(instances).values(
      Array.from({ length: instancesEach }, (_, n) => ({
        companyId: admin.companyId,
        connectorId: connector.id,
        name: `${connector.name} - ${n + 1}`,
        authMethodKey: 'token',
        timeZone: 'Europe/London',
        dateFormat: 'ISO 8601',
        rateLimitAmount: 10,
        rateLimitUnit: 'second',
        createdBy: admin.id,
      })),
    )
  }
}

/** Custom marketplace entries of the test company, so the marketplace has many pages too. */
async function addCustomEntries(context: TestContext, count: number) {
  await context.db.insert(marketplaceConnectors).values(
    Array.from({ length: count }, (_, i) => ({
      key: `custom-${i}`,
      kind: 'custom' as const,
      companyId: admin.companyId,
      name: `Our own connector ${i}`,
      description: 'Built by us for our shops',
      systemType: 'eCommerce',
    })),
  )
}

// Two pages of connectors already: a page past the end is answered with the last page, at its address.
await installConnectors(ctx, 21, 1)
const few = await statementsPerPage()

await installConnectors(ctx, 42, 5)
await addCustomEntries(ctx, 80)
const connectorCount = await ctx.db.$count(connectors, eq(connectors.companyId, admin.companyId))
const many = await statementsPerPage()

t.test('the manage connectors page runs the same few statements with few and with many connectors', async (t) => {
  t.equal(connectorCount, 63, 'many connectors installed: more than three pages')
  for (const page of PAGES.filter((p) => p.startsWith('/connectors'))) {
    t.ok(few[page]! <= MAX_STATEMENTS, `${page}: ${few[page]} statements with few rows`)
    t.equal(many[page], few[page], `${page}: the same number with many rows`)
  }
})

t.test('the marketplace runs the same few statements whatever its size', async (t) => {
  for (const page of PAGES.filter((p) => p.startsWith('/marketplace'))) {
    t.ok(few[page]! <= MAX_STATEMENTS, `${page}: ${few[page]} statements with few rows`)
    t.equal(many[page], few[page], `${page}: the same number with many rows`)
  }
})

t.test(
  "moving instances in stages: the migrate page and a move's page run the same few statements however many instances they show",
  async (t) => {
    // The migrate page: the session, the connectors, a page of the searched instances, their moves and process
    // flows, the counts per old connector, the earlier moves.
    const MAX_MIGRATION_STATEMENTS = 7
    const box = new SecretBox(testConfig().encryptionKey)
    const [entry] = await ctx.db
      .select({ id: marketplaceConnectors.id })
      .from(marketplaceConnectors)
      .where(eq(marketplaceConnectors.key, 'shopify'))
    const from = await installConnector(ctx.db, admin, { marketplaceConnectorId: entry!.id })
    const to = await installConnector(ctx.db, admin, { marketplaceConnectorId: entry!.id })
    let added = 0
    /** `n` more instances of `connectorId`, each used by two connection shapes of its own process flow. */
    const addInstances = async (connectorId: string, n: number) => {
      const rows = await ctx.db
        .insert(instances)
        .values(
          Array.from({ length: n }, () => ({
            companyId: admin.companyId,
            connectorId,
            name: `Shop ${++added}`,
            authMethodKey: 'admin_api_token',
            timeZone: 'UTC',
            dateFormat: 'ISO 8601',
            rateLimitAmount: 2,
            rateLimitUnit: 'second',
            createdBy: admin.id,
          })),
        )
        .returning()
      for (const row of rows)
        await addFlow(ctx.db, admin, `Flow of ${row.name}`, [
          { instanceId: row.id, endpointKey: 'get_orders' },
          { instanceId: row.id, endpointKey: 'get_products' },
        ])
      return rows
    }
    const move = async (ids: string[]) => {
      const flows = Object.fromEntries(
        await Promise.all(
          ids.map(
            async (id) =>
              [
                id,
                (await ctx.db.select().from(connectionShapes).where(eq(connectionShapes.instanceId, id))).map(
                  (s) => s.processFlowId,
                ),
              ] as const,
          ),
        ),
      )
      return (
        await applyMigration(ctx.db, admin, box, {
          connectorId: to.id,
          fromConnectorId: from.id,
          instanceIds: ids,
          flowIds: flows,
          suffix: ` (${ids.length})`,
          authMethods: {},
          endpoints: {},
        })
      ).batchId
    }
    const count = async (url: string) => {
      // postgres.js describes a named statement the first time a connection runs it (a second debug
      // call): one request first, so only what the page itself runs is counted.
      await client.get(url)
      statements = 0
      const response = await client.get(url)
      if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}`)
      return statements
    }

    const one = await addInstances(from.id, 1)
    const small = await move(one.map((i) => i.id))
    const fewPicker = await count(`/connectors/${to.id}/migrate`)
    const fewBatch = await count(`/connectors/${to.id}/migrations/${small}`)

    const many = await addInstances(from.id, 40)
    await addInstances((await installConnector(ctx.db, admin, { marketplaceConnectorId: entry!.id })).id, 10)
    const large = await move(many.map((i) => i.id))
    const manyPicker = await count(`/connectors/${to.id}/migrate`)
    const manyBatch = await count(`/connectors/${to.id}/migrations/${large}`)

    t.ok(fewPicker <= MAX_MIGRATION_STATEMENTS, `migrate page: ${fewPicker} statements with one instance`)
    t.equal(manyPicker, fewPicker, 'the same with 50 instances of two old connectors and two moves')
    t.ok(fewBatch <= MAX_MIGRATION_STATEMENTS, `a move's page: ${fewBatch} statements for one instance`)
    t.equal(manyBatch, fewBatch, 'the same for a move of 40 instances and 80 connection shapes')
  },
)

t.test('the audit log runs the same few statements with few and with many entries, filtered or not', async (t) => {
  const [connector] = await ctx.db.select({ id: connectors.id }).from(connectors).limit(1)
  const pages = [
    '/settings/audit-log',
    `/settings/audit-log?connector=${connector!.id}`,
    `/settings/audit-log?person=${admin.id}`,
    '/settings/audit-log?action=install',
    '/settings/audit-log?from=2020-01-01&to=2099-12-31',
  ]
  const counts = async () => {
    const found: Record<string, number> = {}
    for (const page of [...pages, await olderPage()]) {
      await client.get(page)
      statements = 0
      const response = await client.get(page)
      if (response.statusCode !== 200) throw new Error(`${page} answered ${response.statusCode}`)
      found[page.replace(/before=\d+/, 'before=…')] = statements
    }
    return found
  }
  const olderPage = async () => {
    const first = await client.get('/settings/audit-log')
    return /<a href="([^"]+)" rel="next">older/.exec(first.body)![1]!.replaceAll('&amp;', '&')
  }
  const few = await counts()
  await ctx.db.insert(auditEvents).values(
    Array.from({ length: 2000 }, (_, i) => ({
      companyId: admin.companyId,
      actorId: admin.id,
      action: i % 2 ? 'install' : 'modify',
      subjectType: 'connector',
      subjectId: connector!.id,
      summary: `entry ${i}`,
    })),
  )
  const many = await counts()
  for (const [page, n] of Object.entries(few)) {
    t.ok(n <= MAX_STATEMENTS, `${page}: ${n} statements with few entries`)
    t.equal(many[page], n, `${page}: the same with 2,000 more`)
  }
})

t.test('the updates screen runs at most four statements, however many updates are pending', async (t) => {
  const UPDATE_PAGES = [
    '/connectors/updates',
    '/connectors/updates?breaking=yes',
    '/connectors/updates?modified=no&q=o',
  ]
  await publishNextVersion(ctx.db, 'xero', (d) => {
    d.endpoints.shift()
  })
  await publishNextVersion(ctx.db, 'shopify')
  const count = async () => {
    const counts: Record<string, number> = {}
    for (const page of UPDATE_PAGES) {
      statements = 0
      const response = await client.get(page)
      t.equal(response.statusCode, 200, page)
      counts[page] = statements
    }
    return counts
  }
  const first = await count()
  const entries = await ctx.db
    .select({ id: marketplaceConnectors.id })
    .from(marketplaceConnectors)
    .where(eq(marketplaceConnectors.key, 'xero'))
  for (let i = 0; i < 30; i++) await installConnector(ctx.db, admin, { marketplaceConnectorId: entries[0]!.id })
  await publishNextVersion(ctx.db, 'xero')
  const fewer = await count()
  const again = await count()
  for (const page of UPDATE_PAGES) {
    t.ok(first[page]! <= MAX_STATEMENTS, `${page}: ${first[page]} statements the first time`)
    t.ok(fewer[page]! <= MAX_STATEMENTS, `${page}: ${fewer[page]} statements with 30 more updates pending`)
    t.ok(again[page]! <= fewer[page]!, `${page}: ${again[page]} once what breaks between those versions is known`)
  }
})
