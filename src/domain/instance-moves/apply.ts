// Preview and apply a move: the rows a plan is computed from (locked in the one lock order when
// applying), the preview, and applying it as one batch.
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import {
  connectionShapes,
  instances,
  migrationBatches,
  migrationInstances,
  migrationShapes,
  processFlows,
} from '../../db/schema.js'
import type { Db, Queryable, Tx } from '../../db/client.js'
import { violates } from '../../db/errors.js'
import { requirePermission, type Actor } from '../actor.js'
import type { AuditEntry } from '../audit.js'
import { runCommand, type Done } from '../command.js'
import { Conflict, Invalid, NotFound } from '../errors.js'
import { touchFlows } from '../flows.js'
import { isId } from '../ids.js'
import { lockFlows, lockInstances, lockShapes } from '../locks.js'
import { groupBy } from '../group-by.js'
import type { SecretBox } from '../secrets.js'
import { loadBatch, migratedSummary } from './batches.js'
import {
  planMigration,
  type MigrationChoices,
  type MigrationPlan,
  type PlanConnector,
  type PlanInput,
  type PlannedInstance,
} from './plan.js'
import { connectorAndSiblings } from './siblings.js'

const copy = alias(instances, 'copy')

/** The rows a plan is computed from. With `lock`, they are locked in the one lock order (locks.ts). */
async function planInputOf(
  q: Queryable,
  actor: Actor,
  box: SecretBox,
  connectorId: string,
  choices: MigrationChoices,
  lock: boolean,
) {
  const { connector: to, siblings } = await connectorAndSiblings(q, actor, connectorId, lock)
  const source =
    choices.fromConnectorId === undefined ? siblings[0] : siblings.find((s) => s.id === choices.fromConnectorId)
  if (!source) throw new NotFound('That connector')
  const pickedIds = [...new Set(choices.instanceIds)].filter(isId)
  const flowIds = [...new Set(pickedIds.flatMap((id) => choices.flowIds[id] ?? []))].filter(isId)
  if (lock && flowIds.length) await lockFlows(q, actor, inArray(processFlows.id, flowIds))
  const picked = and(
    eq(instances.companyId, actor.companyId),
    eq(instances.connectorId, source.id),
    inArray(instances.id, pickedIds),
  )
  if (lock && pickedIds.length) await lockInstances(q, actor, picked, 'share')
  const instanceQuery = q
    .select({
      id: instances.id,
      name: instances.name,
      authMethodKey: instances.authMethodKey,
      timeZone: instances.timeZone,
      dateFormat: instances.dateFormat,
      rateLimitAmount: instances.rateLimitAmount,
      rateLimitUnit: instances.rateLimitUnit,
      settings: instances.settings,
      secrets: instances.secrets,
      updatedAt: instances.updatedAt,
    })
    .from(instances)
    .where(picked)
    .orderBy(asc(instances.id))
  const rows = pickedIds.length === 0 ? [] : await instanceQuery
  const ids = rows.map((r) => r.id)
  const usingPicked = and(eq(connectionShapes.companyId, actor.companyId), inArray(connectionShapes.instanceId, ids))
  if (lock && ids.length) await lockShapes(q, actor, usingPicked)
  const shapeQuery = q
    .select({
      id: connectionShapes.id,
      flowId: processFlows.id,
      flowName: processFlows.name,
      enabled: processFlows.enabled,
      position: connectionShapes.position,
      instanceId: connectionShapes.instanceId,
      endpointKey: connectionShapes.endpointKey,
    })
    .from(connectionShapes)
    .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(usingPicked)
    .orderBy(asc(connectionShapes.id))
  const names = rows.map((r) => `${r.name}${choices.suffix}`.trim())
  const [shapes, moved, taken] =
    ids.length === 0
      ? [[], [], []]
      : [
          await shapeQuery,
          await q
            .select({
              fromId: migrationInstances.fromInstanceId,
              batchId: migrationInstances.batchId,
              instanceId: copy.id,
              name: copy.name,
            })
            .from(migrationInstances)
            .innerJoin(migrationBatches, eq(migrationBatches.id, migrationInstances.batchId))
            .innerJoin(copy, eq(copy.id, migrationInstances.createdInstanceId))
            .where(
              and(
                eq(migrationBatches.companyId, actor.companyId),
                eq(migrationBatches.toConnectorId, to.id),
                isNull(migrationBatches.undoneAt),
                inArray(migrationInstances.fromInstanceId, ids),
              ),
            ),
          await q
            .select({ name: instances.name })
            .from(instances)
            .where(and(eq(instances.connectorId, to.id), inArray(instances.name, names))),
        ]
  const movedTo = new Map(moved.map((m) => [m.fromId!, { batchId: m.batchId, instanceId: m.instanceId, name: m.name }]))
  const input: PlanInput = {
    from: pick(source),
    to: pick(to),
    instances: rows
      .map(({ secrets, ...row }) => ({
        ...row,
        secretKeys: Object.keys(box.open(secrets)),
        movedTo: movedTo.get(row.id) ?? null,
      }))
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase())),
    shapes,
    takenNames: taken.map((t) => t.name),
    choices,
  }
  return {
    input,
    secrets: new Map(rows.map((r) => [r.id, r.secrets])),
    settings: new Map(rows.map((r) => [r.id, r.settings])),
  }
}

