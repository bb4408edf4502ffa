// The vendor's publish command, on an embedded database in a fresh data folder (the command opens
// its database from the environment, as `npm run marketplace:publish` does).
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { eq } from 'drizzle-orm'
import { main, USAGE } from '../src/marketplace/publish.js'
import { readCatalogue, type ConnectorManifest } from '../src/marketplace/manifest.js'
import { openPglite } from '../src/db/client.js'
import { marketplaceConnectors, marketplaceVersions } from '../src/db/schema.js'

const root = path.join(import.meta.dirname, '..')
const xero = (await readCatalogue()).find((c) => c.manifest.key === 'xero')!.manifest
const dir = await mkdtemp(path.join(tmpdir(), 'publish-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const env = { DATA_DIR: path.join(dir, 'data'), NODE_ENV: 'test' }

async function manifestFile(name: string, manifest: unknown): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, JSON.stringify(manifest, null, 2))
  return file
}

async function run(args: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(args, env, { out: (line) => out.push(line), err: (line) => err.push(line) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

async function publishedVersions(): Promise<string[]> {
  const database = await openPglite(path.join(env.DATA_DIR, 'pglite'))
  try {
    const rows = await database.db
      .select({
        version: marketplaceVersions.version,
        latest: marketplaceConnectors.latestVersionId,
        id: marketplaceVersions.id,
      })
      .from(marketplaceVersions)
      .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, marketplaceVersions.marketplaceConnectorId))
      .where(eq(marketplaceConnectors.key, 'xero'))
      .orderBy(marketplaceVersions.createdAt)
    return rows.map((r) => (r.id === r.latest ? `${r.version} (latest)` : r.version))
  } finally {
    await database.close()
  }
}

const first: ConnectorManifest = { ...xero, versions: xero.versions.slice(0, 1) }
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

t.test("publishes a manifest's new versions and says what it did", async (t) => {
  const firstRun = await run([await manifestFile('xero-1.0.0.json', first)])
  t.equal(firstRun.code, 0, firstRun.err)
  t.match(firstRun.out, /Published Xero 1\.0\.0 to the marketplace/)
  const later = await run([await manifestFile('xero.json', next)])
  t.equal(later.code, 0, later.err)
  t.match(later.out, /Published Xero 1\.1\.0, 1\.2\.0 to the marketplace/)
  t.match(later.out, /show "update available"/)
  const again = await run([path.join(dir, 'xero.json')])
  t.equal(again.code, 0)
  t.match(again.out, /Nothing to publish: the marketplace already has every version of Xero .* \(latest 1\.2\.0\)/)
  t.same(await publishedVersions(), ['1.0.0', '1.1.0', '1.2.0 (latest)'])
})

t.test('refuses a version that is not newer than the latest published one', async (t) => {
  const older = { ...xero, versions: [{ ...xero.versions[0]!, version: '1.1.5' }] }
  const file = await manifestFile('xero-older.json', older)
  const result = await run([file])
  t.equal(result.code, 1)
  t.equal(
    result.err,
    `Not published: ${file}: /versions/0/version: 1.1.5 is not newer than 1.2.0, the latest version of Xero in the marketplace`,
  )
  t.same(await publishedVersions(), ['1.0.0', '1.1.0', '1.2.0 (latest)'], 'nothing was published')
})

t.test('refuses a definition that fails the schema, naming the file, the path and the reason', async (t) => {
  const broken = structuredClone(next)
  broken.versions.push({ ...structuredClone(next.versions.at(-1)!), version: '1.3.0' })
  broken.versions.at(-1)!.definition.endpoints[0]!.url = '/Invoices?where={{nowhere}}'
  const file = await manifestFile('xero-broken.json', broken)
  const result = await run([file])
  t.equal(result.code, 1)
  t.match(
    result.err,
    `Not published: ${file}: /versions/3/definition/endpoints/0/url: {{nowhere}} is not a variable of this connector or endpoint`,
  )
  const noAuth = structuredClone(broken)
  noAuth.versions.at(-1)!.definition.endpoints[0]!.url = '/Invoices'
  noAuth.versions.at(-1)!.definition.authMethods = []
  const second = await run([await manifestFile('xero-no-auth.json', noAuth)])
  t.equal(second.code, 1)
  t.match(second.err, /\/versions\/3\/definition\/authMethods: must not have fewer than 1 items/)
  t.same(await publishedVersions(), ['1.0.0', '1.1.0', '1.2.0 (latest)'])
})

t.test(
  'refuses a version with white space around it (stored as written, it would block the real one later)',
  async (t) => {
    for (const [written, reason] of [
      [' 1.3.0', '" 1.3.0" has white space around it; write "1.3.0"'],
      ['1.3.0 ', '"1.3.0 " has white space around it; write "1.3.0"'],
      ['1.3.0\n', '"1.3.0\\n" has white space around it; write "1.3.0"'],
      ['v1.3.0', '"v1.3.0" must be written as "1.3.0"'],
    ]) {
      const spaced = structuredClone(next)
      spaced.versions.push({ ...structuredClone(next.versions.at(-1)!), version: written!, releaseNotes: 'spaced' })
      const file = await manifestFile('xero-spaced.json', spaced)
      const result = await run([file])
      t.equal(result.code, 1, JSON.stringify(written))
      t.equal(result.err, `Not published: ${file}: /versions/3/version: ${reason}`)
    }
    t.same(await publishedVersions(), ['1.0.0', '1.1.0', '1.2.0 (latest)'], 'nothing was published')
  },
)

t.test('without exactly one file it prints how to use it', async (t) => {
  t.same(await run([]), { code: 64, out: '', err: USAGE })
})

t.test('npm run marketplace:publish runs the same command and exits non-zero on a refusal', async (t) => {
  const file = path.join(dir, 'xero-older.json')
  const child = spawn('npm', ['run', '-s', 'marketplace:publish', '--', file], {
    cwd: root,
    env: { ...process.env, ...env, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  t.equal(code, 1)
  t.match(stderr, /Not published: .*xero-older\.json: \/versions\/0\/version: 1\.1\.5 is not newer than 1\.2\.0/)
})
