// Boots the app exactly as `npm start` does on a new machine: embedded PGlite in a fresh data
// folder, demo data, the URL and the demo sign-in printed; then signs in with what it printed.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { spawnScript } from './server-process.js'

const root = path.join(import.meta.dirname, '..')

t.test('npm start on an empty data folder serves the demo company', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'connectors-smoke-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_FORMAT: 'json',
  }
  // As a user's shell would start it: no database server, no test runner's hooks.
  for (const key of Object.keys(env))
    if (key === 'DATABASE_URL' || key === 'NODE_ENV' || key === 'NODE_OPTIONS' || key.startsWith('TAP')) delete env[key]
  const server = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  server.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<string>((resolve) =>
    server.on('exit', (code, signal) => resolve(`code ${code} signal ${signal}`)),
  )
  t.teardown(() => {
    server.kill('SIGKILL')
  })

  const printed = await new Promise<{ url: string; email: string; password: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no sign-in printed:\n${output}`)), 60_000)
    server.stdout.on('data', (chunk) => {
      output += chunk
      const match = /Sign in at (http:\/\/\S+)\/login with email (\S+) and password (\S+?)"/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve({ url: match[1]!, email: match[2]!, password: match[3]! })
      }
    })
  })
  t.match(output, /Connectors dashboard listening on http:\/\/127\.0\.0\.1:\d+ \(database: embedded PGlite/)
  t.equal(output.match(/listening/gi)?.length, 1, 'the start log says "listening" once')

  const loginPage = await fetch(`${printed.url}/login`)
  const cookies = loginPage.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  const token = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1]!
  const signIn = await fetch(`${printed.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, email: printed.email, password: printed.password }),
  })
  t.equal(signIn.status, 303, 'the printed password signs in')
  const session = signIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  const page = await fetch(`${printed.url}/connectors`, { headers: { cookie: session } })
  t.equal(page.status, 200)
  const html = await page.text()
  t.match(html, 'Manage connectors')
  t.match(html, 'aria-label="settings for Shopify"', 'demo connectors are installed')
  const htmx = await fetch(`${printed.url}/static/htmx/htmx.min.js`)
  t.equal(htmx.status, 200, 'htmx is served as a static file')
  t.match(await htmx.text(), 'htmx')

  // A second `npm start` on the same folder would lose one of the two's changes: it refuses instead.
  const second = spawnScript('src/server.ts', [], { DATA_DIR: dataDir })
  t.equal(await second.exited, 'code 75 signal null', 'a second npm start on the same data folder exits at once')
  t.match(
    second.output(),
    `Not started: The embedded database in ${path.join(dataDir, 'pglite')} is in use by npm start (process ${server.pid}, running since `,
  )
  t.match(second.output(), `listening on ${printed.url}).`)
  t.match(
    second.output(),
    `Stop that process first (Ctrl+C in its terminal, or \`kill ${server.pid}\`), then try again.`,
  )
  t.match(
    second.output(),
    `open ${printed.url}. To run a second one, give it a DATA_DIR of its own, or run both on a PostgreSQL server`,
  )
  t.equal((await fetch(`${printed.url}/login`)).status, 200, 'the first one still serves')

  server.kill('SIGTERM')
  t.equal(await exited, 'code 0 signal null', 'SIGTERM closes cleanly')
  t.notOk(existsSync(path.join(dataDir, 'pglite.lock')), 'and releases the data folder')
})
