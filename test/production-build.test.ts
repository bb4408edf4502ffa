// `npm run build` then `npm run start:prod`: the compiled server runs on plain node (no TypeScript
// loader) and finds its templates, static files, migrations and catalogue from dist/.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { get } from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { build } from '../scripts/build.js'
import { emptyDatabase, serverUrl } from './databases.js'
import { ROOT, startServer, waitForOutput } from './server-process.js'

const BUILT_MARK = '/* compressed by the build */'
interface BuiltAsset {
  name: string
  url: string
  compressed: boolean
}

t.test('the built server boots with node alone and serves the sign-in page', async (t) => {
  // A folder of its own in the project's root (as dist/ is), so a developer's dist/ is left alone.
  const outDir = path.join(ROOT, `dist-test-${randomBytes(4).toString('hex')}`)
  const dataDir = await mkdtemp(path.join(tmpdir(), 'connectors-build-'))
  t.teardown(() =>
    Promise.all([rm(outDir, { recursive: true, force: true }), rm(dataDir, { recursive: true, force: true })]),
  )
  await build(outDir)
  const built = JSON.parse(await readFile(path.join(outDir, 'static', 'assets.json'), 'utf8')) as BuiltAsset[]
  const appCss = built.find((a) => a.name === 'app.css')!
  t.ok(appCss.compressed, 'the build compressed app.css ahead')
  // Marked, so that the server can be seen sending the build's file rather than compressing its own.
  await writeFile(path.join(outDir, 'static', 'app.css.br'), brotliCompressSync(BUILT_MARK))

  // On the PostgreSQL server when there is one (CI): booting the embedded database takes longer.
  const database: Record<string, string> = serverUrl ? { DATABASE_URL: await emptyDatabase(t) } : {}
  const server = await startServer({ DATA_DIR: dataDir, ...database }, [path.join(outDir, 'server.js')])
  t.teardown(() => {
    server.child.kill('SIGKILL')
  })
  await waitForOutput(server, /Demo company created/, 10_000)
  const health = await fetch(`${server.url}/healthz`)
  t.equal(health.status, 200, '/healthz answers')
  const login = await fetch(`${server.url}/login`)
  t.equal(login.status, 200)
  t.match(await login.text(), /<form[^>]+action="\/login"/, 'the sign-in page is rendered from views/')
  const css = await fetch(`${server.url}/static/htmx/htmx.min.js`)
  t.equal(css.status, 200, 'static files are served')
  // Compressed by the build, not by the server as it starts: it sends the file the build wrote.
  const sent = await rawGet(`${server.url}${appCss.url}`, { 'accept-encoding': 'br' })
  t.equal(brotliDecompressSync(sent).toString(), BUILT_MARK, 'the server sends the brotli file the build wrote')
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 'code 0 signal null', 'SIGTERM closes cleanly')
  t.notMatch(server.output(), /tsx/, 'no TypeScript loader is involved')
})

/** A response's body as sent, not decoded (fetch would undo the compression). */
function rawGet(url: string, headers: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve(Buffer.concat(chunks)))
    }).on('error', reject)
  })
}
