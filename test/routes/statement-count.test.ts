// Every page runs a fixed, small number of SQL statements, however many rows the company has:
// pagination, aggregation in SQL and no query per row. Counted at the database driver.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { connectors, instances, marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connectors.js'
import { setup, signedIn, type TestContext } from '../helpers.js'

const MAX_STATEMENTS = 4
let statements = 0
const ctx = await setup(t, { onQuery: () => { statements += 1 } })
const admin = ctx.company.users.administrator
const client = await signedIn(ctx.app, admin)

const PAGES = ['/connectors', '/connectors?q=o', '/connectors?page=2', '/marketplace', '/marketplace?q=o', '/marketplace?type=eCommerce']

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
    const connector = await installConnector(context.db, admin, entries[i % entries.length]!.id)
    await context.db.insert(instances).values(Array.from({ length: instancesEach }, (_, n) => ({
      companyId: admin.companyId, connectorId: connector.id, name: `${connector.name} - ${n + 1}`, authMethodKey: 'token',
      timeZone: 'Europe/London', dateFormat: 'ISO 8601', rateLimitAmount: 10, rateLimitUnit: 'second', createdBy: admin.id,
    })))
  }
}

/** Custom marketplace entries of the test company, so the marketplace has many pages too. */
async function addCustomEntries(context: TestContext, count: number) {
  await context.db.insert(marketplaceConnectors).values(Array.from({ length: count }, (_, i) => ({
    key: `custom-${i}`, kind: 'custom' as const, companyId: admin.companyId, name: `Our own connector ${i}`,
    description: 'Built by us for our shops', systemType: 'eCommerce',
  })))
}

await installConnectors(ctx, 3, 1)
const few = await statementsPerPage()

await installConnectors(ctx, 60, 5)
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
