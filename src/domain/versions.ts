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

/**
 * A version as a sentence names it: "version 2.1.0"; a custom connector's free-text version that
 * already says so as it is ("Version 1 - 28th July 2023"); any other text quoted (version “beta”).
 */
export function versionLabel(value: string): string {
  if (/^version\b/i.test(value)) return value
  if (/^v?\d/i.test(value)) return `version ${value}`
  return `version “${value}”`
}

/** "Shopify (version 2.1.0)"; a name that already carries its version as it is ("Shopify 2.2.0"). */
export function nameWithVersion(name: string, version: string): string {
  return name.includes(version) ? name : `${name} (${versionLabel(version)})`
}
