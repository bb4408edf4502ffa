// The one lock order. A write that locks rows of several kinds locks them in this order, each kind
// in id order, so that two writes never wait for each other in a circle:
// connectors → the company's connector names → a migration batch → an update batch (then its items)
// → process flows → instances → connection shapes.
// Each function locks the rows alone (then the caller reads them): a lock taken through a join makes
// PostgreSQL re-check the join after waiting against the joined rows as they were.
import { and, asc, eq, type SQL } from 'drizzle-orm'
import {
  companies,
  connectionShapes,
  connectors,
  instances,
  migrationBatches,
  processFlows,
  updateBatches,
} from '../db/schema.js'
import type { Queryable } from '../db/client.js'
import type { Actor } from './actor.js'

/** 1. Connectors (`where` scopes them to the company), for update. */
export async function lockConnectors(tx: Queryable, where: SQL | undefined): Promise<{ id: string }[]> {
  return tx.select({ id: connectors.id }).from(connectors).where(where).orderBy(asc(connectors.id)).for('update')
}

/**
 * 2. The names of the company's connectors. Names are unique whatever the case (a unique index);
 * everything that names a connector (install, install alongside, the builder's complete, a rename)
 * takes this lock first, so a name found free under it is still free when inserted: one after the
 * other, no retries. It is the company's row, FOR NO KEY UPDATE, which does not block inserts that
 * reference the company.
 */
export async function lockConnectorNames(tx: Queryable, actor: Actor): Promise<void> {
  await tx.select({ id: companies.id }).from(companies).where(eq(companies.id, actor.companyId)).for('no key update')
}

/** 3. A migration batch of the company (its undo), for update. */
export async function lockMigrationBatch(
  tx: Queryable,
  actor: Actor,
  where: SQL | undefined,
): Promise<{ id: string }[]> {
  return tx
    .select({ id: migrationBatches.id })
    .from(migrationBatches)
    .where(and(eq(migrationBatches.companyId, actor.companyId), where))
    .for('update')
}

/** 3b. An update batch of the company (its undo), for update; its items after it. */
export async function lockUpdateBatch(tx: Queryable, actor: Actor, batchId: string): Promise<{ id: string }[]> {
  return tx
    .select({ id: updateBatches.id })
    .from(updateBatches)
    .where(and(eq(updateBatches.companyId, actor.companyId), eq(updateBatches.id, batchId)))
    .for('update')
}

/** 4. Process flows of the company, for update. */
export async function lockFlows(tx: Queryable, actor: Actor, where: SQL | undefined): Promise<{ id: string }[]> {
  return tx
    .select({ id: processFlows.id })
    .from(processFlows)
    .where(and(eq(processFlows.companyId, actor.companyId), where))
    .orderBy(asc(processFlows.id))
    .for('update')
}

/** 5. Instances of the company: for update, or for share (read, kept as they are until the end). */
export async function lockInstances(
  tx: Queryable,
  actor: Actor,
  where: SQL | undefined,
  strength: 'update' | 'share' = 'update',
): Promise<{ id: string }[]> {
  return tx
    .select({ id: instances.id })
    .from(instances)
    .where(and(eq(instances.companyId, actor.companyId), where))
    .orderBy(asc(instances.id))
    .for(strength)
}

/** 6. Connection shapes of the company, for update. */
export async function lockShapes(tx: Queryable, actor: Actor, where: SQL | undefined): Promise<{ id: string }[]> {
  return tx
    .select({ id: connectionShapes.id })
    .from(connectionShapes)
    .where(and(eq(connectionShapes.companyId, actor.companyId), where))
    .orderBy(asc(connectionShapes.id))
    .for('update')
}
