// Form submission keys and the audit log.
import { pgTable, uuid, text, jsonb, bigserial, index, primaryKey } from 'drizzle-orm/pg-core'
import { createdAt } from './columns.js'
import { companies, users } from './companies-users.js'

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

// Only ever added to: a database trigger refuses updates and deletes (drizzle/*_audit_events_inserts_only.sql).
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
  // The audit log's order is (created_at, id) newest first, within one company; one index per filter
  // keeps every page a short index scan at any size (settings > audit log, domain/audit-log.ts). Read
  // backwards they give "desc" with PostgreSQL's default NULLS FIRST, which drizzle's .desc() would not.
  (t) => [
    index('audit_events_company_created_idx').on(t.companyId, t.createdAt, t.id),
    index('audit_events_company_actor_idx').on(t.companyId, t.actorId, t.createdAt, t.id),
    index('audit_events_company_action_idx').on(t.companyId, t.action, t.createdAt, t.id),
    index('audit_events_company_subject_idx').on(t.companyId, t.subjectId, t.createdAt, t.id),
  ],
)
