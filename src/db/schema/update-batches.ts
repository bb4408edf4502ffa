// Updates at fleet scale (src/domain/update-batches.ts): a batch of connectors updated in bulk, and
// what became of each. A batch keeps what it did so that it can be undone while nothing changed since.
import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, integer, timestamp, index, check, unique } from 'drizzle-orm/pg-core'
import { id, createdAt, oneOf } from './columns.js'
import { companies, users } from './companies-users.js'
import { connectors } from './connectors-instances.js'
import { marketplaceVersions } from './marketplace.js'
import { UPDATE_BATCH_KINDS, UPDATE_BATCH_STATES, UPDATE_ITEM_STATES } from '../../domain/enums.js'

export const updateBatches = pgTable(
  'update_batches',
  {
    id: id(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    startedBy: uuid('started_by')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    // 'update' (unmodified connectors, in place) or 'keep my changes' (a merge without conflicts).
    kind: text('kind').notNull(),
    state: text('state').notNull().default('running'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    undoneAt: timestamp('undone_at', { withTimezone: true }),
    undoneBy: uuid('undone_by').references(() => users.id, { onDelete: 'restrict' }),
  },
  (t) => [
    index('update_batches_company_idx').on(t.companyId, t.createdAt),
    // What the background runner looks for (every process, every half minute): the few batches running.
    index('update_batches_running_idx')
      .on(t.createdAt)
      .where(sql`${t.state} = 'running'`),
    check('update_batches_kind_check', oneOf(t.kind, UPDATE_BATCH_KINDS)),
    check('update_batches_state_check', oneOf(t.state, UPDATE_BATCH_STATES)),
    check('update_batches_undone_check', sql`(${t.undoneAt} is null) = (${t.undoneBy} is null)`),
    check('update_batches_finished_check', sql`${t.state} = 'running' or ${t.finishedAt} is not null`),
  ],
)

/** One connector of a batch: the versions, the revision the preview showed, and what became of it. */
export const updateBatchItems = pgTable(
  'update_batch_items',
  {
    id: id(),
    batchId: uuid('batch_id')
      .notNull()
      .references(() => updateBatches.id, { onDelete: 'cascade' }),
    // Null once the connector is removed (its name stays for the batch's page).
    connectorId: uuid('connector_id').references(() => connectors.id, { onDelete: 'set null' }),
    connectorName: text('connector_name').notNull(),
    fromVersionId: uuid('from_version_id')
      .notNull()
      .references(() => marketplaceVersions.id, { onDelete: 'restrict' }),
    toVersionId: uuid('to_version_id')
      .notNull()
      .references(() => marketplaceVersions.id, { onDelete: 'restrict' }),
    // The connector's revision the preview showed: "skip if changed" compares it.
    seenRevision: integer('seen_revision').notNull(),
    // The revision the update made (undo compares it, and rolls back to seen_revision).
    madeRevision: integer('made_revision'),
    // The connector was modified before (who and when), so that undo can say so again.
    previousModifiedAt: timestamp('previous_modified_at', { withTimezone: true }),
    previousModifiedBy: uuid('previous_modified_by').references(() => users.id, { onDelete: 'restrict' }),
    state: text('state').notNull().default('pending'),
    reason: text('reason'),
    position: integer('position').notNull(),
  },
  (t) => [
    unique('update_batch_items_connector_unique').on(t.batchId, t.connectorId),
    unique('update_batch_items_position_unique').on(t.batchId, t.position),
    index('update_batch_items_connector_idx').on(t.connectorId),
    check('update_batch_items_state_check', oneOf(t.state, UPDATE_ITEM_STATES)),
    check('update_batch_items_revision_check', sql`${t.seenRevision} >= 1`),
    check(
      'update_batch_items_made_check',
      sql`(${t.state} in ('updated', 'undone', 'refused')) = (${t.madeRevision} is not null)`,
    ),
  ],
)