const pick = (c: PlanConnector): PlanConnector => ({
  id: c.id,
  name: c.name,
  version: c.version,
  revision: c.revision,
  definition: c.definition,
})

/** The preview: exactly what applying these choices will change. Changes nothing. */
export async function previewMigration(
  db: Db,
  actor: Actor,
  box: SecretBox,
  connectorId: string,
  choices: MigrationChoices,
): Promise<MigrationPlan> {
  requirePermission(actor, 'manageInstances')
  const { input } = await planInputOf(db, actor, box, connectorId, choices, false)
  return planMigration(input)
}

/** What was previewed is no longer what would be applied: show the preview again. */
export class PlanChanged extends Conflict {
  override name = 'PlanChanged'
  constructor() {
    super(
      'Something changed since this preview was shown (an instance, a process flow or a connector). Nothing was changed yet: check the preview again, then apply.',
    )
  }
}

export interface AppliedMigration {
  batchId: string
  summary: string
}

/** The choices the preview showed, for the new connector; `plan` is the preview's digest. */
export type MigrationToApply = MigrationChoices & {
  connectorId: string
  plan?: string | undefined
  submission?: string | undefined
}

/**
 * Applies a migration in one transaction, once per form submission: creates the copies, repoints the
 * chosen process flows' connection shapes, records the batch and the audit events. `plan` is the
 * digest the preview showed; a different one means something changed since (PlanChanged).
 */
export async function applyMigration(
  db: Db,
  actor: Actor,
  box: SecretBox,
  input: MigrationToApply,
): Promise<AppliedMigration> {
  return runCommand(db, actor, {
    permission: 'manageInstances',
    submission: input.submission,
    replay: async (tx, earlier) => {
      const done = earlier.resultId
        ? await loadBatch(tx, actor, input.connectorId, earlier.resultId).catch(() => null)
        : null
      return done
        ? {
            batchId: done.id,
            summary: migratedSummary(done.instances.length, done.shapes.length, done.from.name, done.to.name),
          }
        : null
    },
    run: (tx) => apply(tx, actor, box, input),
  })
}

