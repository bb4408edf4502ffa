// data_versions (migrations 0015–0016): the counters cached pages are keyed by. The database moves a
// company's on at the commit of every transaction that changed what its pages show (once per
// transaction, however many rows), never another company's, never for a rolled back change; the
// marketplace's own connectors move the marketplace's counter, a company's custom ones the company's.
import t from 'tap'
import { eq, sql } from 'drizzle-orm'
import { connectionShapes, connectors, dataVersions, instances, MARKETPLACE_SCOPE, users } from '../../src/db/schema.js'
import { userForSession, startSession } from '../../src/domain/users.js'
import { recordEvent } from '../../src/domain/audit.js'
import { catalogueDatabase, companyAdministrator } from '../helpers.js'
import { addFlow, addInstance, install, installCustom, publishNextVersion } from '../connector-fixtures.js'

const { db } = await catalogueDatabase(t)

const versionOf = async (scope: string) =>
  (await db.select({ v: dataVersions.version }).from(dataVersions).where(eq(dataVersions.scope, scope)))[0]?.v ?? 0

const acme = await companyAdministrator(db, 'Acme')
const globex = await companyAdministrator(db, 'Globex')

/** How far `change` moved Acme's, Globex's and the marketplace's counters. */
async function moves(change: () => Promise<unknown>) {
  const before = [
    await versionOf(acme.companyId),
    await versionOf(globex.companyId),
    await versionOf(MARKETPLACE_SCOPE),
  ]
  await change()
  const after = [await versionOf(acme.companyId), await versionOf(globex.companyId), await versionOf(MARKETPLACE_SCOPE)]
  return after.map((v, i) => v - before[i]!)
}

t.test("every change of a company's data moves its counter once, and only its", async (t) => {
  const xero = await install(db, acme, 'xero')
  t.same(await moves(() => install(db, acme, 'shopify')), [1, 0, 0], 'a connector installed (connector + revision)')
  t.same(
    await moves(() => db.update(connectors).set({ name: 'Xero (books)' }).where(eq(connectors.id, xero.id))),
    [1, 0, 0],
    'a connector renamed',
  )
  let instanceId = ''
  t.same(
    await moves(async () => (instanceId = (await addInstance(db, acme, xero.id, 'Books - UK', 'oauth2')).id)),
    [1, 0, 0],
    'an instance added',
  )
  t.same(
    await moves(() => addFlow(db, acme, 'Orders', [{ instanceId, endpointKey: 'get_invoices' }])),
    [2, 0, 0],
    'a process flow, then its connection shape: two transactions',
  )
  t.same(
    await moves(() => db.update(users).set({ name: 'Ana D.' }).where(eq(users.id, acme.id))),
    [1, 0, 0],
    'a person renamed (names are shown on connectors)',
  )
  t.same(
    await moves(() =>
      db.transaction(async (tx) => {
        await tx.update(instances).set({ name: 'Books - GB' }).where(eq(instances.companyId, acme.companyId))
        await tx.update(connectors).set({ name: 'Xero' }).where(eq(connectors.id, xero.id))
      }),
    ),
    [1, 0, 0],
    'many rows of several tables in one transaction: moved once',
  )
  t.same(
    await moves(() =>
      db
        .transaction(async (tx) => {
          await tx.update(connectors).set({ name: 'Never' }).where(eq(connectors.id, xero.id))
          throw new Error('rolled back')
        })
        .catch(() => {}),
    ),
    [0, 0, 0],
    'a rolled back change moves nothing',
  )
  t.same(
    await moves(() => db.delete(connectionShapes).where(eq(connectionShapes.instanceId, instanceId))),
    [1, 0, 0],
    'a connection shape removed',
  )
  const [ours, theirs, marketplace] = await moves(() => installCustom(db, globex, 'Our ERP'))
  t.same([ours, theirs! > 0, marketplace], [0, true, 0], "a custom connector (several steps): its company's only")
  t.same(
    await moves(() => publishNextVersion(db, 'xero')),
    [1, 0, 1],
    "a marketplace version published: the marketplace's, and the company whose connector it updates",
  )
  t.same(
    await moves(() =>
      recordEvent(db, acme, { action: 'install', subjectType: 'connector', subjectId: xero.id, summary: 'Xero' }),
    ),
    [1, 0, 0],
    'an audit log entry alone (the audit log page shows it)',
  )
  t.same(await moves(() => db.execute(sql`select 1`)), [0, 0, 0], 'reading moves nothing')
})

t.test('the session reads the counters with the signed-in person', async (t) => {
  const token = (await startSession(db, { id: acme.id, passwordHash: await passwordHashOf(acme.id) }))!
  const before = (await userForSession(db, token))!.dataVersion
  t.equal(before, `${await versionOf(acme.companyId)}.${await versionOf(MARKETPLACE_SCOPE)}`)
  await install(db, acme, 'magento')
  t.not((await userForSession(db, token))!.dataVersion, before, 'a change: another version at the next request')
})

async function passwordHashOf(id: string) {
  return (await db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, id)))[0]!.hash
}
