// Updates at fleet scale: every pending update of the company on one screen (filtered, paged, with
// what each touches), and bulk updates run as one recorded batch. A batch keeps, per connector, the
// revision the preview showed (a connector changed since is skipped, never updated blind) and the
// revision it made (undo rolls back only those nobody changed since). It runs in chunks, each
// connector in its own transaction: a process that stops mid-batch leaves every connector either
// updated or untouched, and the next chunk carries on from the first one still pending.
import { and, asc, count, eq, ilike, inArray, isNotNull, isNull, sql } from 'drizzle-orm'
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core'
import {
  connectionShapes,
  connectorRevisions,
  connectors,
  instances,
  marketplaceConnectors,
  marketplaceVersions,
  updateBatchItems,
  updateBatches,
  users,
} from '../db/schema.js'
import type { Db, Queryable, Tx } from '../db/client.js'
import { can, requirePermission, type Actor } from './actor.js'
import { recordEvent, type AuditAction } from './audit.js'
import { runCommand } from './command.js'
import { revisionConflict } from './connectors.js'
import { latestVersion, lockConnector, modifier, type LockedConnector } from './connector-queries.js'
import { checkDefinition, type ConnectorDefinition } from './definition.js'
import { mergeDefinitions } from './definition-merge.js'
import { breakingKeys } from './impact.js'
import type { SystemType, UpdateBatchKind, UpdateBatchState, UpdateItemState } from './enums.js'
import { Conflict, Invalid, NotFound } from './errors.js'
import { lockConnectors, lockUpdateBatch } from './locks.js'
import { containsPattern, pageOf, type Page } from './pagination.js'
import { marketplaceVersion, moveToVersion } from './updates.js'
import { hasUpdate } from './versions.js'
import { plural } from './words.js'

const pendingFrom = alias(marketplaceConnectors, 'pending_from')

export const UPDATES_PAGE_SIZE = 25
/** Connectors updated per chunk of a running batch: per turn of the background runner, or per press of continue. */
export const UPDATE_CHUNK = 25
/** At most this many connectors in one batch: far more than a company has updates pending. */
export const MAX_BATCH = 5000

export interface UpdatesFilter {
  q: string
  systemType: SystemType | ''
  modified: 'yes' | 'no' | ''
  breaking: 'yes' | 'no' | ''
}

export const NO_FILTER: UpdatesFilter = { q: '', systemType: '', modified: '', breaking: '' }

/** An endpoint or authentication method the new version removes or changes (shapes and instances using it may stop working). */
export interface VendorBreak {
  what: 'endpoint' | 'authentication method'
  key: string
  name: string
  change: string
}

export interface PendingUpdate {
  id: string
  name: string
  revision: number
  systemType: string
  modifiedAt: Date | null
  modifiedByName: string | null
  from: { id: string; version: string }
  to: { id: string; version: string }
  breaking: VendorBreak[]
}

export interface UpdateImpact {
  instances: number
  flows: number
  shapes: number
  /** Instances whose authentication method the update removes or changes. */
  breakingInstances: number
  /** Connection shapes whose endpoint the update removes or changes, and the flows they are in. */
  breakingShapes: number
  breakingFlows: number
  /** "1 connection shape in 1 process flow and 2 instances": what uses what breaks ('' for nothing). */
  breakingUse: string
}

export type PendingUpdateRow = PendingUpdate & { releaseSummary: string; impact: UpdateImpact }

// Marketplace versions never change once published, so what breaks between two of them is worked out
// once per pair and kept (every process may keep its own copy: nothing here can disagree).
const breaksBetween = new Map<string, VendorBreak[]>()
const pairKey = (from: string, to: string) => `${from}>${to}`

async function loadBreaks(db: Queryable, pairs: { from: { id: string }; to: { id: string } }[]): Promise<void> {
  const missing = pairs.filter((p) => !breaksBetween.has(pairKey(p.from.id, p.to.id)))
  if (!missing.length) return
  const ids = [...new Set(missing.flatMap((p) => [p.from.id, p.to.id]))]
  const rows = await db
    .select({ id: marketplaceVersions.id, definition: marketplaceVersions.definition })
    .from(marketplaceVersions)
    .where(inArray(marketplaceVersions.id, ids))
  const definitions = new Map(rows.map((r) => [r.id, r.definition]))
  if (breaksBetween.size > 10_000) breaksBetween.clear()
  for (const pair of missing) {
    const from = definitions.get(pair.from.id)
    const to = definitions.get(pair.to.id)
    if (!from || !to) continue
    breaksBetween.set(pairKey(pair.from.id, pair.to.id), vendorBreaks(from, to))
  }
}

