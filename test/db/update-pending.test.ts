// connectors.update_pending, kept by the database (migrations 0013–0014): what "N updates available"
// and the updates screen count. It follows publishing (for every company's connector of that
// marketplace connector), updating, rolling back across versions, and is never set on a custom one.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { connectors } from '../../src/db/schema.js'
import { rollbackConnector } from '../../src/domain/rollback.js'
import { updateConnector } from '../../src/domain/updates.js'
import { catalogueDatabase, companyAdministrator } from '../helpers.js'
import { connectorRow, install, installCustom, publishNextVersion } from '../connector-fixtures.js'

const { db } = await catalogueDatabase(t)

const pending = async (id: string) =>
  (await db.select({ p: connectors.updatePending }).from(connectors).where(eq(connectors.id, id)))[0]!.p

t.test('follows publishing, updating and rolling back; never on a custom connector', async (t) => {
  const admin = await companyAdministrator(db, 'Acme')
  const other = await companyAdministrator(db, 'Globex')
  const ours = await install(db, admin, 'xero')
  const theirs = await install(db, other, 'xero')
  const custom = await installCustom(db, admin, 'Our ERP')
  t.equal(await pending(ours.id), false, 'installed on the latest version: nothing pending')

  const version = await publishNextVersion(db, 'xero')
  t.equal(await pending(ours.id), true, 'a newer version is published: pending')
  t.equal(await pending(theirs.id), true, "and for another company's connector of it")

  await updateConnector(db, admin, { connectorId: ours.id, revision: 1, version })
  t.equal(await pending(ours.id), false, 'updated to it: nothing pending')
  t.equal(await pending(theirs.id), true, 'the other company still has it pending')

  const row = await connectorRow(db, ours.id)
  await rollbackConnector(db, admin, { connectorId: ours.id, revision: row.revision, number: 1 })
  t.equal(await pending(ours.id), true, 'rolled back to the older version: pending again')

  t.equal(await pending(custom.id), false, 'a custom connector with a newer version of its own is never pending')
})
