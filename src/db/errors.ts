// PostgreSQL errors look different through postgres.js, PGlite and drizzle's wrapper: read them once here.
interface PgErrorFields { code?: string; constraint_name?: string; constraint?: string; cause?: unknown }

function pgError(error: unknown): PgErrorFields | null {
  let current: unknown = error
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const fields = current as PgErrorFields
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) return fields
    current = fields.cause
  }
  return null
}

/** The database refused the change because of this constraint (unique, foreign key or check). */
export function violates(error: unknown, constraint: string): boolean {
  const fields = pgError(error)
  return !!fields && (fields.constraint_name ?? fields.constraint) === constraint
}

export const UNIQUE_VIOLATION = '23505'
export const FOREIGN_KEY_VIOLATION = '23503'

export function pgErrorCode(error: unknown): string | undefined {
  return pgError(error)?.code
}
