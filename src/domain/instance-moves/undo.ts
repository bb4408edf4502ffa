// Undo a batch of moves: point the shapes back and remove the copies, if nothing else changed them since.
import { and, eq, inArray, isNotNull, or, sql } from 'drizzle-orm'
import {
  connectionShapes,
  instances,
  migrationBatches,
  migrationInstances,
  migrationShapes,
  processFlows,
} from '../../db/schema.js'
import type { Db, Tx } from '../../db/client.js'
import { requirePermission, type Actor } from '../actor.js'
import type { AuditEntry } from '../audit.js'
import { runCommand, type Done } from '../command.js'
import { NotFound } from '../errors.js'
import { touchFlows } from '../flows.js'
import { isId } from '../ids.js'
import { lockFlows, lockInstances, lockMigrationBatch, lockShapes } from '../locks.js'
import { groupBy } from '../group-by.js'
import { plural } from '../words.js'
import { loadBatch, type UndoBlocker } from './batches.js'

/** "undid the migration of 2 instances from Shopify to Shopify 2.2.0: 3 connection shapes pointed back, 2 created instances removed" */
const undoneSummary = (instanceCount: number, shapeCount: number, fromName: string, toName: string) =>
  `undid the migration of ${plural(instanceCount, 'instance')} from ${fromName} to ${toName}: ` +
  `${plural(shapeCount, 'connection shape')} pointed back, ${plural(instanceCount, 'created instance')} removed`

export type UndoResult = { undone: true; summary: string } | { undone: false; blockers: UndoBlocker[] }

/**
 * Undo: points the shapes back and removes the copies, in one transaction with the rows locked, if
 * nothing else changed them since. Otherwise nothing changes and the result says why.
 */
export async function undoMigration(
  db: Db,
  actor: Actor,
  input: { connectorId: string; batchId: string; submission?: string | undefined },
): Promise<UndoResult> {
  const { connectorId, batchId } = input
  requirePermission(actor, 'manageInstances')
  if (!isId(connectorId) || !isId(batchId)) throw new NotFound('That migration')
  return runCommand<UndoResult>(db, actor, {
    permission: 'manageInstances',
    submission: input.submission,
    replay: async (tx, earlier) => {
      if (earlier.resultId !== batchId) return null
      const done = await loadBatch(tx, actor, connectorId, batchId)
      return {
        undone: true,
        summary: undoneSummary(done.instances.length, done.shapes.length, done.from.name, done.to.name),
      }
    },
    run: (tx) => undo(tx, actor, connectorId, batchId),
  })
}

/** The undo itself: the batch and what it touched locked in the one lock order (locks.ts), then checked. */
async function undo(tx: Tx, actor: Actor, connectorId: string, batchId: string): Promise<Done<UndoResult>> {
  const [locked] = await lockMigrationBatch(
    tx,
    actor,
    and(eq(migrationBatches.id, batchId), eq(migrationBatches.toConnectorId, connectorId)),
  )
  if (!locked) throw new NotFound('That migration')
  const recordedShapes = tx
    .select({ id: migrationShapes.shapeId })
    .from(migrationShapes)
    .where(eq(migrationShapes.batchId, batchId))
  await lockFlows(
    tx,
    actor,
    inArray(
      processFlows.id,
      tx
        .select({ id: connectionShapes.processFlowId })
        .from(connectionShapes)
        .where(inArray(connectionShapes.id, recordedShapes)),
    ),
  )
  await lockInstances(
    tx,
    actor,
    or(
      inArray(
        instances.id,
        tx
          .select({ id: migrationInstances.createdInstanceId })
          .from(migrationInstances)
          .where(and(eq(migrationInstances.batchId, batchId), isNotNull(migrationInstances.createdInstanceId))),
      ),
      inArray(
        instances.id,
        tx
          .select({ id: migrationInstances.fromInstanceId })
          .from(migrationInstances)
          .where(and(eq(migrationInstances.batchId, batchId), isNotNull(migrationInstances.fromInstanceId))),
      ),
      inArray(
        instances.id,
        tx
          .select({ id: migrationShapes.fromInstanceId })
          .from(migrationShapes)
          .where(eq(migrationShapes.batchId, batchId)),
      ),
    ),
  )
  await lockShapes(tx, actor, inArray(connectionShapes.id, recordedShapes))

  const batch = await loadBatch(tx, actor, connectorId, batchId)
  if (batch.blockers.length) return { result: { undone: false, blockers: batch.blockers } }
  for (const group of groupBy(batch.shapes, (s) => `${s.from.instanceId} ${s.from.endpointKey}`).values()) {
    await tx
      .update(connectionShapes)
      .set({ instanceId: group[0]!.from.instanceId, endpointKey: group[0]!.from.endpointKey })
      .where(
        and(
          eq(connectionShapes.companyId, actor.companyId),
          inArray(
            connectionShapes.id,
            group.map((s) => s.shapeId!),
          ),
        ),
      )
  }
  await touchFlows(tx, actor, [...new Set(batch.shapes.map((s) => s.flowId!))])
  const copies = batch.instances.map((i) => i.createdId!)
  await tx.delete(instances).where(and(eq(instances.companyId, actor.companyId), inArray(instances.id, copies)))
  await tx
    .update(migrationBatches)
    .set({ undoneAt: sql`now()`, undoneBy: actor.id })
    .where(eq(migrationBatches.id, batchId))
  const summary = undoneSummary(batch.instances.length, batch.shapes.length, batch.from.name, batch.to.name)
  const audit: AuditEntry[] = [
    {
      action: 'undo migration',
      subjectType: 'migration batch',
      subjectId: batchId,
      summary,
      details: {
        fromConnectorId: batch.from.id,
        toConnectorId: batch.to.id,
        removedInstances: copies,
        shapes: batch.shapes.map((s) => s.shapeId),
      },
    },
    ...batch.instances.map((i): AuditEntry => ({
      action: 'remove instance',
      subjectType: 'instance',
      subjectId: i.createdId,
      summary: `removed instance ${i.name} of ${batch.to.name} (undoing a migration)`,
      details: { migrationBatchId: batchId },
    })),
    ...batch.shapes.map((s): AuditEntry => ({
      action: 'reconfigure connection shape',
      subjectType: 'connection shape',
      subjectId: s.shapeId,
      summary: `reconfigured a connection shape of ${s.flowName} back to ${s.from.instanceName ?? s.from.instanceId}, ${s.from.endpointName} (undoing a migration)`,
      details: { processFlowId: s.flowId, instanceId: s.from.instanceId, migrationBatchId: batchId },
    })),
  ]
  return { result: { undone: true, summary }, resultId: batchId, audit }
}
