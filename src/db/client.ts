// One `Db` type over two drivers: embedded PGlite (no DATABASE_URL) or a PostgreSQL server.
import path from 'node:path'
import { mkdirSync } from 'node:fs'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { DataFolderLock } from './data-folder-lock.js'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>
/** A transaction inside a domain function: the same query surface as `Db`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
/** What a read helper takes: the database, or the transaction it runs inside. */
export type Queryable = Db | Tx

export interface Database {
  db: Db
  kind: 'pglite' | 'postgres'
  /** The lock on an embedded database's folder, held until `close()`. */
  lock?: DataFolderLock
  close(): Promise<void>
}

const MIGRATIONS = path.join(import.meta.dirname, '..', '..', 'drizzle')

/** The key of the PostgreSQL advisory lock under which one process at a time migrates and prepares the database. */
export const MIGRATION_LOCK = 7_340_019_001

/**
 * The migrations this code knows (drizzle/meta/_journal.json), as the `created_at` drizzle records
 * for each. Read once: the files ship with the code, so every process of one version agrees.
 */
let known: number[] | undefined
export function knownMigrations(): number[] {
  known ??= readMigrationFiles({ migrationsFolder: MIGRATIONS }).map((migration) => migration.folderMillis)
  return known
}

/** The database was migrated by a newer version of the dashboard: this code must not write to it. */
export class DatabaseNewerThanCode extends Error {
  override name = 'DatabaseNewerThanCode'
  constructor(readonly unknown: number[]) {
    const newest = new Date(Math.max(...unknown)).toISOString()
    super(
      `The database has ${unknown.length} migration${unknown.length === 1 ? '' : 's'} this version of the dashboard does not know (the newest from ${newest}): a newer version has upgraded it. Run that version or a later one, or restore a backup taken before the upgrade.`,
    )
  }
}

/** Refuses a database with an applied migration that is not in this code's journal. */
export function refuseNewerDatabase(applied: number[]): void {
  const ours = new Set(knownMigrations())
  const unknown = applied.filter((createdAt) => !ours.has(createdAt))
  if (unknown.length) throw new DatabaseNewerThanCode(unknown)
}

const APPLIED_MIGRATIONS = 'select created_at from drizzle.__drizzle_migrations'
/** On a fresh database drizzle's table does not exist yet. */
const MIGRATIONS_TABLE_EXISTS = `select to_regclass('drizzle.__drizzle_migrations') is not null as present`

/**
 * Whether the database has exactly the migrations this code knows ('current'), misses some
 * ('behind'), or has one it does not know ('ahead'): what /readyz asks.
 */
export async function migrationState(db: Db): Promise<'current' | 'behind' | 'ahead'> {
  const result = await db.execute(sql.raw(APPLIED_MIGRATIONS))
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
    created_at: string | number
  }[]
  const applied = new Set(rows.map((row) => Number(row.created_at)))
  const ours = knownMigrations()
  if ([...applied].some((createdAt) => !ours.includes(createdAt))) return 'ahead'
  return ours.every((createdAt) => applied.has(createdAt)) ? 'current' : 'behind'
}

export interface DatabaseOptions {
  /** Called with each SQL statement sent and its parameters (the benchmark counts and explains them). */
  onQuery?: (sql: string, params: unknown[]) => void
  max?: number
  /** What this process is, for the message another process gets when it finds the embedded database in use. */
  command?: string
  /**
   * Runs once the database is migrated, still under the migration lock: what one process must do
   * before any serves (publish the catalogue, create the demo company), done once when many start together.
   */
  onMigrated?: (db: Db) => Promise<void>
}

/** Opens the database and applies any migration not yet applied. */
export async function openDatabase(
  databaseUrl: string | undefined,
  dataDir: string,
  options: DatabaseOptions = {},
): Promise<Database> {
  if (databaseUrl) return openPostgres(databaseUrl, options)
  mkdirSync(dataDir, { recursive: true })
  return openPglite(path.join(dataDir, 'pglite'), options)
}

/**
 * Settings of the app's connections to a PostgreSQL server. The data is cached or on SSD:
 * the default random_page_cost (4, for spinning disks) makes PostgreSQL prefer a sequential scan
 * to an index on tables of a few thousand rows, e.g. for a trigram search.
 */
export const SERVER_SETTINGS = { random_page_cost: 1.1 }

/**
 * Every wait on the PostgreSQL server is bounded, so that while it is down or unreachable each
 * request gets its 503 page within 5 seconds instead of hanging: the server stops a statement after
 * `statement_timeout`; postgres.js gives up connecting after `connect_timeout` seconds, waiting for
 * a free connection after `queue_timeout`, and on a query after `query_timeout` (waiting and
 * running; the backstop for a server or network gone silent) plus `cancel_timeout` to cancel it.
 * A DATABASE_URL parameter of the same name (`?statement_timeout=10000&query_timeout=12`, milliseconds and seconds) overrides.
 */
