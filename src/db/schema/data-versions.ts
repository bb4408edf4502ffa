// What a cached page was made from: a counter per company (and one for the marketplace every company
// sees) that the database itself moves on at the commit of any transaction that changed that
// company's connectors, instances, flows, people, audit log or the marketplace (triggers, migration 0016).
// Every request reads its company's counters with its session (one statement); a page rendered
// at those counters is served again, by any process, until they move (src/plugins/page-cache.ts).
import { pgTable, uuid, bigint } from 'drizzle-orm/pg-core'

/** The scope of the marketplace's own connectors (no company's): the nil UUID. */
export const MARKETPLACE_SCOPE = '00000000-0000-0000-0000-000000000000'

export const dataVersions = pgTable('data_versions', {
  /** A company's id, or MARKETPLACE_SCOPE. No foreign key: the marketplace's scope is no company. */
  scope: uuid('scope').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull().default(0),
})
