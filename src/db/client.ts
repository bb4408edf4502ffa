// One `Db` type over two drivers: embedded PGlite (no DATABASE_URL) or a PostgreSQL server.
import path from 'node:path'
import { mkdirSync } from 'node:fs'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>
/** A transaction inside a domain function: the same query surface as `Db`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

export interface Database {
  db: Db
  kind: 'pglite' | 'postgres'
  close(): Promise<void>
}

const MIGRATIONS = path.join(import.meta.dirname, '..', '..', 'drizzle')

export interface DatabaseOptions {
  /** Called with each SQL statement sent and its parameters (the benchmark counts and explains them). */
  onQuery?: (sql: string, params: unknown[]) => void
  max?: number
}

/** Opens the database and applies any migration not yet applied. */
export async function openDatabase(databaseUrl: string | undefined, dataDir: string, options: DatabaseOptions = {}): Promise<Database> {
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

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const migrationClient = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await migrate(drizzle(migrationClient), { migrationsFolder: MIGRATIONS })
  } finally {
    await migrationClient.end()
  }
  const client = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: SERVER_SETTINGS,
    ...(options.onQuery ? { debug: (_connection: number, query: string, params: unknown[]) => options.onQuery!(query, params) } : {}),
  })
  // Drizzle sends each query as an unnamed statement: postgres.js then asks the server for the
  // parameter types first (two round trips) and PostgreSQL parses and plans it every time. Named
  // statements are cached per connection: one round trip. The app's SQL has a bounded set of shapes.
  const unsafe = client.unsafe
  client.unsafe = ((query: string, args?: unknown[], queryOptions?: object) =>
    Array.isArray(args) ? unsafe(query, args as never, { ...queryOptions, prepare: true }) : unsafe(query, args as never, queryOptions as never)) as typeof client.unsafe
  const db = drizzle(client, { schema }) as unknown as Db
  return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) }
}

/** `dataPath` undefined keeps the database in memory (tests). */
export async function openPglite(dataPath: string | undefined, options: DatabaseOptions = {}): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm')
  const { drizzle } = await import('drizzle-orm/pglite')
  const { migrate } = await import('drizzle-orm/pglite/migrator')
  const client = await PGlite.create(dataPath, { extensions: { pg_trgm } })
  const db = drizzle(client, { schema, ...(options.onQuery ? { logger: { logQuery: (q: string, params: unknown[]) => options.onQuery!(q, params) } } : {}) })
  await migrate(db, { migrationsFolder: MIGRATIONS })
  return { db: db as unknown as Db, kind: 'pglite', close: () => client.close() }
}