export const SERVER_TIMEOUTS = {
  settings: { statement_timeout: 2_500, idle_in_transaction_session_timeout: 10_000 },
  client: { connect_timeout: 2, queue_timeout: 2, query_timeout: 3, cancel_timeout: 1 },
}

/** Seconds before reconnecting after the `retries`th failed attempt: soon after the server is back, however long it was away. */
function reconnectDelay(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 0.5)
}

/** `defaults` without the keys the URL's query string sets itself. */
function unlessInUrl<T extends Record<string, unknown>>(url: string, defaults: T): Partial<T> {
  const given = new URL(url).searchParams
  return Object.fromEntries(Object.entries(defaults).filter(([key]) => !given.has(key))) as Partial<T>
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const client = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { ...SERVER_SETTINGS, ...SERVER_TIMEOUTS.settings },
    ...unlessInUrl(url, SERVER_TIMEOUTS.client),
    backoff: reconnectDelay,
    ...(options.onQuery
      ? { debug: (_connection: number, query: string, params: unknown[]) => options.onQuery!(query, params) }
      : {}),
  })
  // Drizzle sends each query as an unnamed statement: postgres.js then asks the server for the
  // parameter types first (two round trips) and PostgreSQL parses and plans it every time. Named
  // statements are cached per connection: one round trip. The app's SQL has a bounded set of shapes.
  const unsafe = client.unsafe
  client.unsafe = ((query: string, args?: unknown[], queryOptions?: object) =>
    Array.isArray(args)
      ? unsafe(query, args as never, { ...queryOptions, prepare: true })
      : unsafe(query, args as never, queryOptions as never)) as typeof client.unsafe
  const db: Db = drizzle(client, { schema })
  // Migrations may run long: only the connect timeout applies to them. Their one connection holds
  // the advisory lock: processes starting together migrate and prepare one after the other (the
  // later ones find nothing left to do); ending that connection releases the lock.
  const migrationClient = postgres(url, {
    max: 1,
    onnotice: () => {},
    ...unlessInUrl(url, { connect_timeout: SERVER_TIMEOUTS.client.connect_timeout }),
  })
  try {
    await migrationClient.unsafe(`select pg_advisory_lock(${MIGRATION_LOCK})`)
    const [table] = await migrationClient.unsafe<{ present: boolean }[]>(MIGRATIONS_TABLE_EXISTS)
    if (table!.present)
      refuseNewerDatabase(
        (await migrationClient.unsafe<{ created_at: string }[]>(APPLIED_MIGRATIONS)).map((row) =>
          Number(row.created_at),
        ),
      )
    await migrate(drizzle(migrationClient), { migrationsFolder: MIGRATIONS })
    if (options.onMigrated) await options.onMigrated(db)
  } catch (error) {
    await client.end({ timeout: 1 })
    throw error
  } finally {
    await migrationClient.end()
  }
  return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) }
}

/**
 * `dataPath` undefined keeps the database in memory (tests). A folder is locked while it is open
 * (the lock file `<dataPath>.lock`): another process opening it gets DataFolderInUse.
 */
export async function openPglite(dataPath: string | undefined, options: DatabaseOptions = {}): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm')
  const { drizzle } = await import('drizzle-orm/pglite')
  const { migrate } = await import('drizzle-orm/pglite/migrator')
  let lock: DataFolderLock | undefined
  if (dataPath) {
    mkdirSync(path.dirname(dataPath), { recursive: true })
    lock = DataFolderLock.acquire(
      dataPath,
      `${dataPath}.lock`,
      options.command ?? 'another process of the connectors dashboard',
    )
  }
  let client
  try {
    client = await PGlite.create(dataPath, { extensions: { pg_trgm } })
  } catch (error) {
    lock?.release()
    throw error
  }
  const close = async () => {
    try {
      await client.close()
    } finally {
      lock?.release()
    }
  }
  const pglite = drizzle(client, {
    schema,
    ...(options.onQuery ? { logger: { logQuery: (q: string, params: unknown[]) => options.onQuery!(q, params) } } : {}),
  })
  const db: Db = pglite
  try {
    // One process by nature (the data folder's lock): no advisory lock needed.
    const table = await client.query<{ present: boolean }>(MIGRATIONS_TABLE_EXISTS)
    if (table.rows[0]!.present)
      refuseNewerDatabase(
        (await client.query<{ created_at: string }>(APPLIED_MIGRATIONS)).rows.map((row) => Number(row.created_at)),
      )
    await migrate(pglite, { migrationsFolder: MIGRATIONS })
    if (options.onMigrated) await options.onMigrated(db)
  } catch (error) {
    await close()
    throw error
  }
  return { db, kind: 'pglite', ...(lock ? { lock } : {}), close }
}