function vendorBreaks(from: ConnectorDefinition, to: ConnectorDefinition): VendorBreak[] {
  const keys = breakingKeys(from, to)
  const names = (items: { key: string; name: string }[]) => new Map(items.map((i) => [i.key, i.name]))
  const endpointNames = names(from.endpoints)
  const authNames = names(from.authMethods)
  const describe = (b: { kind: 'removed' } | { kind: 'changed'; properties: string[] }) =>
    b.kind === 'removed' ? 'removed' : `changed (${b.properties.join(', ')})`
  return [
    ...[...keys.authMethods].map(([key, b]) => ({
      what: 'authentication method' as const,
      key,
      name: authNames.get(key) ?? key,
      change: describe(b),
    })),
    ...[...keys.endpoints].map(([key, b]) => ({
      what: 'endpoint' as const,
      key,
      name: endpointNames.get(key) ?? key,
      change: describe(b),
    })),
  ]
}

const breaksOf = (row: { from: { id: string }; to: { id: string } }) =>
  breaksBetween.get(pairKey(row.from.id, row.to.id)) ?? []

/** The company's connectors among these (ids, or rows that have one). */
const theCompanys = (actor: Actor, these: (string | { id: string })[]) =>
  and(
    eq(connectors.companyId, actor.companyId),
    inArray(
      connectors.id,
      these.map((c) => (typeof c === 'string' ? c : c.id)),
    ),
  )

/** The company's connectors with an update pending that match the filter (name, system type, modified), in `table`. */
/** The columns of `connectors` (or an alias of it) the filter reads. */
type ConnectorColumns = Record<
  'id' | 'companyId' | 'name' | 'updatePending' | 'marketplaceConnectorId' | 'modifiedAt',
  AnyPgColumn
>

function pendingWhere(table: ConnectorColumns, actor: Actor, filter: UpdatesFilter, ids?: string[]) {
  const q = filter.q.trim()
  return and(
    eq(table.companyId, actor.companyId),
    eq(table.updatePending, true),
    q ? ilike(table.name, containsPattern(q)) : undefined,
    filter.systemType
      ? sql`(select ${pendingFrom.systemType} from ${marketplaceConnectors} ${pendingFrom} where ${pendingFrom.id} = ${table.marketplaceConnectorId}) = ${filter.systemType}`
      : undefined,
    filter.modified === 'yes' ? isNotNull(table.modifiedAt) : undefined,
    filter.modified === 'no' ? isNull(table.modifiedAt) : undefined,
    ids ? inArray(table.id, ids.length ? ids : ['00000000-0000-0000-0000-000000000000']) : undefined,
  )
}

const counted = alias(connectors, 'counted')

/**
 * The connectors of the company with an update pending that match the filter, by name: all of them
 * (small rows, one query: a company has at most a few thousand connectors), or one page of them with
 * how many match (of which modified) from the partial index of pending updates. The breaking filter
 * is applied after (what breaks is worked out per pair of versions, see loadBreaks).
 */
