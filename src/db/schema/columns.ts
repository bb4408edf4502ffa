// Column helpers shared by the table files of this folder.
import { sql } from 'drizzle-orm'
import { uuid, timestamp, type AnyPgColumn } from 'drizzle-orm/pg-core'

export const id = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`)
export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow()

/** `column in ('a', 'b', …)`: a CHECK constraint written from one of the lists in domain/enums.ts. */
export const oneOf = (column: AnyPgColumn, values: readonly string[]) =>
  sql`${column} in (${sql.raw(values.map((v) => `'${v}'`).join(', '))})`
