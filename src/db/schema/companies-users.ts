// Companies, the people in them, their sessions and the sign-in limits.
import { sql } from 'drizzle-orm'
import {
  pgTable,
  uuid,
  text,
  timestamp,
  integer,
  boolean,
  index,
  uniqueIndex,
  unique,
  check,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core'
import { ROLES, type Role } from '../../domain/enums.js'
import { id, createdAt, oneOf } from './columns.js'

/**
 * The optimistic lock of a row that edit forms change: `version` +1 on every change (a form carries
 * the version it was read at; a save based on an older one is refused with a 409), and who made the
 * current version (null: not known, e.g. rows from before it was recorded), named in that 409.
 */
export const editedVersion = () => ({
  version: integer('version').notNull().default(1),
  updatedBy: uuid('updated_by').references((): AnyPgColumn => users.id, { onDelete: 'restrict' }),
})

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
    // Set while the person is deactivated: they cannot sign in, and their name stays on what they did.
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true }),
    // After an administrator reset their password: every page asks for a new one until it is chosen.
    mustChangePassword: boolean('must_change_password').notNull().default(false),
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
    // What "your account" shows of each session: the browser, the address and when it was last used.
    userAgent: text('user_agent'),
    ipAddress: text('ip_address'),
    // Written at most once a minute per session (src/domain/users.ts), not on every request.
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
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
