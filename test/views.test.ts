// The templates themselves (views/**/*.eta): raw output (`<%~`) only for what is already HTML, so
// nothing a user typed can reach the page unescaped; lines short enough to read.
import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { Eta } from 'eta'
import { VIEWS_DIR } from '../src/plugins/views.js'

const files = (await readdir(VIEWS_DIR, { recursive: true })).filter((f) => f.endsWith('.eta')).sort()
const sources = await Promise.all(
  files.map(async (file) => ({ file, text: await readFile(path.join(VIEWS_DIR, file), 'utf8') })),
)

t.test('raw output (<%~) is only a partial or an already rendered body', async (t) => {
  t.ok(files.length > 60, `${files.length} templates`)
  for (const { file, text } of sources) {
    text.split('\n').forEach((line, i) => {
      for (const [, raw] of line.matchAll(/<%~\s*([^%]*?)\s*%>/g)) {
        t.ok(/^include\(/.test(raw!) || raw === 'it.body', `${file}:${i + 1}: <%~ ${raw} %>`)
      }
    })
  }
})

// A long line is wrapped without changing the HTML sent: after a tag (Eta drops the line break that
// follows `%>`), inside code, or before `<%_ %>`, which drops the line break and indentation before it.
t.test('no template line is longer than 120 characters', async (t) => {
  const long = sources.flatMap(({ file, text }) =>
    text.split('\n').flatMap((line, i) => (line.length > 120 ? [`${file}:${i + 1}`] : [])),
  )
  t.same(long, [])
})

t.test('the keys of a saving form are escaped', async (t) => {
  const eta = new Eta({ views: VIEWS_DIR })
  const html = eta.render('/shared/form-keys', {
    csrfToken: 'a"b',
    submissionKey: () => 'k<1>',
    values: { lockVersion: '"><script>' },
  })
  t.match(html, '<input type="hidden" name="_csrf" value="a&quot;b">')
  t.match(html, '<input type="hidden" name="lockVersion" value="&quot;&gt;&lt;script&gt;">')
  t.match(html, '<input type="hidden" name="submission" value="k&lt;1&gt;">')
  t.notMatch(html, '<script>')
})
