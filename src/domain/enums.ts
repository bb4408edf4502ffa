// The fixed lists of values the product knows, each written once: forms offer them, the domain checks
// input against them and src/db/schema/ builds its CHECK constraints from them.

/** What a user may do (src/domain/actor.ts says which role may do what). */
export const ROLES = ['administrator', 'manager', 'user', 'read-only'] as const
export type Role = (typeof ROLES)[number]

/** The kinds of system a marketplace connector connects to (the marketplace's filter). */
export const SYSTEM_TYPES = [
  'Accounting',
  'CRM',
  'eCommerce',
  'ERP',
  'Marketplaces',
  'Other',
  'PIM',
  'POS',
  '3PL',
  'WMS',
  'Database',
] as const
export type SystemType = (typeof SYSTEM_TYPES)[number]

/** The period of an instance's (and a definition's default) rate limit. */
export const RATE_LIMIT_UNITS = ['second', 'minute', 'hour'] as const
export type RateLimitUnit = (typeof RATE_LIMIT_UNITS)[number]