async function pendingUpdates(
  db: Queryable,
  actor: Actor,
  filter: UpdatesFilter,
  ids?: string[],
  page?: { offset: number },
): Promise<{ rows: PendingUpdate[]; total: number; modified: number }> {
  // What comes from the marketplace connector is looked up per connector by primary key: joined, the
  // planner would read every marketplace connector (a sequential scan) to find a third of a company's.
  const fromMarketplace = <T>(column: AnyPgColumn) =>
    sql<T>`(select ${column} from ${marketplaceConnectors} ${pendingFrom} where ${pendingFrom.id} = ${connectors.marketplaceConnectorId})`
  const latestId = sql<
    string | null
  >`(select ${pendingFrom.latestVersionId} from ${marketplaceConnectors} ${pendingFrom}
    where ${pendingFrom.id} = ${connectors.marketplaceConnectorId} and ${pendingFrom.kind} = 'prebuilt')`
  const query = db
    .select({
      id: connectors.id,
      name: connectors.name,
      revision: connectors.revision,
      systemType: fromMarketplace<string>(pendingFrom.systemType),
      modifiedAt: connectors.modifiedAt,
      modifiedByName: modifier.name,
      fromId: marketplaceVersions.id,
      fromVersion: marketplaceVersions.version,
      toId: sql<string>`${latestId}`,
      toVersion: sql<string>`(select ${latestVersion.version} from ${marketplaceVersions} ${latestVersion} where ${latestVersion.id} = ${latestId})`,
      counts: page
        ? sql<[number, number]>`(select json_build_array(count(*), count(${counted.modifiedAt}))
            from ${connectors} ${counted} where ${pendingWhere(counted, actor, filter, ids)})`
        : sql<null>`null`,
    })
    .from(connectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .leftJoin(modifier, eq(modifier.id, connectors.modifiedBy))
    .where(pendingWhere(connectors, actor, filter, ids))
    .orderBy(asc(sql`lower(${connectors.name})`), asc(connectors.id))
  const found = page ? await query.limit(UPDATES_PAGE_SIZE).offset(page.offset) : await query
  const rows = found
    .filter((r) => hasUpdate('prebuilt', r.fromVersion, r.toVersion))
    .map((r): PendingUpdate => ({
      id: r.id,
      name: r.name,
      revision: r.revision,
      systemType: r.systemType,
      modifiedAt: r.modifiedAt,
      modifiedByName: r.modifiedByName,
      from: { id: r.fromId, version: r.fromVersion },
      to: { id: r.toId!, version: r.toVersion! },
      breaking: [],
    }))
  if (page && !found.length && page.offset > 0) {
    // Past the last page: how many there are still decides where the list moves to.
    const [again] = await db
      .select({ counts: sql<[number, number]>`json_build_array(count(*), count(${counted.modifiedAt}))` })
      .from(counted)
      .where(pendingWhere(counted, actor, filter, ids))
    return { rows, total: again!.counts[0], modified: again!.counts[1] }
  }
  const [total, modified] = found[0]?.counts ?? [rows.length, rows.filter((r) => r.modifiedAt).length]
  return { rows, total, modified }
}

/** The rows with what breaks filled in; `pairsOf` are the rows whose breaks are needed. */
async function withBreaks(db: Queryable, rows: PendingUpdate[]): Promise<PendingUpdate[]> {
  await loadBreaks(db, rows)
  return rows.map((r) => ({ ...r, breaking: breaksOf(r) }))
}

/** What each connector's update touches and the newest release notes: one query for the given connectors. */
async function impactsOf(db: Queryable, actor: Actor, rows: PendingUpdate[]): Promise<PendingUpdateRow[]> {
  if (!rows.length) return []
  const shape = alias(connectionShapes, 'shape')
  const used = alias(instances, 'used')
  const details = await db
    .select({
      id: connectors.id,
      releaseNotes: latestVersion.releaseNotes,
      // [authentication method key, instances using it]
      authMethods: sql<[string, number][]>`(select coalesce(json_agg(json_build_array(a.k, a.n)), '[]') from (
        select ${instances.authMethodKey} as k, cast(count(*) as integer) as n from ${instances}
        where ${instances.connectorId} = ${connectors.id} and ${instances.companyId} = ${connectors.companyId}
        group by 1) a)`,
      // [endpoint key, connection shapes using it, the process flows they are in]
      endpoints: sql<
        [string, number, string[]][]
      >`(select coalesce(json_agg(json_build_array(e.k, e.n, e.f)), '[]') from (
        select ${shape.endpointKey} as k, cast(count(*) as integer) as n, array_agg(distinct ${shape.processFlowId}) as f
        from ${connectionShapes} ${shape} inner join ${instances} ${used}
          on ${used.id} = ${shape.instanceId} and ${used.companyId} = ${shape.companyId}
        where ${used.connectorId} = ${connectors.id} and ${used.companyId} = ${connectors.companyId}
        group by 1) e)`,
    })
    .from(connectors)
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .innerJoin(latestVersion, eq(latestVersion.id, marketplaceConnectors.latestVersionId))
    .where(theCompanys(actor, rows))
  const byId = new Map(details.map((d) => [d.id, d]))
  return rows.map((row) => {
    const detail = byId.get(row.id)
    const breakingEndpoints = new Set(row.breaking.filter((b) => b.what === 'endpoint').map((b) => b.key))
    const breakingAuth = new Set(row.breaking.filter((b) => b.what !== 'endpoint').map((b) => b.key))
    const flows = new Set<string>()
    const breakingFlows = new Set<string>()
    let shapes = 0
    let breakingShapes = 0
    for (const [key, n, flowIds] of detail?.endpoints ?? []) {
      shapes += n
      for (const f of flowIds) flows.add(f)
      if (breakingEndpoints.has(key)) {
        breakingShapes += n
        for (const f of flowIds) breakingFlows.add(f)
      }
    }
    const auth = detail?.authMethods ?? []
    const breakingInstances = auth.reduce((sum, [key, n]) => sum + (breakingAuth.has(key) ? n : 0), 0)
    const breakingUse = [
      breakingShapes
        ? `${plural(breakingShapes, 'connection shape')} in ${plural(breakingFlows.size, 'process flow')}`
        : '',
      breakingInstances ? plural(breakingInstances, 'instance') : '',
    ]
      .filter(Boolean)
      .join(' and ')
    return {
      ...row,
      releaseSummary: oneLine(detail?.releaseNotes ?? ''),
      impact: {
        instances: auth.reduce((sum, [, n]) => sum + n, 0),
        flows: flows.size,
        shapes,
        breakingInstances,
        breakingShapes,
        breakingFlows: breakingFlows.size,
        breakingUse,
      },
    }
  })
}

/** The first sentence or line of release notes, at most 140 characters. */
export function oneLine(notes: string): string {
  const first = notes.trim().split(/\n|(?<=[.!?])\s/)[0] ?? ''
  return first.length > 140 ? `${first.slice(0, 139).trimEnd()}…` : first
}

export interface UpdatesScreen {
  list: Page<PendingUpdateRow>
  /** Of every connector matching the filter (all pages): those not modified, and the modified ones. */
  unmodified: number
  modified: number
}

/** The updates screen: one page of pending updates matching the filter. Two queries (three the first time a pair of versions is seen). */
export async function listPendingUpdates(
  db: Db,
  actor: Actor,
  filter: UpdatesFilter,
  page: number,
): Promise<UpdatesScreen> {
  requirePermission(actor, 'manageConnectors')
  const start = (page - 1) * UPDATES_PAGE_SIZE
  // Without the breaking filter the page comes from SQL with its counts; with it, every match is
  // needed first (what breaks is known per pair of versions, not in the database).
  const {
    rows: pageRows,
    total,
    modified,
  } = filter.breaking
    ? await (async () => {
        const matching = await matchingFilter(db, actor, filter)
        return {
          rows: matching.slice(start, start + UPDATES_PAGE_SIZE),
          total: matching.length,
          modified: matching.filter((r) => r.modifiedAt).length,
        }
      })()
    : await pendingUpdates(db, actor, filter, undefined, { offset: start })
  const onPage = await withBreaks(db, pageRows)
  const rows = await impactsOf(db, actor, onPage)
  return {
    list: pageOf(
      rows.map((r) => ({ ...r, total })),
      page,
      UPDATES_PAGE_SIZE,
      total,
    ),
    unmodified: total - modified,
    modified,
  }
}

/** Every pending update matching the filter (with what breaks worked out when the filter needs it). */
async function matchingFilter(db: Queryable, actor: Actor, filter: UpdatesFilter, ids?: string[]) {
  const { rows } = await pendingUpdates(db, actor, filter, ids)
  if (!filter.breaking) return rows
  const broken = await withBreaks(db, rows)
  return broken.filter((r) => (filter.breaking === 'yes') === r.breaking.length > 0)
}

/** How many connectors of the company have an update pending (the "N updates available" link). */
export async function pendingUpdateCount(db: Queryable, actor: Actor): Promise<number> {
  const { total } = await pendingUpdates(db, actor, NO_FILTER, undefined, { offset: 0 })
  return total
}

export interface PreviewItem extends PendingUpdateRow {
  /** Whether this bulk update applies to it; if not, why (and it is left as it is). */
  eligible: boolean
  reason: string | null
  /** "keep my changes": the company's changes kept on top of the new version. */
  kept: string[]
}

export interface BulkPreview {
  kind: UpdateBatchKind
  items: PreviewItem[]
  eligible: number
}

/**
 * What a bulk update would do to each connector chosen (`ids`), or to every one matching the filter
 * (`ids` null): versions, what breaks, and whether it applies. "update" applies to connectors that are
 * not modified; "keep my changes" to those whose merge has no conflict.
 */
export async function previewBulkUpdate(
  db: Db,
  actor: Actor,
  input: { kind: UpdateBatchKind; filter: UpdatesFilter; ids: string[] | null },
): Promise<BulkPreview> {
  requirePermission(actor, 'manageConnectors')
  const chosen = await withBreaks(db, await matchingFilter(db, actor, input.filter, input.ids ?? undefined))
  if (!chosen.length)
    throw new Invalid({ connector: 'Choose at least one connector with an update available to update.' })
  if (chosen.length > MAX_BATCH)
    throw new Invalid({ connector: `At most ${MAX_BATCH} connectors can be updated at once: filter the list first.` })
  const rows = await impactsOf(db, actor, chosen)
  const merges = input.kind === 'keep my changes' ? await mergesOf(db, actor, chosen) : new Map<string, Merged>()
  const items = rows.map((row): PreviewItem => {
    if (input.kind === 'update') {
      return row.modifiedAt
        ? {
            ...row,
            eligible: false,
            kept: [],
            reason: `modified by ${row.modifiedByName ?? 'somebody'}: never overwritten in bulk. Choose for it alone, or update and keep the changes.`,
          }
        : { ...row, eligible: true, kept: [], reason: null }
    }
    const merged = merges.get(row.id)
    if (!merged || merged.problem) return { ...row, eligible: false, kept: [], reason: merged?.problem ?? 'gone' }
    return { ...row, eligible: true, kept: merged.kept, reason: null }
  })
  return { kind: input.kind, items, eligible: items.filter((i) => i.eligible).length }
}

interface Merged {
  definition: ConnectorDefinition
  kept: string[]
  problem: string | null
}

/** "keep my changes" without any choice: the merge of each connector, or why it cannot be done in bulk. */
function mergeWithoutChoices(
  base: ConnectorDefinition,
  mine: ConnectorDefinition,
  theirs: ConnectorDefinition,
): Merged {
  const merge = mergeDefinitions(base, mine, theirs)
  if (merge.conflicts.length)
    return {
      definition: merge.definition,
      kept: merge.keptFromMine,
      problem: `${plural(merge.conflicts.length, 'conflict')} between your changes and the new version: choose for it alone (mine or theirs per conflict).`,
    }
  const invalid = checkDefinition(merge.definition)[0]
  return {
    definition: merge.definition,
    kept: merge.keptFromMine,
    problem: invalid
      ? `the merged definition would not be valid at ${invalid.path} (${invalid.message}): choose for it alone.`
      : null,
  }
}

async function mergesOf(db: Queryable, actor: Actor, rows: PendingUpdate[]): Promise<Map<string, Merged>> {
  const found = await db
    .select({
      id: connectors.id,
      mine: connectors.definition,
      base: marketplaceVersions.definition,
      theirs: latestVersion.definition,
    })
    .from(connectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .innerJoin(latestVersion, eq(latestVersion.id, marketplaceConnectors.latestVersionId))
    .where(theCompanys(actor, rows))
  return new Map(found.map((r) => [r.id, mergeWithoutChoices(r.base, r.mine, r.theirs)]))
}

export interface BatchItemInput {
  connectorId: string
  /** The revision the preview showed. */
  revision: number
  /** The marketplace version the preview showed. */
  toVersionId: string
}

const ACTION: Record<UpdateBatchKind, AuditAction> = {
  update: 'bulk update',
  'keep my changes': 'bulk keep my changes',
}

/**
 * Confirming the preview: records the batch and its connectors, each with the revision and version
 * the preview showed; nothing is updated yet (runNextChunk does it). Once per form submission.
 */
export async function startBulkUpdate(
  db: Db,
  actor: Actor,
  input: { kind: UpdateBatchKind; items: BatchItemInput[]; submission?: string | undefined },
): Promise<{ batchId: string; count: number }> {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: input.submission,
    replay: async (_tx, earlier) => (earlier.resultId ? { batchId: earlier.resultId, count: 0 } : null),
    run: async (tx) => {
      const ids = [...new Set(input.items.map((i) => i.connectorId))]
      // Another company's connector, or one removed since: left out, as if never asked for.
      const known = ids.length
        ? await tx
            .select({
              id: connectors.id,
              name: connectors.name,
              fromId: connectors.marketplaceVersionId,
              marketplaceConnectorId: connectors.marketplaceConnectorId,
            })
            .from(connectors)
            .where(theCompanys(actor, ids))
        : []
      const targets = input.items.length
        ? await tx
            .select({ id: marketplaceVersions.id, marketplaceConnectorId: marketplaceVersions.marketplaceConnectorId })
            .from(marketplaceVersions)
            .where(
              inArray(
                marketplaceVersions.id,
                input.items.map((i) => i.toVersionId),
              ),
            )
        : []
      const byId = new Map(known.map((k) => [k.id, k]))
      const targetOf = new Map(targets.map((t) => [t.id, t.marketplaceConnectorId]))
      const seen = new Set<string>()
      const items = input.items.flatMap((item) => {
        const connector = byId.get(item.connectorId)
        if (!connector || seen.has(item.connectorId)) return []
        if (targetOf.get(item.toVersionId) !== connector.marketplaceConnectorId) return []
        seen.add(item.connectorId)
        return [{ ...item, connector }]
      })
      if (!items.length)
        throw new Invalid({ connector: 'None of these connectors can be updated any more: look at the list again.' })
      const [batch] = await tx
        .insert(updateBatches)
        .values({ companyId: actor.companyId, startedBy: actor.id, kind: input.kind })
        .returning({ id: updateBatches.id })
      await tx.insert(updateBatchItems).values(
        items.map((item, position) => ({
          batchId: batch!.id,
          connectorId: item.connectorId,
          connectorName: item.connector.name,
          fromVersionId: item.connector.fromId,
          toVersionId: item.toVersionId,
          seenRevision: item.revision,
          position,
        })),
      )
      return {
        result: { batchId: batch!.id, count: items.length },
        resultId: batch!.id,
        audit: {
          action: ACTION[input.kind],
          subjectType: 'update batch',
          subjectId: batch!.id,
          summary: `started ${input.kind === 'update' ? 'updating' : 'updating, keeping the changes of,'} ${plural(items.length, 'connector')} in bulk`,
          details: { connectors: items.map((i) => i.connector.name) },
        },
      }
    },
  })
}

