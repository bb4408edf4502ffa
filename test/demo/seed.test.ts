import t from 'tap'
import { eq } from 'drizzle-orm'
import { companies, marketplaceConnectors, users } from '../../src/db/schema.js'
import { DEMO_EMAIL, prepareDatabase } from '../../src/demo/seed.js'
import { listConnectors } from '../../src/domain/connectors.js'
import { testDatabase } from '../helpers.js'

t.test('the demo company has connectors with an update waiting, one modified and one not', async (t) => {
  const { db } = await testDatabase(t)
  t.match(await prepareDatabase(db, { production: false }), {
    kind: 'demo created',
    signIn: { email: DEMO_EMAIL, password: 'connectors-demo' },
  })
  const [admin] = await db.select().from(users).where(eq(users.email, DEMO_EMAIL))
  const list = await listConnectors(db, admin!, { page: 1 })
  const byName = Object.fromEntries(list.rows.map((c) => [c.name, c]))
  t.match(byName.BigCommerce, {
    updateAvailable: true,
    modifiedByName: 'Ana Diaz',
    version: '3.0.0',
    latestVersion: '3.1.0',
  })
  t.ok(byName.BigCommerce!.modifiedAt)
  t.match(byName.Shopify, { updateAvailable: true, modifiedAt: null, version: '2.1.0', latestVersion: '2.2.0' })
  t.match(byName.Klaviyo, { updateAvailable: false })
  t.same(await prepareDatabase(db, { production: false }), { kind: 'ready' }, 'a second start changes nothing')
})

t.test(
  'production never creates demo data: it publishes the catalogue and says how to create the first administrator',
  async (t) => {
    const { db } = await testDatabase(t)
    t.same(await prepareDatabase(db, { production: true }), { kind: 'no company' })
    t.same(await db.select().from(companies), [], 'no company')
    t.same(await db.select().from(users), [], 'nobody to sign in as')
    t.ok((await db.select().from(marketplaceConnectors)).length >= 25, 'the marketplace is published')
    t.same(
      await prepareDatabase(db, { production: true }),
      { kind: 'no company' },
      'every start says so until there is one',
    )
  },
)
