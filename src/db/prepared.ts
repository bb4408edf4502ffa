// Queries that every request runs, built once. Drizzle otherwise builds a query's SQL text at every
// call (a sizeable share of a page's CPU time); a prepared query is built once per database and
// sent as a named statement, which PostgreSQL parses once per connection.
import type { Db } from './client.js'

/** `build` runs once per database; its prepared query is reused for every later call. */
export function preparedQuery<Query>(build: (db: Db) => Query): (db: Db) => Query {
  // Per process, and safe so: the SQL text is derived from the code alone; each pool has its own statements.
  const byDatabase = new WeakMap<Db, Query>()
  return (db) => {
    let query = byDatabase.get(db)
    if (!query) byDatabase.set(db, (query = build(db)))
    return query
  }
}
