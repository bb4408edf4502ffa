// Instance moves (src/domain/instance-moves/): the batches and what each created and repointed.
import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, index, check, foreignKey } from 'drizzle-orm/pg-core'
import { id, createdAt } from './columns.js'
import { companies, users } from './companies-users.js'
import { connectors, instances } from './connectors-instances.js'
import { connectionShapes } from './flows-shapes.js'

// Moving instances to a connector installed alongside, in stages. A batch records what it created and
// what it repointed so it can be undone while nothing else changed those since. A batch goes with
// either connector (the audit log keeps the record).
export const migrationBatches = pgTable(
  'migration_batches',
  {
    id: id(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    fromConnectorId: uuid('from_connector_id').notNull(),
    toConnectorId: uuid('to_connector_id').notNull(),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    createdAt: createdAt(),
    undoneAt: timestamp('undone_at', { withTimezone: true }),
    undoneBy: uuid('undone_by').references(() => users.id, { onDelete: 'restrict' }),
  },
  (t) => [
    foreignKey({
      name: 'migration_batches_from_fk',
      columns: [t.fromConnectorId, t.companyId],
      foreignColumns: [connectors.id, connectors.companyId],
    }).onDelete('cascade'),
    foreignKey({
      name: 'migration_batches_to_fk',
      columns: [t.toConnectorId, t.companyId],
      foreignColumns: [connectors.id, connectors.companyId],
    }).onDelete('cascade'),
    index('migration_batches_to_idx').on(t.toConnectorId, t.createdAt),
    index('migration_batches_from_idx').on(t.fromConnectorId),
    check('migration_batches_connectors_check', sql`${t.fromConnectorId} <> ${t.toConnectorId}`),
    check('migration_batches_undone_check', sql`(${t.undoneAt} is null) = (${t.undoneBy} is null)`),
  ],
)

/** One instance a batch created, copied from an instance of the old connector. */
export const migrationInstances = pgTable(
  'migration_instances',
  {
    id: id(),
    batchId: uuid('batch_id')
      .notNull()
      .references(() => migrationBatches.id, { onDelete: 'cascade' }),
    // Null once that instance is removed: the batch can no longer be undone.
    fromInstanceId: uuid('from_instance_id').references(() => instances.id, { onDelete: 'set null' }),
    createdInstanceId: uuid('created_instance_id').references(() => instances.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    // The created instance's updated_at when the batch made it: a later change to it blocks undo.
    createdUpdatedAt: timestamp('created_updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('migration_instances_batch_idx').on(t.batchId),
    index('migration_instances_created_idx').on(t.createdInstanceId),
    index('migration_instances_from_idx').on(t.fromInstanceId),
  ],
)

/** One connection shape a batch repointed, with where it pointed before and after. */
export const migrationShapes = pgTable(
  'migration_shapes',
  {
    id: id(),
    batchId: uuid('batch_id')
      .notNull()
      .references(() => migrationBatches.id, { onDelete: 'cascade' }),
    // Null once the shape is removed: the batch can no longer be undone.
    shapeId: uuid('shape_id').references(() => connectionShapes.id, { onDelete: 'set null' }),
    processFlowName: text('process_flow_name').notNull(),
    fromInstanceId: uuid('from_instance_id').notNull(),
    fromEndpointKey: text('from_endpoint_key').notNull(),
    toInstanceId: uuid('to_instance_id').notNull(),
    toEndpointKey: text('to_endpoint_key').notNull(),
  },
  (t) => [index('migration_shapes_batch_idx').on(t.batchId), index('migration_shapes_shape_idx').on(t.shapeId)],
)
