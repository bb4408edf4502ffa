// The publish command against the embedded database of a running app (`npm start` in one shell,
// `npm run marketplace:publish`, i.e. src/marketplace/publish.ts, in another): refused, naming the app, so nothing is lost; once the
// app has stopped it publishes, and the app shows the new version after its restart.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { readCatalogue } from '../src/marketplace/manifest.js'
import { BrowserSession, spawnScript, startServer } from './server-process.js'

const xero = (await readCatalogue()).find((c) => c.manifest.key === 'xero')!.manifest
const next = {
  ...xero,
  versions: [
    ...xero.versions,
    {
      ...xero.versions.at(-1)!,
      version: '1.2.0',
      releasedOn: '2026-11-01',
      releaseNotes: 'Adds nothing, for the test.',
    },
  ],
}

t.test(
  'while the app runs on the same data folder, publishing is refused, naming the app; after it stops, the version is published and the app shows it',
  async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'publish-running-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const dataDir = path.join(dir, 'data')
    const file = path.join(dir, 'xero.json')
    await writeFile(file, JSON.stringify(next, null, 2))
    const publish = async () => {
      const command = spawnScript('src/marketplace/publish.ts', [file], { DATA_DIR: dataDir })
      const exited = await command.exited
      return { exited, output: command.output() }
    }
    const xeroVersion = async (session: BrowserSession) => {
      const page = await session.request('GET', '/marketplace?q=Xero')
      return /Xero[\s\S]*?version ([0-9.]+)/.exec(page.body)?.[1]
    }

    let app = await startServer({ DATA_DIR: dataDir })
    t.teardown(() => {
      app.child.kill('SIGKILL')
    })
    const demo = app.demo!
    let session = new BrowserSession(app.url)
    await session.signIn(demo.email, demo.password)
    t.equal(await xeroVersion(session), '1.1.0', 'the marketplace starts with Xero 1.1.0')
    await session.request('GET', '/process-flows')
    t.equal((await session.request('POST', '/process-flows', { form: { name: 'Made before publishing' } })).status, 303)

    const refused = await publish()
    t.equal(refused.exited, 'code 75 signal null', 'the publish command exits non-zero')
    t.notMatch(refused.output, /Published/)
    t.match(
      refused.output,
      `Not published: The embedded database in ${path.join(dataDir, 'pglite')} is in use by npm start (process ${app.child.pid}, running since `,
    )
    t.match(refused.output, `listening on ${app.url})`, 'it names where the app listens')
    t.match(
      refused.output,
      `Stop that process first (Ctrl+C in its terminal, or \`kill ${app.child.pid}\`), then try again.`,
    )
    t.match(refused.output, 'On a PostgreSQL server (DATABASE_URL) the app and this command can run at the same time.')
    t.equal(await xeroVersion(session), '1.1.0', 'the running app is untouched')

    app.child.kill('SIGTERM')
    t.equal(await app.exited, 'code 0 signal null')
    const published = await publish()
    t.equal(published.exited, 'code 0 signal null', published.output)
    t.match(published.output, 'Published Xero 1.2.0 to the marketplace')

    app = await startServer({ DATA_DIR: dataDir })
    session = new BrowserSession(app.url)
    await session.signIn(demo.email, demo.password)
    t.equal(await xeroVersion(session), '1.2.0', 'after a restart the app shows the new version')
    t.match(
      (await session.request('GET', '/process-flows')).body,
      'Made before publishing',
      'and what was made before is still there',
    )
    app.child.kill('SIGTERM')
    t.equal(await app.exited, 'code 0 signal null')
  },
)
