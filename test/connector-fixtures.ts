// Small fixtures for connector tests: installed connectors, new marketplace versions, custom
// connectors, and instances / process flows / connection shapes as rows (their screens are built
// elsewhere; these tests only need them to exist).
import { eq } from 'drizzle-orm'
import semver from 'semver'
import type { Db } from '../src/db/client.js'
import {
  connectionShapes,
  connectors,
  instances,
  marketplaceConnectors,
  marketplaceVersions,
  processFlows,
} from '../src/db/schema.js'
import type { Actor } from '../src/domain/actor.js'
import { installConnector } from '../src/domain/connector-install.js'
import type { ConnectorDefinition } from '../src/domain/definition.js'
import { publishManifest } from '../src/marketplace/publishing.js'
import { saveDefinition } from '../src/domain/revisions.js'
import { readCatalogue } from '../src/marketplace/manifest.js'

const catalogue = await readCatalogue()

export function manifestOf(key: string) {
  return structuredClone(catalogue.find((c) => c.manifest.key === key)!.manifest)
}

export async function marketplaceEntry(db: Db, key: string) {
  const [entry] = await db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, key))
  return entry!
}

export async function install(db: Db, actor: Actor, key: string) {
  return installConnector(db, actor, { marketplaceConnectorId: (await marketplaceEntry(db, key)).id })
}

export async function connectorRow(db: Db, id: string) {
  const [row] = await db.select().from(connectors).where(eq(connectors.id, id))
  return row!
}

/** Modifies an installed connector as its settings would: adds a "Get refunds" endpoint, a copy of its first. */
export async function addRefundsEndpoint(db: Db, actor: Actor, connectorId: string) {
  const row = await connectorRow(db, connectorId)
  const definition = structuredClone(row.definition)
  definition.endpoints.push({ ...definition.endpoints[0]!, key: 'get_refunds', name: 'Get refunds' })
  return saveDefinition(db, actor, { connectorId, revision: row.revision, definition })
}

/** Publishes the next minor version of a catalogue connector, its definition changed by `change`. */
export async function publishNextVersion(
  db: Db,
  key: string,
  change: (definition: ConnectorDefinition) => void = () => {},
  releaseNotes = 'A newer version for the test.',
) {
  const manifest = manifestOf(key)
  const [latest] = await db
    .select({ version: marketplaceVersions.version, definition: marketplaceVersions.definition })
    .from(marketplaceVersions)
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.latestVersionId, marketplaceVersions.id))
    .where(eq(marketplaceConnectors.key, key))
  const definition = structuredClone(latest!.definition)
  change(definition)
  const version = semver.inc(latest!.version, 'minor')!
  manifest.versions = [{ version, releasedOn: '2026-11-20', releaseNotes, definition }]
  await publishManifest(db, `${key}-${version}.json`, manifest)
  return version
}

/** A custom connector of the actor's company in the marketplace, installed; its marketplace entry gets a second version. */
export async function installCustom(db: Db, actor: Actor, name: string) {
  const definition = manifestOf('sftp').versions[0]!.definition
  const [entry] = await db
    .insert(marketplaceConnectors)
    .values({
      key: name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      kind: 'custom',
      companyId: actor.companyId,
      name,
      description: 'Built by the company',
      systemType: 'Other',
    })
    .returning({ id: marketplaceConnectors.id })
  const versionRow = async (version: string) =>
    (
      await db
        .insert(marketplaceVersions)
        .values({
          marketplaceConnectorId: entry!.id,
          version,
          releaseNotes: 'ours',
          definition,
        })
        .returning({ id: marketplaceVersions.id })
    )[0]!.id
  await db
    .update(marketplaceConnectors)
    .set({ latestVersionId: await versionRow('Version 1 - 28th July 2023') })
    .where(eq(marketplaceConnectors.id, entry!.id))
  const installed = await installConnector(db, actor, { marketplaceConnectorId: entry!.id })
  await db
    .update(marketplaceConnectors)
    .set({ latestVersionId: await versionRow('Version 2 - 1st August 2023') })
    .where(eq(marketplaceConnectors.id, entry!.id))
  return installed
}

export async function addInstance(db: Db, actor: Actor, connectorId: string, name: string, authMethodKey: string) {
  const [row] = await db
    .insert(instances)
    .values({
      companyId: actor.companyId,
      connectorId,
      name,
      authMethodKey,
      timeZone: 'Europe/London',
      dateFormat: 'ISO 8601',
      rateLimitAmount: 2,
      rateLimitUnit: 'second',
      createdBy: actor.id,
    })
    .returning()
  return row!
}

/** A process flow whose connection shapes use the given instance endpoints, in order. */
export async function addFlow(
  db: Db,
  actor: Actor,
  name: string,
  shapes: { instanceId: string; endpointKey: string }[],
) {
  const [flow] = await db.insert(processFlows).values({ companyId: actor.companyId, name, enabled: true }).returning()
  const rows =
    shapes.length === 0
      ? []
      : await db
          .insert(connectionShapes)
          .values(
            shapes.map((s, position) => ({
              companyId: actor.companyId,
              processFlowId: flow!.id,
              instanceId: s.instanceId,
              endpointKey: s.endpointKey,
              position,
            })),
          )
          .returning()
  return { flow: flow!, shapes: rows }
}
