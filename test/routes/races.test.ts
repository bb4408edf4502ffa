// Concurrent double-submits of the same form end in a consistent database: the work is done once,
// no duplicate connectors, no lost or doubled revision. Many rounds, the database doing the work.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { and, count, eq, sql } from 'drizzle-orm'
import {
  connectorRevisions,
  connectors,
  instances,
  marketplaceConnectors,
  marketplaceVersions,
} from '../../src/db/schema.js'
import type { Tx } from '../../src/db/client.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { installVersionAlongside } from '../../src/domain/install-alongside.js'
import { overwriteWithVersion, updateConnector } from '../../src/domain/updates.js'
import { PASSWORD, setup, signedIn, textOf } from '../helpers.js'
import { createCompany, createUser } from '../../src/domain/users.js'
import { violates } from '../../src/db/errors.js'
import {
  addRefundsEndpoint,
  connectorRow,
  install,
  marketplaceEntry,
  publishNextVersion,
} from '../connector-fixtures.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const manager = ctx.company.users.manager
const ROUNDS = 5

const connectorCount = async () =>
  (await ctx.db.select({ n: count() }).from(connectors).where(eq(connectors.companyId, ctx.company.id)))[0]!.n
const revisionCount = async (id: string) =>
  (await ctx.db.select({ n: count() }).from(connectorRevisions).where(eq(connectorRevisions.connectorId, id)))[0]!.n
const newestVersion = async (key: string) => {
  await publishNextVersion(ctx.db, key)
}

t.test('install sent twice at once installs once', async (t) => {
  const entry = await marketplaceEntry(ctx.db, 'stripe')
  for (let round = 0; round < ROUNDS; round++) {
    const before = await connectorCount()
    const submission = randomUUID()
    const [a, b] = await Promise.all([
      installConnector(ctx.db, admin, { marketplaceConnectorId: entry.id, submission }),
      installConnector(ctx.db, admin, { marketplaceConnectorId: entry.id, submission }),
    ])
    t.equal(a.id, b.id, `round ${round}: both answers name the same connector`)
    t.equal(await connectorCount(), before + 1, `round ${round}: one connector more`)
  }
})

for (const [label, prepare, act] of [
  ['update', async (id: string) => id, updateConnector],
  [
    'overwrite',
    async (id: string) => {
      await addRefundsEndpoint(ctx.db, admin, id)
      return id
    },
    overwriteWithVersion,
  ],
] as const) {
  t.test(`${label} sent twice at once does the work once`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const installed = await install(ctx.db, admin, 'hubspot')
      await prepare(installed.id)
      await newestVersion('hubspot')
      const row = await connectorRow(ctx.db, installed.id)
      const revisions = await revisionCount(installed.id)
      const choice = {
        connectorId: installed.id,
        revision: row.revision,
        version: await marketplaceLatest('hubspot'),
        submission: randomUUID(),
      }
      const results = await Promise.allSettled([act(ctx.db, admin, choice), act(ctx.db, admin, choice)])
      t.ok(
        results.every((r) => r.status === 'fulfilled'),
        `round ${round}: both answered`,
      )
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
    const [a, b] = await Promise.all([
      installVersionAlongside(ctx.db, admin, choice),
      installVersionAlongside(ctx.db, admin, choice),
    ])
    t.equal(a.id, b.id, `round ${round}: the same second connector`)
    t.equal(await connectorCount(), before + 1, `round ${round}: one connector more`)
  }
})

async function marketplaceLatest(key: string): Promise<string> {
  const { marketplaceVersions, marketplaceConnectors } = await import('../../src/db/schema.js')
  const [row] = await ctx.db
    .select({ version: marketplaceVersions.version })
    .from(marketplaceConnectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, marketplaceConnectors.latestVersionId))
    .where(eq(marketplaceConnectors.key, key))
  return row!.version
}

