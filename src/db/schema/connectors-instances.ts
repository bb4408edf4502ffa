// A company's installed connectors, their revisions, their instances, and connector drafts.
import { sql } from 'drizzle-orm'
import {
  pgTable,
  uuid,
  text,
  timestamp,
  integer,
  jsonb,
  boolean,
  index,
  uniqueIndex,
  unique,
  check,
  foreignKey,
} from 'drizzle-orm/pg-core'
import type { ConnectorDefinition } from '../../domain/definition.js'
import type { DraftData } from '../../domain/builder.js'
import { RATE_LIMIT_UNITS } from '../../domain/enums.js'
import { id, createdAt, oneOf } from './columns.js'
import { companies, users, editedVersion } from './companies-users.js'
import { marketplaceConnectors, marketplaceVersions } from './marketplace.js'

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
    // Whether the vendor has a newer version: this connector's version is not its marketplace
    // connector's latest. Kept by triggers (migration 0014) when either changes, never by the app,
    // so "N updates available" and the updates screen count a few hundred index entries, not every
    // connector of the company joined to the marketplace.
    updatePending: boolean('update_pending').notNull().default(false),
  },
  (t) => [
    unique('connectors_id_company_unique').on(t.id, t.companyId),
    index('connectors_update_pending_idx')
      .on(t.companyId, sql`lower(${t.name})`, t.id)
      .where(sql`${t.updatePending}`),
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
    // The instance pickers: the company's (a connection shape) or one connector's (moving in stages)
    // instances by name, a page at a time; a search for part of a name by trigram. The name last: a
    // search (lower(name) like …) and its count are answered from the index alone.
    index('instances_company_name_idx').on(t.companyId, sql`lower(${t.name})`, t.id, t.name),
    index('instances_connector_name_idx').on(t.connectorId, sql`lower(${t.name})`, t.id, t.name),
    index('instances_name_search_idx').using('gin', sql`lower(${t.name}) gin_trgm_ops`),
    check('instances_rate_limit_check', sql`${t.rateLimitAmount} >= 1 and ${oneOf(t.rateLimitUnit, RATE_LIMIT_UNITS)}`),
    check('instances_version_check', sql`${t.version} >= 1`),
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