/** Applying itself: the plan computed again from the rows locked in the one lock order (locks.ts), then written. */
async function apply(tx: Tx, actor: Actor, box: SecretBox, choices: MigrationToApply): Promise<Done<AppliedMigration>> {
  const { input, secrets, settings } = await planInputOf(tx, actor, box, choices.connectorId, choices, true)
  const plan = planMigration(input)
  if (Object.keys(plan.errors).length) throw new Invalid(plan.errors)
  if (choices.plan !== undefined && choices.plan !== plan.digest) throw new PlanChanged()
  const { from, to } = plan

  const [batch] = await tx
    .insert(migrationBatches)
    .values({
      companyId: actor.companyId,
      fromConnectorId: from.id,
      toConnectorId: to.id,
      createdBy: actor.id,
    })
    .returning({ id: migrationBatches.id })
  let created
  try {
    created = await tx
      .insert(instances)
      .values(
        plan.instances.map((p) => ({
          companyId: actor.companyId,
          connectorId: to.id,
          name: p.name,
          authMethodKey: p.authMethod!.key,
          timeZone: p.timeZone,
          dateFormat: p.dateFormat,
          rateLimitAmount: p.rateLimitAmount,
          rateLimitUnit: p.rateLimitUnit,
          ...valuesOf(p, settings.get(p.fromId) ?? {}, box.open(secrets.get(p.fromId) ?? null), box),
          createdBy: actor.id,
        })),
      )
      .returning({ id: instances.id, name: instances.name })
  } catch (error) {
    if (violates(error, 'instances_connector_name_unique'))
      throw new Invalid({
        suffix: `${to.name} already has an instance with one of these names. Choose another suffix.`,
      })
    throw error
  }
  const copyOf = new Map(plan.instances.map((p) => [p.fromId, created.find((c) => c.name === p.name)!.id]))

  const moves = plan.shapes.map((s) => ({
    ...s,
    toInstanceId: copyOf.get(s.fromInstanceId)!,
    toEndpointKey: s.toEndpoint!.key,
  }))
  for (const group of groupBy(moves, (m) => `${m.toInstanceId} ${m.toEndpointKey}`).values()) {
    await tx
      .update(connectionShapes)
      .set({ instanceId: group[0]!.toInstanceId, endpointKey: group[0]!.toEndpointKey })
      .where(
        and(
          eq(connectionShapes.companyId, actor.companyId),
          inArray(
            connectionShapes.id,
            group.map((m) => m.id),
          ),
        ),
      )
  }
  // A form of those flows shown before this (reconfigure a shape, say) is refused now: their shapes changed.
  await touchFlows(tx, actor, [...new Set(moves.map((m) => m.flowId))])
  // Both now(): the copies' updated_at is the transaction's start, so a later change to one shows.
  await tx.insert(migrationInstances).values(
    plan.instances.map((p) => ({
      batchId: batch!.id,
      fromInstanceId: p.fromId,
      createdInstanceId: copyOf.get(p.fromId)!,
      name: p.name,
      createdUpdatedAt: sql`now()`,
    })),
  )
  if (moves.length) {
    await tx.insert(migrationShapes).values(
      moves.map((m) => ({
        batchId: batch!.id,
        shapeId: m.id,
        processFlowName: m.flowName,
        fromInstanceId: m.fromInstanceId,
        fromEndpointKey: m.fromEndpoint.key,
        toInstanceId: m.toInstanceId,
        toEndpointKey: m.toEndpointKey,
      })),
    )
  }
  const summary = migratedSummary(plan.instances.length, moves.length, from.name, to.name)
  const audit: AuditEntry[] = [
    {
      action: 'migrate instances',
      subjectType: 'migration batch',
      subjectId: batch!.id,
      summary,
      details: {
        fromConnectorId: from.id,
        toConnectorId: to.id,
        instances: plan.instances.map((p) => ({
          from: p.fromId,
          fromName: p.fromName,
          created: copyOf.get(p.fromId),
          name: p.name,
          authMethod: p.authMethod!.key,
          dropped: p.dropped.map((d) => d.name),
        })),
        shapes: moves.map((m) => ({
          id: m.id,
          processFlowId: m.flowId,
          from: [m.fromInstanceId, m.fromEndpoint.key],
          to: [m.toInstanceId, m.toEndpointKey],
        })),
      },
    },
    ...plan.instances.map((p): AuditEntry => ({
      action: 'add instance',
      subjectType: 'instance',
      subjectId: copyOf.get(p.fromId)!,
      summary: `added instance ${p.name} of ${to.name}, copied from ${p.fromName} of ${from.name}`,
      details: { connectorId: to.id, authMethod: p.authMethod!.key, copiedFrom: p.fromId, migrationBatchId: batch!.id },
    })),
    ...moves.map((m): AuditEntry => ({
      action: 'reconfigure connection shape',
      subjectType: 'connection shape',
      subjectId: m.id,
      summary: `reconfigured a connection shape of ${m.flowName} from ${m.fromInstanceName}, ${m.fromEndpoint.name} to ${m.toInstanceName}, ${m.toEndpoint!.name}`,
      details: { processFlowId: m.flowId, instanceId: m.toInstanceId, migrationBatchId: batch!.id },
    })),
  ]
  return { result: { batchId: batch!.id, summary }, resultId: batch!.id, audit }
}

/** The copy's stored values: settings as planned, credentials re-encrypted for the fields the copy has. */
function valuesOf(
  p: PlannedInstance,
  oldSettings: Record<string, string>,
  oldSecrets: Record<string, string>,
  box: SecretBox,
) {
  const settings: Record<string, string> = {}
  const secrets: Record<string, string> = {}
  for (const field of p.fields) {
    const value =
      field.copiedFrom === 'setting'
        ? oldSettings[field.name]
        : field.copiedFrom === 'credential'
          ? oldSecrets[field.name]
          : field.value
    if (value === undefined || value === null) continue
    if (field.secret) {
      if (value !== '') secrets[field.name] = value
    } else settings[field.name] = value
  }
  return { settings, secrets: Object.keys(secrets).length ? box.seal(secrets) : null }
}
