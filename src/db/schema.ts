// The data model of PRODUCT.md. Constraints live here so the database itself refuses orphans,
// cross-company links and duplicates, whatever the code above it does.
import { sql } from 'drizzle-orm'
import {
  pgTable,
  uuid,
  text,
  timestamp,
  integer,
  boolean,
  jsonb,
  bigserial,
  index,
  uniqueIndex,
  unique,
  check,
  foreignKey,
  primaryKey,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core'
import type { ConnectorDefinition } from '../domain/definition.js'
import type { DraftData } from '../domain/builder.js'
import { RATE_LIMIT_UNITS, ROLES, SYSTEM_TYPES, type Role } from '../domain/enums.js'

const id = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`)
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
/**
 * The optimistic lock of a row that edit forms change: `version` +1 on every change (a form carries
 * the version it was read at; a save based on an older one is refused with a 409), and who made the
 * current version (null: not known, e.g. rows from before it was recorded), named in that 409.
 */
const editedVersion = () => ({
  version: integer('version').notNull().default(1),
  updatedBy: uuid('updated_by').references((): AnyPgColumn => users.id, { onDelete: 'restrict' }),
})

/** `column in ('a', 'b', …)`: a CHECK constraint written from one of the lists in domain/enums.ts. */
const oneOf = (column: AnyPgColumn, values: readonly string[]) =>
  sql`${column} in (${sql.raw(values.map((v) => `'${v}'`).join(', '))})`

export const companies = pgTable('companies', {
  id: id(),
  name: text('name').notNull(),
  createdAt: createdAt(),
})

export const users = pgTable(
  'users',
  {
    id: id(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role').$type<Role>().notNull(),
    createdAt: createdAt(),
    // False for a person added with an address that already signs in with another company: listed
    // like anybody else, so an administrator learns nothing about other companies (README, Security).
    signsIn: boolean('signs_in').notNull().default(true),
    // The optimistic lock of the role form: +1 on every change, a form based on an older one is refused.
    version: integer('version').notNull().default(1),
  },
  (t) => [
    // One account signs in with an address; a company lists an address once.
    uniqueIndex('users_sign_in_email_unique')
      .on(sql`lower(${t.email})`)
      .where(sql`${t.signsIn}`),
    uniqueIndex('users_company_email_unique').on(t.companyId, sql`lower(${t.email})`),
    unique('users_id_company_unique').on(t.id, t.companyId),
    check('users_role_check', oneOf(t.role, ROLES)),
    check('users_version_check', sql`${t.version} >= 1`),
  ],
)

export const sessions = pgTable(
  'sessions',
  {
    // SHA-256 of the cookie's random token: a copy of this table signs nobody in.
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_at_idx').on(t.expiresAt)],
)

// Failed sign-ins, counted per key (an account, an address, or both) in fixed windows, so every
// process of a deployment shares the limits and a restart keeps them (src/domain/sign-in-limits.ts).
export const signInFailures = pgTable(
  'sign_in_failures',
  {
    key: text('key').primaryKey(),
    failures: integer('failures').notNull(),
    // Whole seconds, so the window read back by the app matches the row exactly.
    windowEndsAt: timestamp('window_ends_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('sign_in_failures_window_ends_at_idx').on(t.windowEndsAt),
    check('sign_in_failures_failures_check', sql`${t.failures} >= 0`),
  ],
)

export const marketplaceConnectors = pgTable(
  'marketplace_connectors',
  {
    id: id(),
    key: text('key').notNull(),
    kind: text('kind').$type<'prebuilt' | 'custom'>().notNull(),
    // Set for a custom connector: only this company's users see it.
    companyId: uuid('company_id').references(() => companies.id, { onDelete: 'restrict' }),
    name: text('name').notNull(),
    description: text('description').notNull(),
    systemType: text('system_type').notNull(),
    colour: text('colour').notNull().default('#3f51b5'),
    // The newest published version, kept by publishVersion in the same transaction as the insert.
    latestVersionId: uuid('latest_version_id'),
    createdAt: createdAt(),
  },
  (t) => [
    check(
      'marketplace_connectors_kind_check',
      sql`(${t.kind} = 'prebuilt' and ${t.companyId} is null) or (${t.kind} = 'custom' and ${t.companyId} is not null)`,
    ),
    check('marketplace_connectors_system_type_check', oneOf(t.systemType, SYSTEM_TYPES)),
    uniqueIndex('marketplace_connectors_prebuilt_key_unique')
      .on(t.key)
      .where(sql`${t.kind} = 'prebuilt'`),
    uniqueIndex('marketplace_connectors_custom_key_unique')
      .on(t.companyId, t.key)
      .where(sql`${t.kind} = 'custom'`),
    index('marketplace_connectors_type_name_idx').on(t.systemType, sql`lower(${t.name})`),
    index('marketplace_connectors_name_idx').on(sql`lower(${t.name})`, t.id),
    index('marketplace_connectors_company_idx').on(t.companyId),
    index('marketplace_connectors_search_idx').using('gin', sql`(${t.name} || ' ' || ${t.description}) gin_trgm_ops`),
  ],
)

export const marketplaceVersions = pgTable(
  'marketplace_versions',
  {
    id: id(),
    marketplaceConnectorId: uuid('marketplace_connector_id')
      .notNull()
      .references(() => marketplaceConnectors.id, { onDelete: 'cascade' }),
    version: text('version').notNull(),
    releaseNotes: text('release_notes').notNull(),
    definition: jsonb('definition').$type<ConnectorDefinition>().notNull(),
    releasedOn: timestamp('released_on', { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [unique('marketplace_versions_connector_version_unique').on(t.marketplaceConnectorId, t.version)],
)

export const connectors = pgTable(
  'connectors',
  {
    id: id(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    marketplaceConnectorId: uuid('marketplace_connector_id')
      .notNull()
      .references(() => marketplaceConnectors.id, { onDelete: 'restrict' }),
    // The marketplace version this connector is based on.
    marketplaceVersionId: uuid('marketplace_version_id')
      .notNull()
      .references(() => marketplaceVersions.id, { onDelete: 'restrict' }),
    name: text('name').notNull(),
    definition: jsonb('definition').$type<ConnectorDefinition>().notNull(),
    // The current revision number: the optimistic lock for concurrent saves.
    revision: integer('revision').notNull().default(1),
    installedAt: createdAt(),
    installedBy: uuid('installed_by')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    modifiedAt: timestamp('modified_at', { withTimezone: true }),
    modifiedBy: uuid('modified_by').references(() => users.id, { onDelete: 'restrict' }),
  },
  (t) => [
    unique('connectors_id_company_unique').on(t.id, t.companyId),
    // A company's connectors are told apart by name on every screen: unique, whatever the case.
    uniqueIndex('connectors_company_name_unique').on(t.companyId, sql`lower(${t.name})`),
    index('connectors_marketplace_connector_idx').on(t.marketplaceConnectorId),
    index('connectors_marketplace_version_idx').on(t.marketplaceVersionId),
    index('connectors_name_search_idx').using('gin', sql`${t.name} gin_trgm_ops`),
    check('connectors_modified_check', sql`(${t.modifiedAt} is null) = (${t.modifiedBy} is null)`),
    check('connectors_revision_check', sql`${t.revision} >= 1`),
  ],
)

export const connectorRevisions = pgTable(
  'connector_revisions',
  {
    id: id(),
    connectorId: uuid('connector_id')
      .notNull()
      .references(() => connectors.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    summary: text('summary').notNull(),
    definition: jsonb('definition').$type<ConnectorDefinition>().notNull(),
    // The marketplace version the definition was based on; rolling back to this revision restores it.
    // Null for revisions saved before it was recorded (a roll back to them keeps the current version).
    marketplaceVersionId: uuid('marketplace_version_id').references(() => marketplaceVersions.id, {
      onDelete: 'restrict',
    }),
    createdAt: createdAt(),
  },
  (t) => [
    unique('connector_revisions_connector_number_unique').on(t.connectorId, t.number),
    check('connector_revisions_number_check', sql`${t.number} >= 1`),
  ],
)

export const instances = pgTable(
  'instances',
  {
    id: id(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    connectorId: uuid('connector_id').notNull(),
    name: text('name').notNull(),
    authMethodKey: text('auth_method_key').notNull(),
    timeZone: text('time_zone').notNull(),
    dateFormat: text('date_format').notNull(),
    rateLimitAmount: integer('rate_limit_amount').notNull(),
    rateLimitUnit: text('rate_limit_unit').notNull(),
    // Values of non-secret fields (instance variables and authentication fields).
    settings: jsonb('settings').$type<Record<string, string>>().notNull().default({}),
    // Secret values, encrypted as one AES-256-GCM blob (see domain/secrets.ts).
    secrets: text('secrets'),
    createdAt: createdAt(),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    ...editedVersion(),
  },
  (t) => [
    // A connector with instances cannot be deleted, and an instance cannot point into another company.
    foreignKey({
      name: 'instances_connector_fk',
      columns: [t.connectorId, t.companyId],
      foreignColumns: [connectors.id, connectors.companyId],
    }).onDelete('restrict'),
    unique('instances_id_company_unique').on(t.id, t.companyId),
    unique('instances_connector_name_unique').on(t.connectorId, t.name),
    index('instances_company_idx').on(t.companyId),
    check('instances_rate_limit_check', sql`${t.rateLimitAmount} >= 1 and ${oneOf(t.rateLimitUnit, RATE_LIMIT_UNITS)}`),
    check('instances_version_check', sql`${t.version} >= 1`),
  ],
)

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

export const connectorDrafts = pgTable(
  'connector_drafts',
  {
    id: id(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    createdBy: uuid('created_by').notNull(),
    step: text('step').notNull(),
    data: jsonb('data').$type<DraftData>().notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    ...editedVersion(),
  },
  (t) => [
    foreignKey({
      name: 'connector_drafts_user_fk',
      columns: [t.createdBy, t.companyId],
      foreignColumns: [users.id, users.companyId],
    }).onDelete('cascade'),
    index('connector_drafts_company_idx').on(t.companyId, t.updatedAt),
    check('connector_drafts_version_check', sql`${t.version} >= 1`),
  ],
)

// A form's one-time key: a double-submitted form does its work once and answers the same result.
export const formSubmissions = pgTable(
  'form_submissions',
  {
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    key: uuid('key').notNull(),
    resultId: uuid('result_id'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.companyId, t.key] })],
)

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'restrict' }),
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    // No foreign key: the subject may since have been removed, the record of it stays.
    subjectId: uuid('subject_id'),
    summary: text('summary').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index('audit_events_company_created_idx').on(t.companyId, t.createdAt),
    index('audit_events_subject_idx').on(t.subjectId),
  ],
)

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