/** The batch's page names it by when it started; a revision's summary by this short name. */
const shortName = (batchId: string) => `bulk update ${batchId.slice(0, 8)}`

async function batchOf(db: Queryable, actor: Actor, batchId: string) {
  const [batch] = await db
    .select({ id: updateBatches.id, kind: updateBatches.kind, state: updateBatches.state })
    .from(updateBatches)
    .where(and(eq(updateBatches.id, batchId), eq(updateBatches.companyId, actor.companyId)))
  if (!batch) throw new NotFound('That bulk update')
  return batch as { id: string; kind: UpdateBatchKind; state: UpdateBatchState }
}

/**
 * Applies the next `size` connectors still pending of a running batch, each in its own transaction;
 * then, when none is left, marks the batch done. Safe to call from several requests at once: an item
 * is done once, under its connector's lock. Returns how many it handled.
 */
export async function runNextChunk(db: Db, actor: Actor, batchId: string, size = UPDATE_CHUNK): Promise<number> {
  requirePermission(actor, 'manageConnectors')
  const batch = await batchOf(db, actor, batchId)
  if (batch.state !== 'running') return 0
  const next = await db
    .select({ id: updateBatchItems.id })
    .from(updateBatchItems)
    .where(and(eq(updateBatchItems.batchId, batchId), eq(updateBatchItems.state, 'pending')))
    .orderBy(asc(updateBatchItems.position))
    .limit(size)
  for (const item of next) await db.transaction((tx) => applyItem(tx, actor, batch, item.id))
  await db.transaction((tx) => finishIfDone(tx, actor, batchId))
  return next.length
}

