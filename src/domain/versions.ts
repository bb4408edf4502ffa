// Marketplace versions: prebuilt connectors use semver, so "newer" means semver-greater. Custom
// connectors' versions are free text and never get vendor updates.
import semver from 'semver'

/** True when a prebuilt connector based on `current` can be updated to `latest`. */
export function hasUpdate(kind: 'prebuilt' | 'custom', current: string, latest: string | null | undefined): boolean {
  if (kind !== 'prebuilt' || !latest) return false
  return semver.valid(current) !== null && semver.valid(latest) !== null && semver.gt(latest, current)
}

/** The versions after `current` up to and including `target`, oldest first. */
export function versionsBetween<T extends { version: string }>(versions: T[], current: string, target: string): T[] {
  return versions
    .filter((v) => semver.valid(v.version) && semver.gt(v.version, current) && semver.lte(v.version, target))
    .sort((a, b) => semver.compare(a.version, b.version))
}
