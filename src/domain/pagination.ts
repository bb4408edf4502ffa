// Server-side pagination shared by every list.
import { sql, type Placeholder } from 'drizzle-orm'

export interface Page<T> {
  rows: T[]
  total: number
  page: number
  pages: number
  pageSize: number
}

export function pageOf<T>(rows: (T & { total: number })[], page: number, pageSize: number, total?: number): Page<T> {
  const count = total ?? rows[0]?.total ?? 0
  return {
    rows: rows.map(({ total: _total, ...row }) => row as T),
    total: count,
    page,
    pageSize,
    pages: Math.max(1, Math.ceil(count / pageSize)),
  }
}

/**
 * A page size written into the SQL text rather than sent as a parameter. With `LIMIT $1`
 * PostgreSQL cannot tell a page from the whole table in a cached plan, so it plans the query
 * again at every execution; with a constant it plans once per connection and reuses the plan.
 */
export function constantLimit(pageSize: number): Placeholder<'limit', number> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`not a page size: ${pageSize}`)
  // Drizzle writes an SQL chunk given to .limit() as it is; the two fields make it fit .limit()'s placeholder type.
  return Object.assign(sql.raw(String(pageSize)), { name: 'limit' as const, protected: pageSize })
}

/** `%text%` for ILIKE, with the user's own % and _ taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}
