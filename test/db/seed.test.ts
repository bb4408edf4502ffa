import t from 'tap'
import { eq } from 'drizzle-orm'
import { users } from '../../src/db/schema.js'
import { DEMO_EMAIL, prepareDatabase } from '../../src/db/seed.js'
import { listConnectors } from '../../src/domain/connectors.js'
import { testDatabase } from '../helpers.js'

t.test('the demo company has connectors with an update waiting, one modified and one not', async (t) => {
  const { db } = await testDatabase(t)
  t.ok(await prepareDatabase(db, { production: false }))
  const [admin] = await db.select().from(users).where(eq(users.email, DEMO_EMAIL))
  const list = await listConnectors(db, admin!, { page: 1 })
  const byName = Object.fromEntries(list.rows.map((c) => [c.name, c]))
  t.match(byName.BigCommerce, { updateAvailable: true, modifiedByName: 'Ana Diaz', version: '3.0.0', latestVersion: '3.1.0' })
  t.ok(byName.BigCommerce!.modifiedAt)
  t.match(byName.Shopify, { updateAvailable: true, modifiedAt: null, version: '2.1.0', latestVersion: '2.2.0' })
  t.match(byName.Klaviyo, { updateAvailable: false })
  t.equal(await prepareDatabase(db, { production: false }), null, 'a second start changes nothing')
})
