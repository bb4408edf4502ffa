// Sentences with a count or a version, read aloud for 0, 1 and many.
import t from 'tap'
import { listOf, pick, plural } from '../../src/domain/words.js'
import { nameWithVersion, versionLabel } from '../../src/domain/versions.js'

t.test('plural, pick and listOf', async (t) => {
  t.same(
    [0, 1, 3].map((n) => plural(n, 'instance')),
    ['0 instances', '1 instance', '3 instances'],
  )
  t.same(
    [0, 1, 3].map((n) => plural(n, 'more change', 'more changes')),
    ['0 more changes', '1 more change', '3 more changes'],
  )
  t.same(
    [0, 1, 2].map((n) => pick(n, 'it', 'them')),
    ['them', 'it', 'them'],
  )
  t.same([[], ['A'], ['A', 'B'], ['A', 'B', 'C']].map(listOf), ['', 'A', 'A and B', 'A, B and C'])
})

t.test('a version is named once, whatever text it is', async (t) => {
  t.equal(versionLabel('2.1.0'), 'version 2.1.0')
  t.equal(versionLabel('v3'), 'version v3')
  t.equal(
    versionLabel('Version 1 - 3rd December 2026'),
    'Version 1 - 3rd December 2026',
    'free text that says version is not prefixed again',
  )
  t.equal(versionLabel('version two'), 'version two')
  t.equal(versionLabel('Versionless beta'), 'version “Versionless beta”', 'other free text is quoted')
  t.equal(versionLabel('beta'), 'version “beta”')
  t.equal(nameWithVersion('Xero', '1.2.0'), 'Xero (version 1.2.0)')
  t.equal(nameWithVersion('Xero 1.2.0', '1.2.0'), 'Xero 1.2.0', 'a name that carries its version does not repeat it')
  t.equal(nameWithVersion('Payroll', 'Version 1 - 3rd December 2026'), 'Payroll (Version 1 - 3rd December 2026)')
})
