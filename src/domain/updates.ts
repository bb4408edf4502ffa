// Vendor updates (help text, "updating a connector"). A prebuilt connector whose marketplace entry
// has a newer version shows "update available". Not modified: it is updated in place and its
// instances keep working with it. Modified: the admin chooses to overwrite (customisations gone from
// the connector, kept in its revision history) or to install the new version alongside. Each runs in
// one transaction, once per form submission, and is recorded in the audit log.
import { and, asc, count, eq, inArray, like, or, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import {
  connectionShapes, connectorRevisions, connectors, instances, marketplaceConnectors, marketplaceVersions, processFlows, users,
} from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { requirePermission, type Actor } from './actor.js'
import { recordEvent } from './audit.js'
import { claimSubmission, completeSubmission } from './connectors.js'
import type { ConnectorDefinition } from './definition.js'
import { describeDiff, diffDefinitions } from './definition-diff.js'
import { Conflict, NotFound } from './errors.js'
import { lockConnector, revisionConflict, type LockedConnector } from './revisions.js'
import { hasUpdate, versionsBetween } from './versions.js'

export interface ReleaseNote { version: string; releasedOn: Date; releaseNotes: string }

/** What the new version drops that this company still uses: connection shapes and instances to fix. */
export interface UpdateImpact {
  shapes: { processFlowId: string; processFlowName: string; instanceName: string; endpointName: string }[]
  instances: { id: string; name: string; authMethodName: string }[]
}

export interface UpdateChoice {
  connector: {
    id: string
    name: string
    kind: 'prebuilt' | 'custom'
    marketplaceName: string
    version: string
    revision: number
    modifiedAt: Date | null
    modifiedByName: string | null
  }
  /** The newest marketplace version when it is newer than the connector's; otherwise null (up to date, or custom). */
  newest: ReleaseNote | null
  /** Every version after the connector's up to the newest, oldest first. */
  releaseNotes: ReleaseNote[]
  modified: boolean
  /** What the company changed compared with the version the connector is based on (what overwrite loses). */
  customisations: string[]
  /** What the new version changes compared with the version the connector is based on. */
  vendorChanges: string[]
  /** What updating or overwriting the definition would leave without its endpoint or authentication method. */
  impact: UpdateImpact
  /** The name a connector installed alongside would get. */
  alongsideName: string
}

const modifier = alias(users, 'modifier')
const base = alias(marketplaceVersions, 'base')
const latest = alias(marketplaceVersions, 'latest')

/** The update screen: release notes, and for a modified connector its customisations. Three or four queries. */
export async function updateChoice(db: Db, actor: Actor, connectorId: string): Promise<UpdateChoice> {
  requirePermission(actor, 'manageConnectors')
  const [row] = await db.select({
    id: connectors.id,
    name: connectors.name,
    kind: marketplaceConnectors.kind,
    marketplaceConnectorId: connectors.marketplaceConnectorId,
    marketplaceName: marketplaceConnectors.name,
    version: base.version,
    baseDefinition: base.definition,
    definition: connectors.definition,
    revision: connectors.revision,
    modifiedAt: connectors.modifiedAt,
    modifiedByName: modifier.name,
    latestVersion: latest.version,
    latestDefinition: latest.definition,
  }).from(connectors)
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .innerJoin(base, eq(base.id, connectors.marketplaceVersionId))
    .leftJoin(latest, eq(latest.id, marketplaceConnectors.latestVersionId))
    .leftJoin(modifier, eq(modifier.id, connectors.modifiedBy))
    .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))
  if (!row) throw new NotFound('That connector')
  const { baseDefinition, definition, latestVersion, latestDefinition, marketplaceConnectorId, ...connector } = row
  const modified = row.modifiedAt !== null
  const customisations = modified ? describeDiff(diffDefinitions(baseDefinition, definition)) : []
  const noImpact: UpdateImpact = { shapes: [], instances: [] }
  if (!hasUpdate(row.kind, row.version, latestVersion) || !latestDefinition) {
    return { connector, newest: null, releaseNotes: [], modified, customisations, vendorChanges: [], impact: noImpact, alongsideName: '' }
  }
  const versions = await db.select({
    version: marketplaceVersions.version, releasedOn: marketplaceVersions.releasedOn, releaseNotes: marketplaceVersions.releaseNotes,
  }).from(marketplaceVersions).where(eq(marketplaceVersions.marketplaceConnectorId, marketplaceConnectorId))
  const releaseNotes = versionsBetween(versions, row.version, latestVersion!)
  return {
    connector,
    newest: releaseNotes.at(-1) ?? null,
    releaseNotes,
    modified,
    customisations,
    vendorChanges: describeDiff(diffDefinitions(baseDefinition, latestDefinition)),
    impact: await impactOf(db, actor, row.id, definition, latestDefinition),
    alongsideName: `${row.marketplaceName} ${latestVersion}`,
  }
}

