// The marketplace: prebuilt and custom connectors and their published versions.
import { sql } from 'drizzle-orm'
import { pgTable, uuid, text, timestamp, jsonb, index, uniqueIndex, unique, check } from 'drizzle-orm/pg-core'
import type { ConnectorDefinition } from '../../domain/definition.js'
import { SYSTEM_TYPES } from '../../domain/enums.js'
import { id, createdAt, oneOf } from './columns.js'
import { companies } from './companies-users.js'

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