/**
 * The background runner's work (plugins/batch-runner.ts): the next chunk of every running batch, done
 * as the person who started it, while they may still update connectors (a batch whose starter was
 * deactivated or lost the role since waits for someone who may: its page offers them "continue").
 * Returns how many connectors it handled.
 */
export async function carryOnBatches(db: Db, size = UPDATE_CHUNK): Promise<number> {
  const running = await db
    .select({
      id: updateBatches.id,
      actor: {
        id: starter.id,
        companyId: starter.companyId,
        name: starter.name,
        email: starter.email,
        role: starter.role,
      },
    })
    .from(updateBatches)
    .innerJoin(starter, eq(starter.id, updateBatches.startedBy))
    .where(and(eq(updateBatches.state, 'running'), isNull(starter.deactivatedAt)))
    .orderBy(asc(updateBatches.createdAt))
  let handled = 0
  for (const { id, actor } of running) {
    if (can(actor, 'manageConnectors')) handled += await runNextChunk(db, actor, id, size)
  }
  return handled
}

async function applyItem(tx: Tx, actor: Actor, batch: { id: string; kind: UpdateBatchKind }, itemId: string) {
  const [item] = await tx
    .select({
      connectorId: updateBatchItems.connectorId,
      seenRevision: updateBatchItems.seenRevision,
      toVersionId: updateBatchItems.toVersionId,
    })
    .from(updateBatchItems)
    .where(eq(updateBatchItems.id, itemId))
  if (!item) return
  const skip = (reason: string) =>
    tx
      .update(updateBatchItems)
      .set({ state: 'skipped', reason })
      .where(and(eq(updateBatchItems.id, itemId), eq(updateBatchItems.state, 'pending')))
  // The connector first, then the item (the lock order, locks.ts): a second request waiting here
  // finds the item done and leaves it.
  const [locked] = item.connectorId
    ? await lockConnectors(tx, and(eq(connectors.id, item.connectorId), eq(connectors.companyId, actor.companyId)))
    : []
  const [still] = await tx
    .select({ state: updateBatchItems.state })
    .from(updateBatchItems)
    .where(eq(updateBatchItems.id, itemId))
    .for('update')
  if (still?.state !== 'pending') return
  if (!locked) return skip('removed since the preview')
  const connector = await lockConnector(tx, actor, locked.id)
  if (connector.revision !== item.seenRevision) {
    const conflict = await revisionConflict(tx, connector.id)
    return skip(
      `changed since the preview: ${conflict.authorName} saved revision ${conflict.revision}. Look at it again.`,
    )
  }
  const target = await marketplaceVersion(tx, eq(marketplaceVersions.id, item.toVersionId))
  if (!target || !hasUpdate(connector.kind, connector.version, target.version))
    return skip(`already at version ${connector.version}`)
  const applied = applyTo(batch, connector, target)
  if ('problem' in applied) return skip(applied.problem)
  const revision = await moveToVersion(tx, actor, connector, target, applied.summary, applied.merged)
  await tx
    .update(updateBatchItems)
    .set({
      state: 'updated',
      madeRevision: revision,
      previousModifiedAt: connector.modifiedAt,
      previousModifiedBy: connector.modifiedBy,
    })
    .where(eq(updateBatchItems.id, itemId))
}

