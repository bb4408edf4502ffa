// Formatting helpers available in every template as `it.format`.
const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short',
})

const timeOf = (value: Date | string) => (typeof value === 'string' ? Date.parse(value) : value.getTime())

// Intl formatting takes microseconds and a list shows dozens of dates: one string per day, reused.
const DAY_MS = 86_400_000
const dates = new Map<number, string>()

/** "28 Nov 2026" */
export function date(value: Date | string | null | undefined): string {
  if (!value) return ''
  const day = Math.floor(timeOf(value) / DAY_MS)
  let text = dates.get(day)
  if (text === undefined) {
    if (dates.size >= 10_000) dates.clear()
    dates.set(day, text = DATE.format(day * DAY_MS))
  }
  return text
}

/** "28 Nov 2026, 14:05 UTC" */
export function dateTime(value: Date | string | null | undefined): string {
  return value ? DATE_TIME.format(new Date(value)) : ''
}

export function isoDate(value: Date | string | null | undefined): string {
  return value ? (value instanceof Date ? value : new Date(value)).toISOString() : ''
}

/** "0 instances", "1 instance", "3 instances". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** The word alone for a count: `pick(1, 'it', 'them')` → "it". */
export function pick<T>(n: number, one: T, many: T): T {
  return n === 1 ? one : many
}

/**
 * A version as a sentence names it: "version 2.1.0"; a custom connector's free-text version that
 * already says so as it is ("Version 1 - 28th July 2023"); any other text quoted (version “beta”).
 */
export function version(value: string): string {
  if (/^version\b/i.test(value)) return value
  if (/^v?\d/i.test(value)) return `version ${value}`
  return `version “${value}”`
}

/** A URL with some query parameters replaced (empty values dropped). */
export function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const search = params.toString()
  return search ? `${path}?${search}` : path
}