/** Connection shapes and instances that use an endpoint or authentication method `next` does not have. */
async function impactOf(db: Db | Tx, actor: Actor, connectorId: string, current: ConnectorDefinition, next: ConnectorDefinition): Promise<UpdateImpact> {
  const nextEndpoints = new Set(next.endpoints.map((e) => e.key))
  const nextAuthMethods = new Set(next.authMethods.map((a) => a.key))
  const droppedEndpoints = new Map(current.endpoints.filter((e) => !nextEndpoints.has(e.key)).map((e) => [e.key, e.name]))
  const droppedAuthMethods = new Map(current.authMethods.filter((a) => !nextAuthMethods.has(a.key)).map((a) => [a.key, a.name]))
  const shapes = droppedEndpoints.size === 0 ? [] : await db.select({
    processFlowId: processFlows.id, processFlowName: processFlows.name, instanceName: instances.name, endpointKey: connectionShapes.endpointKey,
  }).from(connectionShapes)
    .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(and(eq(connectionShapes.companyId, actor.companyId), eq(instances.connectorId, connectorId), inArray(connectionShapes.endpointKey, [...droppedEndpoints.keys()])))
    .orderBy(asc(sql`lower(${processFlows.name})`), asc(connectionShapes.position))
  const using = droppedAuthMethods.size === 0 ? [] : await db.select({ id: instances.id, name: instances.name, authMethodKey: instances.authMethodKey })
    .from(instances)
    .where(and(eq(instances.companyId, actor.companyId), eq(instances.connectorId, connectorId), inArray(instances.authMethodKey, [...droppedAuthMethods.keys()])))
    .orderBy(asc(sql`lower(${instances.name})`))
  return {
    shapes: shapes.map(({ endpointKey, ...s }) => ({ ...s, endpointName: droppedEndpoints.get(endpointKey) ?? endpointKey })),
    instances: using.map(({ authMethodKey, ...i }) => ({ ...i, authMethodName: droppedAuthMethods.get(authMethodKey) ?? authMethodKey })),
  }
}

export interface VersionChoice {
  connectorId: string
  /** The revision the admin's screen showed: a change saved meanwhile is not silently lost. */
  revision: number
  /** The marketplace version the admin chose (the newest one the screen showed). */
  version: string
  submission?: string | undefined
}

/** `from` is null when answering a form submitted before (the work was done then). */
export interface UpdatedConnector { id: string; name: string; from: string | null; to: string; instanceCount: number }

/** The marketplace version to move to: the one chosen, which must be newer than the connector's. */
async function targetVersion(tx: Tx, connector: LockedConnector, version: string) {
  if (connector.kind !== 'prebuilt') throw new Conflict('Custom connectors never get vendor updates: whoever built them manages them.')
  const [target] = await tx.select({ id: marketplaceVersions.id, version: marketplaceVersions.version, definition: marketplaceVersions.definition })
    .from(marketplaceVersions)
    .where(and(eq(marketplaceVersions.marketplaceConnectorId, connector.marketplaceConnectorId), eq(marketplaceVersions.version, version)))
  if (!target) throw new NotFound(`Version ${version} of ${connector.marketplaceName}`)
  if (!hasUpdate(connector.kind, connector.version, target.version)) {
    throw new Conflict(`${connector.name} is already at version ${connector.version}, so there is nothing to update to ${version}.`)
  }
  return target
}

async function instanceCount(tx: Tx, actor: Actor, connectorId: string): Promise<number> {
  const [row] = await tx.select({ n: count() }).from(instances)
    .where(and(eq(instances.companyId, actor.companyId), eq(instances.connectorId, connectorId)))
  return row!.n
}

/** The result of an update or overwrite submitted before (a double click answers the same). */
async function earlierUpdate(tx: Tx, actor: Actor, connectorId: string): Promise<UpdatedConnector> {
  const [row] = await tx.select({ id: connectors.id, name: connectors.name, to: marketplaceVersions.version }).from(connectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))
  if (!row) throw new NotFound('That connector')
  return { ...row, from: null, instanceCount: await instanceCount(tx, actor, connectorId) }
}

/** Moves the locked connector's definition to a marketplace version: same id, so instances stay attached. */
async function moveToVersion(tx: Tx, actor: Actor, connector: LockedConnector, target: { id: string; definition: ConnectorDefinition }, summary: string) {
  const [saved] = await tx.update(connectors).set({
    definition: target.definition,
    marketplaceVersionId: target.id,
    revision: sql`${connectors.revision} + 1`,
    modifiedAt: null,
    modifiedBy: null,
  }).where(and(eq(connectors.id, connector.id), eq(connectors.companyId, actor.companyId), eq(connectors.revision, connector.revision)))
    .returning({ revision: connectors.revision })
  if (!saved) throw await revisionConflict(tx, connector.id)
  await tx.insert(connectorRevisions).values({
    connectorId: connector.id, number: saved.revision, authorId: actor.id, summary, definition: target.definition, marketplaceVersionId: target.id,
  })
  return saved.revision
}