/** What the batch does to one connector: update in place, or merge without conflicts (else why not). */
function applyTo(
  batch: { id: string; kind: UpdateBatchKind },
  connector: LockedConnector,
  target: { version: string; definition: ConnectorDefinition },
): { summary: string; merged?: ConnectorDefinition } | { problem: string } {
  const from = `from version ${connector.version} to ${target.version}`
  if (batch.kind === 'update') {
    if (connector.modifiedAt) return { problem: 'modified since the preview: never overwritten in bulk' }
    return { summary: `updated ${from} (${shortName(batch.id)})` }
  }
  const merge = mergeWithoutChoices(connector.baseDefinition, connector.definition, target.definition)
  if (merge.problem) return { problem: merge.problem }
  const kept = merge.kept.length ? `; kept: ${merge.kept.join('; ')}` : ''
  return { summary: `updated ${from}, keeping your changes (${shortName(batch.id)})${kept}`, merged: merge.definition }
}

async function finishIfDone(tx: Tx, actor: Actor, batchId: string) {
  const [finished] = await tx
    .update(updateBatches)
    .set({ state: 'done', finishedAt: sql`now()` })
    .where(
      and(
        eq(updateBatches.id, batchId),
        eq(updateBatches.state, 'running'),
        sql`not exists (select 1 from ${updateBatchItems} where ${updateBatchItems.batchId} = ${updateBatches.id} and ${updateBatchItems.state} = 'pending')`,
      ),
    )
    .returning({ id: updateBatches.id })
  if (!finished) return
  const counts = await countsOf(tx, batchId)
  await recordEvent(tx, actor, {
    action: 'finish bulk update',
    subjectType: 'update batch',
    subjectId: batchId,
    summary: `bulk update finished: ${plural(counts.updated, 'connector')} updated, ${counts.skipped} skipped`,
    details: counts,
  })
}

