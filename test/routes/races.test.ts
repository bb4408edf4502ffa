// Concurrent double-submits of the same form end in a consistent database: the work is done once,
// no duplicate connectors, no lost or doubled revision. Many rounds, the database doing the work.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { count, eq } from 'drizzle-orm'
import { connectorRevisions, connectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connectors.js'
import { installVersionAlongside, overwriteWithVersion, updateConnector } from '../../src/domain/updates.js'
import { PASSWORD, setup, signedIn, textOf } from '../helpers.js'
import { createCompany, createUser } from '../../src/domain/users.js'
import { violates } from '../../src/db/errors.js'
import { addRefundsEndpoint, connectorRow, install, marketplaceEntry, publishNextVersion } from '../connector-fixtures.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const manager = ctx.company.users.manager
const ROUNDS = 5

const connectorCount = async () => (await ctx.db.select({ n: count() }).from(connectors).where(eq(connectors.companyId, ctx.company.id)))[0]!.n
const revisionCount = async (id: string) => (await ctx.db.select({ n: count() }).from(connectorRevisions).where(eq(connectorRevisions.connectorId, id)))[0]!.n
const newestVersion = async (key: string) => { await publishNextVersion(ctx.db, key) }

t.test('install sent twice at once installs once', async (t) => {
  const entry = await marketplaceEntry(ctx.db, 'stripe')
  for (let round = 0; round < ROUNDS; round++) {
    const before = await connectorCount()
    const submission = randomUUID()
    const [a, b] = await Promise.all([installConnector(ctx.db, admin, entry.id, submission), installConnector(ctx.db, admin, entry.id, submission)])
    t.equal(a.id, b.id, `round ${round}: both answers name the same connector`)
    t.equal(await connectorCount(), before + 1, `round ${round}: one connector more`)
  }
})

for (const [label, prepare, act] of [
  ['update', async (id: string) => id, updateConnector],
  ['overwrite', async (id: string) => { await addRefundsEndpoint(ctx.db, admin, id); return id }, overwriteWithVersion],
] as const) {
  t.test(`${label} sent twice at once does the work once`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const installed = await install(ctx.db, admin, 'hubspot')
      await prepare(installed.id)
      await newestVersion('hubspot')
      const row = await connectorRow(ctx.db, installed.id)
      const revisions = await revisionCount(installed.id)
      const choice = { connectorId: installed.id, revision: row.revision, version: (await marketplaceLatest('hubspot')), submission: randomUUID() }
      const results = await Promise.allSettled([act(ctx.db, admin, choice), act(ctx.db, admin, choice)])
      t.ok(results.every((r) => r.status === 'fulfilled'), `round ${round}: both answered`)
      t.equal(await revisionCount(installed.id), revisions + 1, `round ${round}: exactly one new revision`)
    }
  })
}

t.test('install alongside sent twice at once installs one second connector', async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const installed = await install(ctx.db, admin, 'klaviyo')
    await addRefundsEndpoint(ctx.db, admin, installed.id)
    await newestVersion('klaviyo')
    const before = await connectorCount()
    const choice = { connectorId: installed.id, version: await marketplaceLatest('klaviyo'), submission: randomUUID() }
    const [a, b] = await Promise.all([installVersionAlongside(ctx.db, admin, choice), installVersionAlongside(ctx.db, admin, choice)])
    t.equal(a.id, b.id, `round ${round}: the same second connector`)
    t.equal(await connectorCount(), before + 1, `round ${round}: one connector more`)
  }
})

async function marketplaceLatest(key: string): Promise<string> {
  const { marketplaceVersions, marketplaceConnectors } = await import('../../src/db/schema.js')
  const [row] = await ctx.db.select({ version: marketplaceVersions.version }).from(marketplaceConnectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, marketplaceConnectors.latestVersionId)).where(eq(marketplaceConnectors.key, key))
  return row!.version
}

