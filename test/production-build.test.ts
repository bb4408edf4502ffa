// `npm run build` then `npm run start:prod`: the compiled server runs on plain node (no TypeScript
// loader) and finds its templates, static files, migrations and catalogue from dist/.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { build } from '../scripts/build.js'
import { emptyDatabase, serverUrl } from './databases.js'
import { ROOT, startServer, waitForOutput } from './server-process.js'

t.test('the built server boots with node alone and serves the sign-in page', async (t) => {
  // A folder of its own in the project's root (as dist/ is), so a developer's dist/ is left alone.
  const outDir = path.join(ROOT, `dist-test-${randomBytes(4).toString('hex')}`)
  const dataDir = await mkdtemp(path.join(tmpdir(), 'connectors-build-'))
  t.teardown(() =>
    Promise.all([rm(outDir, { recursive: true, force: true }), rm(dataDir, { recursive: true, force: true })]),
  )
  await build(outDir)

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
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 'code 0 signal null', 'SIGTERM closes cleanly')
  t.notMatch(server.output(), /tsx/, 'no TypeScript loader is involved')
})