export type BatchCounts = Record<UpdateItemState, number> & { total: number }

async function countsOf(db: Queryable, batchId: string): Promise<BatchCounts> {
  const rows = await db
    .select({ state: updateBatchItems.state, n: count() })
    .from(updateBatchItems)
    .where(eq(updateBatchItems.batchId, batchId))
    .groupBy(updateBatchItems.state)
  const counts: BatchCounts = { pending: 0, updated: 0, skipped: 0, undone: 0, refused: 0, total: 0 }
  for (const row of rows) {
    counts[row.state as UpdateItemState] = row.n
    counts.total += row.n
  }
  return counts
}

const starter = alias(users, 'starter')
const undoer = alias(users, 'undoer')
const fromVersion = alias(marketplaceVersions, 'from_version')
const toVersion = alias(marketplaceVersions, 'to_version')

export interface BatchItem {
  connectorId: string | null
  name: string
  from: string
  to: string
  state: UpdateItemState
  reason: string | null
  madeRevision: number | null
  /** The connector's revision now (null once it is removed): undo refuses those changed since. */
  revisionNow: number | null
}

export interface UpdateBatch {
  id: string
  name: string
  kind: UpdateBatchKind
  state: UpdateBatchState
  startedByName: string
  /** Whether the background runner carries it on (as who started it), or it waits for "continue". */
  carriedOn: boolean
  createdAt: Date
  finishedAt: Date | null
  undoneAt: Date | null
  undoneByName: string | null
  counts: BatchCounts
  items: BatchItem[]
}

/** A bulk update's page: where it stands and what became of each connector. Two queries. */
export async function getUpdateBatch(db: Db, actor: Actor, batchId: string): Promise<UpdateBatch> {
  requirePermission(actor, 'manageConnectors')
  const [batch] = await db
    .select({
      id: updateBatches.id,
      kind: updateBatches.kind,
      state: updateBatches.state,
      startedByName: starter.name,
      starterRole: starter.role,
      starterDeactivatedAt: starter.deactivatedAt,
      createdAt: updateBatches.createdAt,
      finishedAt: updateBatches.finishedAt,
      undoneAt: updateBatches.undoneAt,
      undoneByName: undoer.name,
    })
    .from(updateBatches)
    .innerJoin(starter, eq(starter.id, updateBatches.startedBy))
    .leftJoin(undoer, eq(undoer.id, updateBatches.undoneBy))
    .where(and(eq(updateBatches.id, batchId), eq(updateBatches.companyId, actor.companyId)))
  if (!batch) throw new NotFound('That bulk update')
  const items = await db
    .select({
      connectorId: updateBatchItems.connectorId,
      name: updateBatchItems.connectorName,
      from: fromVersion.version,
      to: toVersion.version,
      state: updateBatchItems.state,
      reason: updateBatchItems.reason,
      madeRevision: updateBatchItems.madeRevision,
      revisionNow: connectors.revision,
    })
    .from(updateBatchItems)
    .innerJoin(fromVersion, eq(fromVersion.id, updateBatchItems.fromVersionId))
    .innerJoin(toVersion, eq(toVersion.id, updateBatchItems.toVersionId))
    .leftJoin(connectors, eq(connectors.id, updateBatchItems.connectorId))
    .where(eq(updateBatchItems.batchId, batchId))
    .orderBy(asc(updateBatchItems.position))
  const counts: BatchCounts = { pending: 0, updated: 0, skipped: 0, undone: 0, refused: 0, total: items.length }
  for (const item of items) counts[item.state as UpdateItemState]++
  const { starterRole, starterDeactivatedAt, ...shown } = batch
  return {
    ...(shown as typeof shown & { kind: UpdateBatchKind; state: UpdateBatchState }),
    carriedOn: starterDeactivatedAt === null && can({ role: starterRole }, 'manageConnectors'),
    name: shortName(batch.id),
    counts,
    items: items as BatchItem[],
  }
}

export interface UndoResult {
  undone: number
  refused: { name: string; reason: string }[]
}

/**
 * "undo": every connector the batch updated goes back to the revision it had before (a new revision,
 * so the history keeps everything), except those changed since, which are listed with why. One
 * transaction, once per form submission.
 */