// Item: concurrent update / overwrite of one connector. Every request is a separate form (its own
// one-time key) based on the same revision. On the PostgreSQL server the losers wait on the
// connector's row lock and must then see the winner's revision (409), never lose the row (404).
// PGlite runs one transaction at a time, so there it proves only the revision check, not the lock.
const PARALLEL = 8
for (const [label, action, modifyFirst] of [['update', 'update', false], ['overwrite', 'overwrite', true]] as const) {
  t.test(`${PARALLEL} ${label} requests at once on one connector: one 303, the others 409, never 404`, async (t) => {
    const clients = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => signedIn(ctx.app, i % 2 ? manager : admin)))
    for (let round = 0; round < 3; round++) {
      const installed = await install(ctx.db, admin, 'hubspot')
      if (modifyFirst) await addRefundsEndpoint(ctx.db, admin, installed.id)
      await newestVersion('hubspot')
      const version = await marketplaceLatest('hubspot')
      const { revision } = await connectorRow(ctx.db, installed.id)
      const pages = await Promise.all(clients.map((c) => c.get(`/connectors/${installed.id}/update`)))
      const responses = await Promise.all(clients.map((c, i) => c.post(`/connectors/${installed.id}/${action}`, {
        revision: String(revision), version, submission: submissionIn(pages[i]!.body, `/connectors/${installed.id}/${action}`),
      })))
      const statuses = responses.map((r) => r.statusCode).sort()
      t.same(statuses, [303, ...Array(PARALLEL - 1).fill(409)], `round ${round}: ${statuses.join(' ')}`)
      for (const loser of responses.filter((r) => r.statusCode === 409)) {
        t.match(textOf(loser.body), 'Somebody else just updated this connector', `round ${round}: the loser is told why`)
      }
      t.equal(await revisionCount(installed.id), revision + 1, `round ${round}: one new revision`)
    }
  })
}

function submissionIn(html: string, action: string): string {
  return new RegExp(`action="${action}"[^>]*>[\\s\\S]*?name="submission" value="([^"]+)"`).exec(html)![1]!
}

// Names of a company's connectors are unique (a unique index, whatever the case): installs at the
// same moment pick "HubSpot", "HubSpot (2)", … one after the other under the company's name lock.
t.test('20 installs of one marketplace connector at once get 20 distinct names', async (t) => {
  const { id: companyId } = await createCompany(ctx.db, 'Busy Installers')
  const installer = await createUser(ctx.db, { companyId, email: 'installer@busy.test', name: 'Ida Installer', password: PASSWORD, role: 'manager' })
  const client = await signedIn(ctx.app, installer)
  const entry = await marketplaceEntry(ctx.db, 'hubspot')
  const responses = await Promise.all(Array.from({ length: 20 }, () => client.post(`/marketplace/${entry.id}/install`, { submission: randomUUID() })))
  t.same([...new Set(responses.map((r) => r.statusCode))], [303], 'every install answered 303')
  const names = (await ctx.db.select({ name: connectors.name }).from(connectors).where(eq(connectors.companyId, companyId))).map((c) => c.name)
  t.same(names.sort(), ['HubSpot', ...Array.from({ length: 19 }, (_, i) => `HubSpot (${i + 2})`)].sort())
})

t.test('installs alongside at the same moment get distinct names too', async (t) => {
  const { id: companyId } = await createCompany(ctx.db, 'Alongside Twins')
  const owner = await createUser(ctx.db, { companyId, email: 'owner@twins.test', name: 'Olu Owner', password: PASSWORD, role: 'administrator' })
  const first = await install(ctx.db, owner, 'klaviyo')
  const second = await install(ctx.db, owner, 'klaviyo')
  await newestVersion('klaviyo')
  const version = await marketplaceLatest('klaviyo')
  const results = await Promise.all([first, second].map((c) => installVersionAlongside(ctx.db, owner, { connectorId: c.id, version, submission: randomUUID() })))
  t.same(results.map((r) => r.name).sort(), [`Klaviyo ${version}`, `Klaviyo ${version} (2)`])
})

t.test('the database refuses a second connector of the same name, whatever the case', async (t) => {
  const installed = await install(ctx.db, admin, 'stripe')
  const row = await connectorRow(ctx.db, installed.id)
  const copy = { ...row, id: undefined, name: row.name.toUpperCase() }
  const refusal = await ctx.db.insert(connectors).values(copy).then(() => null, (error: unknown) => error)
  t.ok(violates(refusal, 'connectors_company_name_unique'), 'refused by the unique index')
})
