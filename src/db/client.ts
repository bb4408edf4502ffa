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
  /** Called with each SQL statement sent (the benchmark counts them). */
  onQuery?: (sql: string) => void
  max?: number
}

/** Opens the database and applies any migration not yet applied. */
export async function openDatabase(databaseUrl: string | undefined, dataDir: string, options: DatabaseOptions = {}): Promise<Database> {
  if (databaseUrl) return openPostgres(databaseUrl, options)
  mkdirSync(dataDir, { recursive: true })
  return openPglite(path.join(dataDir, 'pglite'), options)
}

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
    ...(options.onQuery ? { debug: (_connection: number, query: string) => options.onQuery!(query) } : {}),
  })
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
  const db = drizzle(client, { schema, ...(options.onQuery ? { logger: { logQuery: (q: string) => options.onQuery!(q) } } : {}) })
  await migrate(db, { migrationsFolder: MIGRATIONS })
  return { db: db as unknown as Db, kind: 'pglite', close: () => client.close() }
}
