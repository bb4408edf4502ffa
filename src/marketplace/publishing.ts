// The vendor's side of the marketplace: publishing a manifest's new versions (the publish command,
// and the catalogue brought up to date when the app starts). Companies only read the marketplace.
import { eq, sql } from 'drizzle-orm'
import semver from 'semver'
import { marketplaceConnectors, marketplaceVersions } from '../db/schema.js'
import type { Db } from '../db/client.js'
import { ManifestError, type ConnectorManifest } from './manifest.js'

/**
 * Publishes a manifest's versions that the marketplace does not have yet, oldest first, in one
 * transaction. A version not newer than the latest published one is refused, naming the file.
 */
export async function publishManifest(db: Db, file: string, manifest: ConnectorManifest): Promise<string[]> {
  return db.transaction(async (tx) => {
    const values = {
      key: manifest.key,
      kind: 'prebuilt' as const,
      name: manifest.name,
      description: manifest.description,
      systemType: manifest.systemType,
      colour: manifest.colour,
    }
    const [entry] = await tx
      .insert(marketplaceConnectors)
      .values(values)
      .onConflictDoUpdate({
        target: marketplaceConnectors.key,
        targetWhere: sql`${marketplaceConnectors.kind} = 'prebuilt'`,
        set: {
          name: values.name,
          description: values.description,
          systemType: values.systemType,
          colour: values.colour,
        },
      })
      .returning({ id: marketplaceConnectors.id })
    const published = await tx
      .select({ id: marketplaceVersions.id, version: marketplaceVersions.version })
      .from(marketplaceVersions)
      .where(eq(marketplaceVersions.marketplaceConnectorId, entry!.id))
    const known = new Set(published.map((v) => v.version))
    let latest = published.map((v) => v.version).sort(semver.rcompare)[0]
    const added: string[] = []
    let latestId: string | undefined
    for (const [i, version] of manifest.versions.entries()) {
      if (known.has(version.version)) continue
      if (latest && !semver.gt(version.version, latest)) {
        throw new ManifestError(
          file,
          `/versions/${i}/version`,
          `${version.version} is not newer than ${latest}, the latest version of ${manifest.name} in the marketplace`,
        )
      }
      const [row] = await tx
        .insert(marketplaceVersions)
        .values({
          marketplaceConnectorId: entry!.id,
          version: version.version,
          releaseNotes: version.releaseNotes,
          definition: version.definition,
          releasedOn: new Date(`${version.releasedOn}T00:00:00Z`),
        })
        .returning({ id: marketplaceVersions.id })
      latest = version.version
      latestId = row!.id
      added.push(version.version)
    }
    if (latestId) {
      await tx
        .update(marketplaceConnectors)
        .set({ latestVersionId: latestId })
        .where(eq(marketplaceConnectors.id, entry!.id))
    }
    return added
  })
}

/** Brings the marketplace up to date with the catalogue's manifests (at start and from the CLI). */
export async function publishCatalogue(
  db: Db,
  manifests: { file: string; manifest: ConnectorManifest }[],
): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {}
  for (const { file, manifest } of manifests) {
    const added = await publishManifest(db, file, manifest)
    if (added.length) result[manifest.key] = added
  }
  return result
}
