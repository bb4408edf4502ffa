// The vendor's publish command: `npm run marketplace:publish -- path/to/manifest.json` adds the
// manifest's versions that the marketplace does not have yet. A version that is not newer (semver)
// than the latest published one, or a definition that fails the schema, is refused with the file,
// the path in it and the reason; nothing is published then.
import path from 'node:path'
import { readConfig, ConfigError } from '../config.js'
import { openDatabase } from '../db/client.js'
import { DataFolderInUse } from '../db/data-folder-lock.js'
import { publishManifest } from './publishing.js'
import { ManifestError, readManifest } from './manifest.js'

export const USAGE = 'Usage: npm run marketplace:publish -- path/to/manifest.json'

interface Output {
  out(line: string): void
  err(line: string): void
}

const console: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}

/**
 * Publishes one manifest file; returns the exit code (0 published or nothing new, 1 refused, 64 usage,
 * 75 the embedded database is in use by a running app, 78 configuration).
 */
export async function main(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  io: Output = console,
): Promise<number> {
  if (args.length !== 1 || args[0]!.startsWith('-')) {
    io.err(USAGE)
    return 64
  }
  const file = path.resolve(args[0]!)
  let config
  try {
    config = readConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.err(`Configuration error: ${error.message}`)
    return 78
  }
  let manifest
  try {
    manifest = await readManifest(file)
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error
    io.err(`Not published: ${error.message}`)
    return 1
  }
  let database
  try {
    database = await openDatabase(config.databaseUrl, config.dataDir, { command: 'npm run marketplace:publish' })
  } catch (error) {
    if (!(error instanceof DataFolderInUse)) throw error
    io.err(`Not published: ${error.message}`)
    io.err(
      'After publishing, start the app again: it then shows the new version. On a PostgreSQL server (DATABASE_URL) the app and this command can run at the same time.',
    )
    return 75
  }
  try {
    const added = await publishManifest(database.db, file, manifest)
    const latest = manifest.versions.at(-1)!.version
    if (added.length === 0) {
      io.out(
        `Nothing to publish: the marketplace already has every version of ${manifest.name} in ${file} (latest ${latest}).`,
      )
    } else {
      io.out(
        `Published ${manifest.name} ${added.join(', ')} to the marketplace (${database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL server'}).`,
      )
      io.out(
        `Installed ${manifest.name} connectors based on an older version show "update available" on manage connectors.`,
      )
    }
    return 0
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error
    io.err(`Not published: ${error.message}`)
    return 1
  } finally {
    await database.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2))
}