export async function undoBulkUpdate(
  db: Db,
  actor: Actor,
  input: { batchId: string; submission?: string | undefined },
): Promise<UndoResult> {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: input.submission,
    replay: async () => ({ undone: 0, refused: [] }),
    run: async (tx) => {
      const batch = await batchOf(tx, actor, input.batchId)
      const items = await tx
        .select({
          id: updateBatchItems.id,
          connectorId: updateBatchItems.connectorId,
          name: updateBatchItems.connectorName,
          seenRevision: updateBatchItems.seenRevision,
          madeRevision: updateBatchItems.madeRevision,
          fromVersionId: updateBatchItems.fromVersionId,
          previousModifiedAt: updateBatchItems.previousModifiedAt,
          previousModifiedBy: updateBatchItems.previousModifiedBy,
        })
        .from(updateBatchItems)
        .where(and(eq(updateBatchItems.batchId, batch.id), eq(updateBatchItems.state, 'updated')))
        .orderBy(asc(updateBatchItems.position))
      const ids = items.flatMap((i) => (i.connectorId ? [i.connectorId] : []))
      if (ids.length) await lockConnectors(tx, theCompanys(actor, ids))
      await lockUpdateBatch(tx, actor, batch.id)
      const [now] = await tx
        .select({ state: updateBatches.state })
        .from(updateBatches)
        .where(eq(updateBatches.id, batch.id))
      if (now?.state === 'running')
        throw new Conflict('This bulk update is still running: let it finish, then undo it.')
      if (now?.state === 'undone') throw new Conflict('This bulk update is already undone.')
      if (!items.length) throw new Conflict('This bulk update updated no connector, so there is nothing to undo.')
      const current = ids.length
        ? await tx
            .select({ id: connectors.id, revision: connectors.revision })
            .from(connectors)
            .where(inArray(connectors.id, ids))
        : []
      const revisionOf = new Map(current.map((c) => [c.id, c.revision]))
      const refused: UndoResult['refused'] = []
      let undone = 0
      for (const item of items) {
        const revision = item.connectorId ? revisionOf.get(item.connectorId) : undefined
        let reason: string | null = null
        if (revision === undefined) reason = 'removed since'
        else if (revision !== item.madeRevision) {
          const conflict = await revisionConflict(tx, item.connectorId!)
          reason = `changed since: ${conflict.authorName} saved revision ${conflict.revision}. Roll it back from its revision history instead.`
        }
        if (reason) {
          refused.push({ name: item.name, reason })
          await tx.update(updateBatchItems).set({ state: 'refused', reason }).where(eq(updateBatchItems.id, item.id))
          continue
        }
        await revertItem(tx, actor, batch.id, { ...item, connectorId: item.connectorId!, madeRevision: revision! })
        undone++
      }
      await tx
        .update(updateBatches)
        .set({ state: 'undone', undoneAt: sql`now()`, undoneBy: actor.id })
        .where(eq(updateBatches.id, batch.id))
      return {
        result: { undone, refused },
        resultId: batch.id,
        audit: {
          action: 'undo bulk update',
          subjectType: 'update batch',
          subjectId: batch.id,
          summary: `undid ${shortName(batch.id)}: ${plural(undone, 'connector')} back to the revision before${refused.length ? `; ${plural(refused.length, 'connector')} changed since left as they are` : ''}`,
          details: { undone, refused },
        },
      }
    },
  })
}

/** One connector back to the revision before the batch: its definition and version, and whether it was modified. */
async function revertItem(
  tx: Tx,
  actor: Actor,
  batchId: string,
  item: {
    id: string
    connectorId: string
    seenRevision: number
    madeRevision: number
    fromVersionId: string
    previousModifiedAt: Date | null
    previousModifiedBy: string | null
  },
) {
  const [before] = await tx
    .select({
      definition: connectorRevisions.definition,
      versionId: connectorRevisions.marketplaceVersionId,
      version: marketplaceVersions.version,
    })
    .from(connectorRevisions)
    .innerJoin(
      marketplaceVersions,
      eq(marketplaceVersions.id, sql`coalesce(${connectorRevisions.marketplaceVersionId}, ${item.fromVersionId})`),
    )
    .where(and(eq(connectorRevisions.connectorId, item.connectorId), eq(connectorRevisions.number, item.seenRevision)))
  if (!before) throw new NotFound(`Revision ${item.seenRevision}`)
  const [saved] = await tx
    .update(connectors)
    .set({
      definition: before.definition,
      marketplaceVersionId: before.versionId ?? item.fromVersionId,
      revision: sql`${connectors.revision} + 1`,
      modifiedAt: item.previousModifiedAt,
      modifiedBy: item.previousModifiedBy,
    })
    .where(and(eq(connectors.id, item.connectorId), eq(connectors.revision, item.madeRevision)))
    .returning({ revision: connectors.revision })
  if (!saved) throw await revisionConflict(tx, item.connectorId)
  await tx.insert(connectorRevisions).values({
    connectorId: item.connectorId,
    number: saved.revision,
    authorId: actor.id,
    summary: `undid ${shortName(batchId)}: back to revision ${item.seenRevision} (version ${before.version})`,
    definition: before.definition,
    marketplaceVersionId: before.versionId ?? item.fromVersionId,
  })
  await tx.update(updateBatchItems).set({ state: 'undone' }).where(eq(updateBatchItems.id, item.id))
}
