// Formatting helpers available in every template as `it.format`.
export { nameWithVersion, versionLabel as version } from '../domain/versions.js'
export { listOf, pick, plural } from '../domain/words.js'
const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short',
})

const timeOf = (value: Date | string) => (typeof value === 'string' ? Date.parse(value) : value.getTime())

// Intl formatting takes microseconds and a list shows dozens of dates: one string per day, reused.
const DAY_MS = 86_400_000
// Per process, and safe so (N processes, one database): derived from the day alone, the same in every process.
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

/** "2026-11-28": a <time> shown as a day needs no more (and a long list saves the bytes). */
export function isoDay(value: Date | string | null | undefined): string {
  return isoDate(value).slice(0, 10)
}

export function isoDate(value: Date | string | null | undefined): string {
  return value ? (value instanceof Date ? value : new Date(value)).toISOString() : ''
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