// Item: concurrent update / overwrite of one connector. Every request is a separate form (its own
// one-time key) based on the same revision. On the PostgreSQL server the losers wait on the
// connector's row lock and must then see the winner's revision (409), never lose the row (404).
// PGlite runs one transaction at a time, so there it proves only the revision check, not the lock.
const PARALLEL = 8
// Signed in once: sign-in is limited per account.
const clients = await Promise.all(
  Array.from({ length: PARALLEL }, (_, i) => signedIn(ctx.app, i % 2 ? manager : admin)),
)
const adminClient = clients[0]!
for (const [label, action, modifyFirst] of [
  ['update', 'update', false],
  ['overwrite', 'overwrite', true],
] as const) {
  t.test(`${PARALLEL} ${label} requests at once on one connector: one 303, the others 409, never 404`, async (t) => {
    for (let round = 0; round < 3; round++) {
      const installed = await install(ctx.db, admin, 'hubspot')
      if (modifyFirst) await addRefundsEndpoint(ctx.db, admin, installed.id)
      await newestVersion('hubspot')
      const version = await marketplaceLatest('hubspot')
      const { revision } = await connectorRow(ctx.db, installed.id)
      const pages = await Promise.all(clients.map((c) => c.get(`/connectors/${installed.id}/update`)))
      const responses = await Promise.all(
        clients.map((c, i) =>
          c.post(`/connectors/${installed.id}/${action}`, {
            revision: String(revision),
            version,
            submission: submissionIn(pages[i]!.body, `/connectors/${installed.id}/${action}`),
          }),
        ),
      )
      const statuses = responses.map((r) => r.statusCode).sort()
      t.same(statuses, [303, ...Array(PARALLEL - 1).fill(409)], `round ${round}: ${statuses.join(' ')}`)
      for (const loser of responses.filter((r) => r.statusCode === 409)) {
        t.match(
          textOf(loser.body),
          'Somebody else just updated this connector',
          `round ${round}: the loser is told why`,
        )
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
  const installer = await createUser(ctx.db, {
    companyId,
    email: 'installer@busy.test',
    name: 'Ida Installer',
    password: PASSWORD,
    role: 'manager',
  })
  const client = await signedIn(ctx.app, installer)
  const entry = await marketplaceEntry(ctx.db, 'hubspot')
  const responses = await Promise.all(
    Array.from({ length: 20 }, () => client.post(`/marketplace/${entry.id}/install`, { submission: randomUUID() })),
  )
  t.same([...new Set(responses.map((r) => r.statusCode))], [303], 'every install answered 303')
  const names = (
    await ctx.db.select({ name: connectors.name }).from(connectors).where(eq(connectors.companyId, companyId))
  ).map((c) => c.name)
  t.same(names.sort(), ['HubSpot', ...Array.from({ length: 19 }, (_, i) => `HubSpot (${i + 2})`)].sort())
})

t.test('installs alongside at the same moment get distinct names too', async (t) => {
  const { id: companyId } = await createCompany(ctx.db, 'Alongside Twins')
  const owner = await createUser(ctx.db, {
    companyId,
    email: 'owner@twins.test',
    name: 'Olu Owner',
    password: PASSWORD,
    role: 'administrator',
  })
  const first = await install(ctx.db, owner, 'klaviyo')
  const second = await install(ctx.db, owner, 'klaviyo')
  await newestVersion('klaviyo')
  const version = await marketplaceLatest('klaviyo')
  const results = await Promise.all(
    [first, second].map((c) =>
      installVersionAlongside(ctx.db, owner, { connectorId: c.id, version, submission: randomUUID() }),
    ),
  )
  t.same(results.map((r) => r.name).sort(), [`Klaviyo ${version}`, `Klaviyo ${version} (2)`])
})

t.test('the database refuses a second connector of the same name, whatever the case', async (t) => {
  const installed = await install(ctx.db, admin, 'stripe')
  const row = await connectorRow(ctx.db, installed.id)
  const copy = { ...row, id: undefined, name: row.name.toUpperCase() }
  const refusal = await ctx.db
    .insert(connectors)
    .values(copy)
    .then(
      () => null,
      (error: unknown) => error,
    )
  t.ok(violates(refusal, 'connectors_company_name_unique'), 'refused by the unique index')
})

// The same, made certain: another transaction changes the connector and holds its row until the
// request is seen waiting for that lock, then commits. Only a PostgreSQL server has requests wait on
// each other's locks (PGlite runs one transaction at a time), so these run there.
const onServer = process.env.DATABASE_URL
  ? {}
  : { skip: "PGlite runs one transaction at a time: no request ever waits for another one's lock" }

/** Answers `request`, sent while another transaction has changed (and locked) a row and not committed yet. */
async function sentDuringChange<T>(change: (tx: Tx) => Promise<unknown>, request: () => Promise<T>): Promise<T> {
  let commit!: () => void
  let changed!: () => void
  const ready = new Promise<void>((resolve) => {
    changed = resolve
  })
  const held = ctx.db.transaction(async (tx) => {
    await change(tx)
    changed()
    await new Promise<void>((resolve) => {
      commit = resolve
    })
  })
  await ready
  const answer = request()
  for (let waited = 0; ; waited++) {
    const [row] = (await ctx.db.execute(
      sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    )) as unknown as { n: number }[]
    if (row!.n > 0) break
    if (waited > 500) throw new Error('the request never waited for the lock')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  commit()
  await held
  return answer
}

/** What an update in place does to the row: another marketplace version, the next revision. */
const movedToNewest = (id: string, versionId: string) => (tx: Tx) =>
  tx
    .update(connectors)
    .set({ marketplaceVersionId: versionId, revision: sql`${connectors.revision} + 1` })
    .where(eq(connectors.id, id))

t.test('an update that waited for another update of the connector answers 409, not 404', onServer, async (t) => {
  const installed = await install(ctx.db, admin, 'hubspot')
  await newestVersion('hubspot')
  const version = await marketplaceLatest('hubspot')
  const client = adminClient
  const page = await client.get(`/connectors/${installed.id}/update`)
  const [newest] = await ctx.db
    .select({ id: marketplaceVersions.id })
    .from(marketplaceVersions)
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, marketplaceVersions.marketplaceConnectorId))
    .where(and(eq(marketplaceConnectors.key, 'hubspot'), eq(marketplaceVersions.version, version)))
  const response = await sentDuringChange(movedToNewest(installed.id, newest!.id), () =>
    client.post(`/connectors/${installed.id}/update`, {
      revision: '1',
      version,
      submission: submissionIn(page.body, `/connectors/${installed.id}/update`),
    }),
  )
  t.equal(response.statusCode, 409)
  t.match(textOf(response.body), 'Somebody else just updated this connector')
})

t.test('a removal that waited for an update of the connector answers 409, not 404', onServer, async (t) => {
  const installed = await install(ctx.db, admin, 'hubspot')
  await newestVersion('hubspot')
  const client = adminClient
  const prompt = await client.get(`/connectors/${installed.id}/delete`)
  const [entry] = await ctx.db
    .select({ latest: marketplaceConnectors.latestVersionId })
    .from(marketplaceConnectors)
    .where(eq(marketplaceConnectors.key, 'hubspot'))
  const response = await sentDuringChange(movedToNewest(installed.id, entry!.latest!), () =>
    client.post(`/connectors/${installed.id}/delete`, {
      lockVersion: '1',
      confirm: 'confirm',
      submission: submissionIn(prompt.body, `/connectors/${installed.id}/delete`),
    }),
  )
  t.equal(response.statusCode, 409)
  t.match(textOf(response.body), /saved a change to this connector meanwhile \(revision \d+\)\. Nothing was removed/)
  t.equal((await ctx.db.select().from(connectors).where(eq(connectors.id, installed.id))).length, 1)
})

t.test(
  'moving instances that waited for an update of the old connector answers 409 (check the preview again), not 404',
  onServer,
  async (t) => {
    const old = await install(ctx.db, admin, 'klaviyo')
    await addRefundsEndpoint(ctx.db, admin, old.id)
    await newestVersion('klaviyo')
    const version = await marketplaceLatest('klaviyo')
    const alongside = await installVersionAlongside(ctx.db, admin, { connectorId: old.id, version })
    const row = await connectorRow(ctx.db, old.id)
    const [instance] = await ctx.db
      .insert(instances)
      .values({
        companyId: ctx.company.id,
        connectorId: old.id,
        name: 'Klaviyo - EU',
        authMethodKey: row.definition.authMethods[0]!.key,
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: 1,
        rateLimitUnit: 'second',
        createdBy: admin.id,
      })
      .returning()
    const client = adminClient
    const migrate = `/connectors/${alongside.id}/migrate`
    await client.get(migrate)
    const preview = await client.post(migrate, {
      from: old.id,
      instance: instance!.id,
      suffix: ' (new)',
      action: 'preview',
    })
    t.equal(preview.statusCode, 200)
    const plan = /name="plan" value="([^"]+)"/.exec(preview.body)![1]!
    const submission = /name="submission" value="([^"]+)"/.exec(preview.body)![1]!
    const response = await sentDuringChange(
      movedToNewest(old.id, (await connectorRow(ctx.db, alongside.id)).marketplaceVersionId),
      () =>
        client.post(migrate, {
          from: old.id,
          instance: instance!.id,
          suffix: ' (new)',
          plan,
          submission,
          action: 'apply',
        }),
    )
    t.equal(response.statusCode, 409)
    t.match(textOf(response.body), 'Something changed since this preview was shown')
  },
)
