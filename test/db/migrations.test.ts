// The migration that makes connector names unique per company: a database that already has the same
// name twice (any case) is upgraded, not refused. The first installed keeps its name, the others get
// the first free " (n)", each rename is in the audit log; the index then refuses a duplicate.
import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { asc, eq, sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from '../../src/db/schema.js'
import { violates } from '../../src/db/errors.js'

const { auditEvents, connectors } = schema
const MIGRATIONS = path.join(import.meta.dirname, '..', '..', 'drizzle')
const RENAMING = 'rename_duplicate_connector_names'

/** The migrations folder as it was before the renaming migration (the journal cut there). */
function migrationsBefore(tag: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'migrations-'))
  cpSync(MIGRATIONS, folder, { recursive: true })
  const journalPath = path.join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] }
  const cut = journal.entries.findIndex((e) => e.tag.endsWith(tag))
  journal.entries = journal.entries.slice(0, cut)
  writeFileSync(journalPath, JSON.stringify(journal))
  t.teardown(() => rmSync(folder, { recursive: true, force: true }))
  return folder
}

type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** An empty database (PGlite, or a new one on the server when DATABASE_URL is set) and its migrate(folder). */
async function emptyDatabase(): Promise<{ db: Db; migrate: (folder: string) => Promise<void> }> {
  const url = process.env.DATABASE_URL
  if (!url) {
    const { PGlite } = await import('@electric-sql/pglite')
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm')
    const { drizzle } = await import('drizzle-orm/pglite')
    const { migrate } = await import('drizzle-orm/pglite/migrator')
    const client = await PGlite.create(undefined, { extensions: { pg_trgm } })
    t.teardown(() => client.close())
    const db = drizzle(client, { schema })
    return { db: db as unknown as Db, migrate: (folder) => migrate(db, { migrationsFolder: folder }) }
  }
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const name = `test_${Date.now()}_${randomBytes(4).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  const testUrl = new URL(url)
  testUrl.pathname = `/${name}`
  const client = postgres(testUrl.toString(), { max: 1, onnotice: () => {} })
  t.teardown(async () => {
    await client.end()
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })
  const db = drizzle(client, { schema })
  return { db: db as unknown as Db, migrate: (folder) => migrate(db, { migrationsFolder: folder }) }
}

t.test('duplicate connector names are renamed before names become unique', async (t) => {
  const { db, migrate } = await emptyDatabase()
  await migrate(migrationsBefore(RENAMING))

  // Rows as the schema before the migration had them (no column added since), in plain SQL.
  const id = () => randomUUID()
  const company = id()
  const other = id()
  const owner = id()
  const elsewhere = id()
  const entry = id()
  const version = id()
  await db.execute(
    sql`insert into companies (id, name) values (${company}, 'Old Data Ltd'), (${other}, 'Elsewhere Ltd')`,
  )
  await db.execute(sql`insert into users (id, company_id, email, name, password_hash, role)
    values (${owner}, ${company}, 'owner@old.test', 'Owner', 'x', 'administrator'), (${elsewhere}, ${other}, 'owner@elsewhere.test', 'Owner', 'x', 'administrator')`)
  await db.execute(
    sql`insert into marketplace_connectors (id, key, kind, name, description, system_type) values (${entry}, 'hubspot', 'prebuilt', 'HubSpot', 'CRM', 'CRM')`,
  )
  const definition = JSON.stringify({
    protocol: 'HTTP',
    baseUrl: '',
    dateFormat: 'Y-m-d',
    rateLimit: { amount: 1, unit: 'second' },
    variables: [],
    authMethods: [],
    endpoints: [],
  })
  await db.execute(
    sql`insert into marketplace_versions (id, marketplace_connector_id, version, release_notes, definition) values (${version}, ${entry}, '1.0.0', '', ${definition}::jsonb)`,
  )
  const installed = async (companyId: string, installedBy: string, name: string, minute: number) => {
    const connector = id()
    await db.execute(sql`insert into connectors (id, company_id, installed_by, name, marketplace_connector_id, marketplace_version_id, definition, created_at)
      values (${connector}, ${companyId}, ${installedBy}, ${name}, ${entry}, ${version}, ${definition}::jsonb, ${new Date(Date.UTC(2025, 0, 1, 12, minute)).toISOString()}::timestamptz)`)
    return { id: connector }
  }
  const first = await installed(company, owner, 'HubSpot', 0)
  const lowerCase = await installed(company, owner, 'hubspot', 1)
  const again = await installed(company, owner, 'HubSpot', 2)
  const numbered = await installed(company, owner, 'HubSpot (2)', 3)
  const theirs = await installed(other, elsewhere, 'HubSpot', 4)

  await migrate(MIGRATIONS)

  const names = Object.fromEntries(
    (await db.select().from(connectors).orderBy(asc(connectors.installedAt))).map((c) => [c.id, c.name]),
  )
  t.same(
    names,
    {
      [first.id]: 'HubSpot',
      [lowerCase.id]: 'hubspot (3)',
      [again.id]: 'HubSpot (4)',
      [numbered.id]: 'HubSpot (2)',
      [theirs.id]: 'HubSpot',
    },
    'the first installed keeps its name; the others get the first free number; other companies are untouched',
  )
  const events = await db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.companyId, company))
    .orderBy(asc(auditEvents.id))
  t.same(
    events.map((e) => [e.subjectId, e.actorId, e.action, e.summary]),
    [
      [
        lowerCase.id,
        null,
        'rename',
        'renamed connector hubspot to hubspot (3): names of connectors are unique from this version on',
      ],
      [
        again.id,
        null,
        'rename',
        'renamed connector HubSpot to HubSpot (4): names of connectors are unique from this version on',
      ],
    ],
    "each rename is in the company's audit log",
  )

  const duplicate = await installed(company, owner, 'HUBSPOT', 5).then(
    () => null,
    (error: unknown) => error,
  )
  t.ok(violates(duplicate, 'connectors_company_name_unique'), 'from now on the database refuses a duplicate')
})
