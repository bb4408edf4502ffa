// Migrations when many processes start at once, and a database newer than the code.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { sql } from 'drizzle-orm'
import { emptyDatabase, serverUrl } from './databases.js'
import { DatabaseNewerThanCode, knownMigrations, migrationState, openDatabase, openPglite } from '../src/db/client.js'

t.test(
  'processes starting together on a fresh database apply each migration once',
  { skip: !serverUrl && 'needs DATABASE_URL' },
  async (t) => {
    const url = await emptyDatabase(t)
    let prepared = 0
    const opened = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        openDatabase(url, '', {
          max: 1,
          // Runs under the same lock: once the first has prepared, the others see its work.
          onMigrated: async () => {
            prepared++
          },
        }),
      ),
    )
    t.teardown(() => Promise.all(opened.map((o) => o.status === 'fulfilled' && o.value.close())))
    t.same(
      opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'opened')),
      Array(5).fill('opened'),
      'every process starts',
    )
    t.equal(prepared, 5, 'each one prepared, one after the other')
    const check = postgres(url, { max: 1, onnotice: () => {} })
    t.teardown(() => check.end())
    const rows = await check`select created_at from drizzle.__drizzle_migrations order by created_at`
    t.same(
      rows.map((r) => Number(r.created_at)),
      knownMigrations(),
      'one row per migration, no duplicates',
    )
    const [first] = opened
    if (first?.status === 'fulfilled') t.equal(await migrationState(first.value.db), 'current', 'ready')
  },
)

t.test(
  'a server database with a migration this code does not know is refused',
  { skip: !serverUrl && 'needs DATABASE_URL' },
  async (t) => {
    const url = await emptyDatabase(t)
    const database = await openDatabase(url, '', { max: 1 })
    t.equal(await migrationState(database.db), 'current', 'ready once migrated')
    const newer = Math.max(...knownMigrations()) + 60_000
    const check = postgres(url, { max: 1, onnotice: () => {} })
    t.teardown(() => check.end())
    await check`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-version', ${newer})`
    t.equal(await migrationState(database.db), 'ahead', '/readyz would answer 503')
    await database.close()
    let prepared = false
    await t.rejects(
      openDatabase(url, '', {
        max: 1,
        onMigrated: async () => {
          prepared = true
        },
      }),
      DatabaseNewerThanCode,
    )
    await t.rejects(openDatabase(url, '', { max: 1 }), {
      message:
        /has 1 migration this version of the dashboard does not know \(the newest from \d{4}-.*\): a newer version has upgraded it/,
    })
    t.notOk(prepared, 'nothing is written')
    await check`delete from drizzle.__drizzle_migrations where created_at = ${newer}`
    const behind = await openDatabase(url, '', { max: 1 })
    t.equal(await migrationState(behind.db), 'current', 'without the unknown row it starts again')
    await behind.close()
  },
)

t.test('an embedded database with a migration this code does not know is refused', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'connectors-newer-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const database = await openPglite(path.join(dataDir, 'pglite'))
  await database.db.execute(
    sql.raw(
      `insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-version', ${Math.max(...knownMigrations()) + 60_000})`,
    ),
  )
  await database.close()
  await t.rejects(openPglite(path.join(dataDir, 'pglite')), DatabaseNewerThanCode)
  await t.rejects(
    openPglite(path.join(dataDir, 'pglite')),
    DatabaseNewerThanCode,
    'the folder was released by the refusal',
  )
})
