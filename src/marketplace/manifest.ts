// A manifest file: one prebuilt connector of the vendor's catalogue and its published versions.
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import semver from 'semver'
import { checkDefinition, type ConnectorDefinition } from '../domain/definition.js'
import { SYSTEM_TYPES, type SystemType } from '../domain/enums.js'

// No white space around a version: stored raw, " 2.0.0" would block a real "2.0.0" later.
const NO_SURROUNDING_SPACE = '^\\S(?:.*\\S)?$'

export const Manifest = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }),
    name: Type.String({ minLength: 1, maxLength: 120 }),
    description: Type.String({ minLength: 1, maxLength: 1000 }),
    systemType: Type.Union(SYSTEM_TYPES.map((t) => Type.Literal(t))),
    colour: Type.String({ pattern: '^#[0-9a-fA-F]{6}$' }),
    versions: Type.Array(
      Type.Object(
        {
          version: Type.String({ minLength: 1, maxLength: 40, pattern: NO_SURROUNDING_SPACE }),
          releasedOn: Type.String({ format: 'date' }),
          releaseNotes: Type.String({ minLength: 1, maxLength: 4000 }),
          definition: Type.Unknown(),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
)

export type ManifestVersion = {
  version: string
  releasedOn: string
  releaseNotes: string
  definition: ConnectorDefinition
}
export type ConnectorManifest = Omit<Static<typeof Manifest>, 'versions' | 'systemType'> & {
  systemType: SystemType
  versions: ManifestVersion[]
}

/** A manifest file that cannot be published: which file, where in it, and why. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly at: string,
    readonly reason: string,
  ) {
    super(`${file}: ${at}: ${reason}`)
    this.name = 'ManifestError'
  }
}

/** Checks a parsed manifest: its shape, every version's definition, and semver order. */
export function parseManifest(file: string, input: unknown): ConnectorManifest {
  if (!Value.Check(Manifest, input)) {
    const first = [...Value.Errors(Manifest, input)].find((e) => e.keyword !== 'boolean')
    const spaced =
      first?.keyword === 'pattern' && (first.params as { pattern?: string }).pattern === NO_SURROUNDING_SPACE
    const value = spaced ? String(valueAt(input, first.instancePath)) : ''
    throw new ManifestError(
      file,
      first?.instancePath || '/',
      spaced
        ? `${JSON.stringify(value)} has white space around it; write ${JSON.stringify(value.trim())}`
        : (first?.message ?? 'not a manifest'),
    )
  }
  const manifest = input as ConnectorManifest
  manifest.versions.forEach((version, i) => {
    const canonical = semver.valid(version.version)
    if (!canonical) {
      throw new ManifestError(
        file,
        `/versions/${i}/version`,
        `"${version.version}" is not a semantic version such as 2.1.0`,
      )
    }
    // semver reads "v2.0.0" as 2.0.0, but the version is stored as written.
    if (canonical !== version.version) {
      throw new ManifestError(file, `/versions/${i}/version`, `"${version.version}" must be written as "${canonical}"`)
    }
    if (i > 0 && !semver.gt(version.version, manifest.versions[i - 1]!.version)) {
      throw new ManifestError(
        file,
        `/versions/${i}/version`,
        `versions must be listed oldest first; ${version.version} is not newer than ${manifest.versions[i - 1]!.version}`,
      )
    }
    const problem = checkDefinition(version.definition)[0]
    if (problem)
      throw new ManifestError(
        file,
        `/versions/${i}/definition${problem.path === '/' ? '' : problem.path}`,
        problem.message,
      )
  })
  return manifest
}

function valueAt(input: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], input)
}

export async function readManifest(file: string): Promise<ConnectorManifest> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new ManifestError(file, '/', `cannot be read as JSON (${(error as Error).message})`)
  }
  return parseManifest(file, parsed)
}

export const CATALOGUE_DIR = path.join(import.meta.dirname, 'catalogue')

/** Every manifest of the vendor's catalogue, sorted by file name. */
export async function readCatalogue(dir = CATALOGUE_DIR): Promise<{ file: string; manifest: ConnectorManifest }[]> {
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f))
  return Promise.all(files.map(async (file) => ({ file, manifest: await readManifest(file) })))
}
