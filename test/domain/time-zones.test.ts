import t from 'tap'
import { TIME_ZONES, canonicalTimeZone, offeredTimeZone } from '../../src/domain/time-zones.js'

/** Names the IANA time zone database has retired, with the names it uses now. */
const RETIRED = {
  'Asia/Calcutta': 'Asia/Kolkata',
  'Europe/Kiev': 'Europe/Kyiv',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Asia/Rangoon': 'Asia/Yangon',
  'America/Godthab': 'America/Nuuk',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'US/Eastern': 'America/New_York',
  GB: 'Europe/London',
  'Etc/UTC': 'UTC',
  'Etc/GMT': 'UTC',
}

t.test('the list offers UTC first, then every zone once, by its current IANA name', async (t) => {
  t.equal(TIME_ZONES[0], 'UTC')
  t.equal(new Set(TIME_ZONES).size, TIME_ZONES.length, 'no zone twice')
  t.ok(TIME_ZONES.length > 400, `${TIME_ZONES.length} zones`)
  t.same(TIME_ZONES.slice(1), [...TIME_ZONES.slice(1)].sort(), 'the rest by name')
  for (const [old, current] of Object.entries(RETIRED)) {
    t.notOk(TIME_ZONES.includes(old), `not ${old}`)
    t.ok(TIME_ZONES.includes(current), current)
  }
  const notCurrent = TIME_ZONES.filter((zone) => canonicalTimeZone(zone) !== zone)
  t.same(notCurrent, [], 'every offered name is its own current name')
  const unusable = TIME_ZONES.filter((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone }).format(0)
      return false
    } catch {
      return true
    }
  })
  t.same(unusable, [], 'Intl formats dates in every offered zone')
})

t.test('any name of a zone answers its current name; anything else is no zone', async (t) => {
  for (const [old, current] of Object.entries(RETIRED)) t.equal(offeredTimeZone(old), current, old)
  t.equal(offeredTimeZone('asia/kolkata'), 'Asia/Kolkata', 'whatever the case')
  t.equal(offeredTimeZone('Europe/London'), 'Europe/London')
  for (const junk of ['Mars/Olympus', '', 'UTC+1', '../../etc/passwd'])
    t.equal(offeredTimeZone(junk), null, JSON.stringify(junk))
})
