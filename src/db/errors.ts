// PostgreSQL errors look different through postgres.js, PGlite and drizzle's wrapper: read them once here.
interface PgErrorFields {
  code?: string
  constraint_name?: string
  constraint?: string
  cause?: unknown
}

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

export const FOREIGN_KEY_VIOLATION = '23503'

export function pgErrorCode(error: unknown): string | undefined {
  return pgError(error)?.code
}

const UNAVAILABLE = new Set([
  // The network and postgres.js: refused, reset, lost, or no answer within a timeout (see SERVER_TIMEOUTS).
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'QUEUE_TIMEOUT',
  'QUERY_TIMEOUT',
  'CANCEL_UNANSWERED',
  // PostgreSQL: statement timeout (57014), shutting down or starting up (57P01-57P03), too many connections, connection errors.
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
])

/** The database cannot be reached (down, restarting, connection lost): worth a 503, not a 500. */
export function databaseUnavailable(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && UNAVAILABLE.has(code)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/**
 * Runs a check-then-delete transaction again when the database refused it for this constraint:
 * something was added between the check and the delete, and the second run reports it.
 */
export async function retryOnceIfViolated<T>(constraint: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt()
  } catch (error) {
    if (violates(error, constraint)) return attempt()
    throw error
  }
}