/** "update available" on a connector that is not modified: updated in place to the chosen version. */
export async function updateConnector(db: Db, actor: Actor, input: VersionChoice): Promise<UpdatedConnector> {
  requirePermission(actor, 'manageConnectors')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, input.submission)
    if (earlier) return earlierUpdate(tx, actor, input.connectorId)
    const connector = await lockConnector(tx, actor, input.connectorId)
    const target = await targetVersion(tx, connector, input.version)
    if (connector.revision !== input.revision) throw await revisionConflict(tx, connector.id)
    if (connector.modifiedAt) {
      throw new Conflict(`${connector.name} has been modified, so it is not updated in place: choose whether to overwrite it or to install version ${target.version} alongside it.`)
    }
    const releaseNotes = await notesBetween(tx, connector, target.version)
    const revision = await moveToVersion(tx, actor, connector, target, `updated from version ${connector.version} to ${target.version}`)
    const instanceTotal = await instanceCount(tx, actor, connector.id)
    await recordEvent(tx, actor, {
      action: 'update', subjectType: 'connector', subjectId: connector.id,
      summary: `updated ${connector.name} in place from version ${connector.version} to ${target.version}; its ${instanceTotal} instance(s) keep working with it`,
      details: { from: connector.version, to: target.version, revision, releaseNotes, changes: describeDiff(diffDefinitions(connector.definition, target.definition)) },
    })
    await completeSubmission(tx, actor, input.submission, connector.id)
    return { id: connector.id, name: connector.name, from: connector.version, to: target.version, instanceCount: instanceTotal }
  })
}

async function notesBetween(tx: Tx, connector: LockedConnector, target: string): Promise<{ version: string; releaseNotes: string }[]> {
  const versions = await tx.select({ version: marketplaceVersions.version, releaseNotes: marketplaceVersions.releaseNotes })
    .from(marketplaceVersions).where(eq(marketplaceVersions.marketplaceConnectorId, connector.marketplaceConnectorId))
  return versionsBetween(versions, connector.version, target)
}

export type OverwrittenConnector = UpdatedConnector & { customisations: string[]; lastCustomisedRevision: number }

/**
 * "overwrite": the definition becomes the chosen version's. The customisations are gone from the
 * connector but stay in its revision history; the connector keeps its id, so instances stay attached.
 */
export async function overwriteWithVersion(db: Db, actor: Actor, input: VersionChoice): Promise<OverwrittenConnector> {
  requirePermission(actor, 'manageConnectors')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, input.submission)
    if (earlier) return { ...await earlierUpdate(tx, actor, input.connectorId), customisations: [], lastCustomisedRevision: input.revision }
    const connector = await lockConnector(tx, actor, input.connectorId)
    const target = await targetVersion(tx, connector, input.version)
    if (connector.revision !== input.revision) throw await revisionConflict(tx, connector.id)
    const customisations = describeDiff(diffDefinitions(connector.baseDefinition, connector.definition))
    const lost = customisations.length ? `; customisations removed (see revision ${connector.revision}): ${customisations.join('; ')}` : ''
    const revision = await moveToVersion(tx, actor, connector, target, `overwritten with version ${target.version} (was ${connector.version})${lost}`)
    const instanceTotal = await instanceCount(tx, actor, connector.id)
    await recordEvent(tx, actor, {
      action: 'overwrite', subjectType: 'connector', subjectId: connector.id,
      summary: `overwrote ${connector.name} with version ${target.version} (was ${connector.version}); customisations removed: ${customisations.join('; ') || 'none'}`,
      details: { from: connector.version, to: target.version, revision, customisations, customisedRevision: connector.revision },
    })
    await completeSubmission(tx, actor, input.submission, connector.id)
    return {
      id: connector.id, name: connector.name, from: connector.version, to: target.version, instanceCount: instanceTotal,
      customisations, lastCustomisedRevision: connector.revision,
    }
  })
}

export interface InstalledAlongside { id: string; name: string; version: string; previousId: string; previousName: string }

