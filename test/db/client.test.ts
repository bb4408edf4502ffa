// The app's connections to a PostgreSQL server: queries go as named statements (prepared once per
// connection), and each connection carries the server-side timeouts, which DATABASE_URL can override.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { eq, sql, type SQL } from 'drizzle-orm'
import { openDatabase, type Database } from '../../src/db/client.js'
import { companies } from '../../src/db/schema.js'

const serverUrl = process.env.DATABASE_URL
if (!serverUrl) {
  if (process.env.CI) t.fail('DATABASE_URL must be set in CI: these tests need the PostgreSQL server')
  else t.test('connections to a PostgreSQL server', { skip: 'needs a PostgreSQL server (DATABASE_URL)' }, () => {})
} else {
  const { default: postgres } = await import('postgres')
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  const name = `client_${Date.now()}_${randomBytes(3).toString('hex')}`
  await admin.unsafe(`create database "${name}"`)
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`

  /** Rows of raw SQL on the app's own connection (the `Db` type leaves the driver's result unknown). */
  const rowsOf = async <Row>(database: Database, query: SQL) => [
    ...((await database.db.execute(query)) as unknown as Row[]),
  ]

  t.test('a query sent again on a connection reuses its named statement', async (t) => {
    const database = await openDatabase(url.toString(), '', { max: 1 })
    t.teardown(() => database.close())
    for (const company of ['A', 'B', 'C']) await database.db.select().from(companies).where(eq(companies.name, company))
    const prepared = await rowsOf<{ statement: string }>(
      database,
      sql`select statement from pg_prepared_statements where statement like '%from "companies"%'`,
    )
    t.same(
      prepared.map((row) => row.statement),
      ['select "id", "name", "created_at" from "companies" where "companies"."name" = $1'],
      'one named statement, prepared once',
    )
  })

  t.test('each connection carries the server-side timeouts; a DATABASE_URL parameter overrides one', async (t) => {
    const database = await openDatabase(url.toString(), '', { max: 1 })
    t.teardown(() => database.close())
    const [settings] = await rowsOf<{ statement: string; idle: string }>(
      database,
      sql`select current_setting('statement_timeout') as statement, current_setting('idle_in_transaction_session_timeout') as idle`,
    )
    t.same(settings, { statement: '2500ms', idle: '10s' })

    const overridden = new URL(url)
    overridden.searchParams.set('statement_timeout', '10000')
    const other = await openDatabase(overridden.toString(), '', { max: 1 })
    t.teardown(() => other.close())
    const [setting] = await rowsOf<{ statement: string }>(
      other,
      sql`select current_setting('statement_timeout') as statement`,
    )
    t.equal(setting!.statement, '10s')
  })
}
