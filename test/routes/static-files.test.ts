// Static files at addresses holding a hash of their content, cached for a year and sent precompressed;
// pages and fragments compressed as the browser allows. What a browser receives must decode to the
// same bytes as the uncompressed answer.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { Client, setup, signedIn, textOf } from '../helpers.js'

const ctx = await setup(t)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)
const anonymous = new Client(ctx.app)

const page = await admin.get('/connectors')
const linked = [...page.body.matchAll(/(?:href|src)="(\/static\/[^"#]+)/g)].map((m) => m[1]!)

t.test('every page links its CSS, JavaScript, htmx and icons at addresses with a content hash', async (t) => {
  for (const name of ['app.css', 'app.js', 'htmx.min.js', 'favicon.svg']) {
    const [stem, extension] = [name.slice(0, name.lastIndexOf('.')), name.slice(name.lastIndexOf('.'))]
    t.ok(
      linked.some((url) => new RegExp(`^/static/${stem.replace('.', '\\.')}\\.[0-9a-f]{10}\\${extension}$`).test(url)),
      `${name} is linked with its hash`,
    )
  }
  t.notOk(linked.includes('/static/app.css'), 'no plain address is linked')
})

t.test('a hashed file is cached for a year, and sent as brotli, gzip or plain as the browser accepts', async (t) => {
  const css = linked.find((url) => url.includes('/app.'))!
  const original = readFileSync(new URL('../../public/app.css', import.meta.url))

  const plain = await anonymous.get(css)
  t.equal(plain.statusCode, 200)
  t.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.match(plain.headers['content-type'], /^text\/css/)
  t.equal(plain.headers['content-encoding'], undefined, 'nothing accepted, nothing encoded')
  t.equal(plain.rawPayload.compare(original), 0, 'the file itself')
  t.match(plain.headers.vary, /accept-encoding/i)

  const br = await anonymous.get(css, { 'accept-encoding': 'gzip, deflate, br' })
  t.equal(br.headers['content-encoding'], 'br')
  t.ok(br.rawPayload.length < original.length / 2, `brotli: ${br.rawPayload.length} of ${original.length} bytes`)
  t.equal(brotliDecompressSync(br.rawPayload).compare(original), 0, 'brotli decodes to the file')

  const gzip = await anonymous.get(css, { 'accept-encoding': 'gzip' })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.equal(gunzipSync(gzip.rawPayload).compare(original), 0, 'gzip decodes to the file')

  const refused = await anonymous.get(css, { 'accept-encoding': 'br;q=0, gzip' })
  t.equal(refused.headers['content-encoding'], 'gzip', 'br;q=0 refuses brotli')

  const again = await anonymous.get(css, { 'if-none-match': String(plain.headers.etag) })
  t.equal(again.statusCode, 304, 'a browser that has it is told so')
})

t.test('plain addresses still answer, checked with the server each time; unknown ones are a 404 page', async (t) => {
  const htmx = await anonymous.get('/static/htmx/htmx.min.js')
  t.equal(htmx.statusCode, 200)
  t.equal(htmx.headers['cache-control'], 'public, max-age=0, must-revalidate')
  t.match(htmx.body, /htmx/)
  const missing = await anonymous.get('/static/nothing.1234567890.css')
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /^text\/html/)
  t.equal((await anonymous.get('/static/..%2Fpackage.json')).statusCode, 404, 'nothing outside the static files')
})

t.test('pages and fragments are compressed when the browser accepts it, and decode to the same HTML', async (t) => {
  const url = '/connectors'
  // A kept page (page-cache.ts) goes out as gzip compressed once when gzip is accepted (page-cache.test.ts).
  const br = await admin.get(url, { 'accept-encoding': 'br' })
  t.equal(br.statusCode, 200)
  t.equal(br.headers['content-encoding'], 'br')
  t.match(br.headers.vary, /accept-encoding/i)
  const html = brotliDecompressSync(br.rawPayload).toString()
  t.match(html, /<h1[^>]*>/)
  t.ok(
    br.rawPayload.length < Buffer.byteLength(html) / 2,
    `${br.rawPayload.length} of ${Buffer.byteLength(html)} bytes`,
  )

  const gzip = await admin.get(url, { 'accept-encoding': 'gzip' })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.match(gunzipSync(gzip.rawPayload).toString(), /<h1[^>]*>/)

  const partial = { 'hx-request': 'true', 'hx-request-type': 'partial' }
  const results = await admin.get('/marketplace?q=a', partial)
  t.ok(results.rawPayload.length > 1024, 'a fragment worth compressing')
  const fragment = await admin.get('/marketplace?q=a', { 'accept-encoding': 'br', ...partial })
  t.equal(fragment.headers['content-encoding'], 'br', 'an htmx fragment too')
  t.equal(textOf(brotliDecompressSync(fragment.rawPayload).toString()), textOf(results.body), 'the same results')

  const small = await admin.get(url, { 'accept-encoding': 'br', ...partial })
  t.ok(
    small.rawPayload.length < 1024 && small.headers['content-encoding'] === undefined,
    'under a kilobyte stays plain',
  )

  const identity = await admin.get(url)
  t.equal(identity.headers['content-encoding'], undefined, 'a client that accepts nothing gets plain HTML')
})
