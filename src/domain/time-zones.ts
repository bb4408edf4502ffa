// The time zones an instance can use: every zone of the IANA time zone database by its current
// name, UTC first. The list comes from the runtime (Intl, whose ICU data Node.js keeps up to date),
// so every name offered is one Intl can work with.

/**
 * ICU names zones by CLDR's ids, which never change, so Intl still says Asia/Calcutta where the
 * IANA database has long said Asia/Kolkata (also after `resolvedOptions()`, in Node.js 20 and in
 * Chromium alike). CLDR records the current IANA name of each such zone (the `iana` attribute in
 * common/bcp47/timezone.xml): these are all of them, the difference between ICU's zone list and the
 * IANA database's zone.tab (tzdata 2025b).
 */
const IANA_NAME_OF: Readonly<Record<string, string>> = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
}

// Per process, and safe so: derived from the runtime's time zone data alone, the same in every process.
const canonical = new Map<string, string | null>()

/**
 * The current IANA name of a time zone given by any of its names (Asia/Calcutta, asia/kolkata,
 * US/Eastern, Etc/UTC…), or null when it is not a time zone.
 */
export function canonicalTimeZone(name: string): string | null {
  let known = canonical.get(name)
  if (known === undefined) {
    try {
      const id = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone
      known = IANA_NAME_OF[id] ?? id
    } catch {
      known = null
    }
    // Any text can arrive here from a form: remember only what is a zone.
    if (known !== null || canonical.size < 1000) canonical.set(name, known)
  }
  return known
}

/** What the time zone select offers: UTC first (the default), then every zone by name. */
export const TIME_ZONES: readonly string[] = [
  'UTC',
  ...Intl.supportedValuesOf('timeZone')
    .map((zone) => canonicalTimeZone(zone) ?? zone)
    .filter((zone) => zone !== 'UTC')
    .sort(),
]

const OFFERED = new Set(TIME_ZONES)

/** A time zone the select offers, by any of its names: its current name; otherwise null. */
export function offeredTimeZone(name: string): string | null {
  const zone = canonicalTimeZone(name)
  return zone && OFFERED.has(zone) ? zone : null
}
