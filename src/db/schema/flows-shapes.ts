// Process flows and the connection shapes in them.
import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, integer, boolean, index, unique, check, foreignKey } from 'drizzle-orm/pg-core'
import { id, createdAt } from './columns.js'
import { companies, editedVersion } from './companies-users.js'
import { instances } from './connectors-instances.js'

export const processFlows = pgTable(
  'process_flows',
  {
    id: id(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    // Also +1 when a connection shape of the flow is added, changed, moved or removed.
    ...editedVersion(),
  },
  (t) => [
    unique('process_flows_id_company_unique').on(t.id, t.companyId),
    unique('process_flows_company_name_unique').on(t.companyId, t.name),
    check('process_flows_version_check', sql`${t.version} >= 1`),
  ],
)

export const connectionShapes = pgTable(
  'connection_shapes',
  {
    id: id(),
    companyId: uuid('company_id').notNull(),
    processFlowId: uuid('process_flow_id').notNull(),
    instanceId: uuid('instance_id').notNull(),
    endpointKey: text('endpoint_key').notNull(),
    position: integer('position').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey({
      name: 'connection_shapes_flow_fk',
      columns: [t.processFlowId, t.companyId],
      foreignColumns: [processFlows.id, processFlows.companyId],
    }).onDelete('cascade'),
    // An instance used by a shape cannot be deleted, and a shape cannot use another company's instance.
    foreignKey({
      name: 'connection_shapes_instance_fk',
      columns: [t.instanceId, t.companyId],
      foreignColumns: [instances.id, instances.companyId],
    }).onDelete('restrict'),
    index('connection_shapes_flow_position_idx').on(t.processFlowId, t.position),
    index('connection_shapes_instance_idx').on(t.instanceId),
    check('connection_shapes_position_check', sql`${t.position} >= 0`),
  ],
)