/** A name no connector of the company has: "Shopify 2.2.0", else "Shopify 2.2.0 (2)", … */
async function freeName(tx: Tx, actor: Actor, wanted: string): Promise<string> {
  const taken = await tx.select({ name: connectors.name }).from(connectors)
    .where(and(eq(connectors.companyId, actor.companyId), or(eq(connectors.name, wanted), like(connectors.name, `${wanted.replace(/[\\%_]/g, (c) => `\\${c}`)} (%)`))))
  const names = new Set(taken.map((t) => t.name))
  if (!names.has(wanted)) return wanted
  for (let n = 2; ; n++) if (!names.has(`${wanted} (${n})`)) return `${wanted} (${n})`
}

/**
 * "install" the new version alongside: a second connector, named after the version so both can be
 * told apart, based on the chosen version, with no instances. The existing one is not touched.
 */
export async function installVersionAlongside(db: Db, actor: Actor, input: Omit<VersionChoice, 'revision'>): Promise<InstalledAlongside> {
  requirePermission(actor, 'manageConnectors')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, input.submission)
    const connector = await lockConnector(tx, actor, input.connectorId)
    if (earlier?.resultId) {
      const [done] = await tx.select({ id: connectors.id, name: connectors.name, version: marketplaceVersions.version }).from(connectors)
        .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
        .where(and(eq(connectors.id, earlier.resultId), eq(connectors.companyId, actor.companyId)))
      if (done) return { ...done, previousId: connector.id, previousName: connector.name }
    }
    const target = await targetVersion(tx, connector, input.version)
    const name = await freeName(tx, actor, `${connector.marketplaceName} ${target.version}`)
    const [installed] = await tx.insert(connectors).values({
      companyId: actor.companyId,
      marketplaceConnectorId: connector.marketplaceConnectorId,
      marketplaceVersionId: target.id,
      name,
      definition: target.definition,
      installedBy: actor.id,
    }).returning({ id: connectors.id })
    await tx.insert(connectorRevisions).values({
      connectorId: installed!.id, number: 1, authorId: actor.id, definition: target.definition, marketplaceVersionId: target.id,
      summary: `installed version ${target.version} from the marketplace alongside ${connector.name} (version ${connector.version})`,
    })
    await recordEvent(tx, actor, {
      action: 'install alongside', subjectType: 'connector', subjectId: installed!.id,
      summary: `installed ${name} (version ${target.version}) alongside ${connector.name} (version ${connector.version}), which keeps its instances`,
      details: { alongside: connector.id, alongsideName: connector.name, version: target.version, previousVersion: connector.version },
    })
    await completeSubmission(tx, actor, input.submission, installed!.id)
    return { id: installed!.id, name, version: target.version, previousId: connector.id, previousName: connector.name }
  })
}

export interface NextSteps {
  connector: { id: string; name: string; version: string }
  previous: { id: string; name: string; version: string; customisations: string[] }
  instances: { id: string; name: string }[]
  flows: { id: string; name: string; enabled: boolean; shapeCount: number; instanceNames: string[] }[]
}

/**
 * What is left to do after installing a new version alongside (help text: "apply your
 * modifications to the new version, then create new instances and update connection shapes with
 * these in affected process flows"). Three queries.
 */
export async function nextStepsAfterAlongside(db: Db, actor: Actor, connectorId: string, previousId: string): Promise<NextSteps> {
  const rows = await db.select({
    id: connectors.id, name: connectors.name, version: marketplaceVersions.version,
    definition: connectors.definition, baseDefinition: marketplaceVersions.definition, modifiedAt: connectors.modifiedAt,
  }).from(connectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .where(and(eq(connectors.companyId, actor.companyId), inArray(connectors.id, [connectorId, previousId])))
  const connector = rows.find((r) => r.id === connectorId)
  const previous = rows.find((r) => r.id === previousId)
  if (!connector || !previous || connectorId === previousId) throw new NotFound('That connector')
  const previousInstances = await db.select({ id: instances.id, name: instances.name }).from(instances)
    .where(and(eq(instances.companyId, actor.companyId), eq(instances.connectorId, previousId)))
    .orderBy(asc(sql`lower(${instances.name})`))
  const flows = previousInstances.length === 0 ? [] : await db.select({
    id: processFlows.id,
    name: processFlows.name,
    enabled: processFlows.enabled,
    shapeCount: sql<number>`cast(count(${connectionShapes.id}) as integer)`,
    instanceNames: sql<string[]>`array_agg(distinct ${instances.name})`,
  }).from(connectionShapes)
    .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(and(eq(connectionShapes.companyId, actor.companyId), eq(instances.connectorId, previousId)))
    .groupBy(processFlows.id)
    .orderBy(asc(sql`lower(${processFlows.name})`))
  return {
    connector: { id: connector.id, name: connector.name, version: connector.version },
    previous: {
      id: previous.id, name: previous.name, version: previous.version,
      customisations: previous.modifiedAt ? describeDiff(diffDefinitions(previous.baseDefinition, previous.definition)) : [],
    },
    instances: previousInstances,
    flows,
  }
}
