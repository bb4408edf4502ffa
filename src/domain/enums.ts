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

/** A bulk update (src/domain/update-batches.ts): in place, or keeping the company's changes (a merge without conflicts). */
export const UPDATE_BATCH_KINDS = ['update', 'keep my changes'] as const
export type UpdateBatchKind = (typeof UPDATE_BATCH_KINDS)[number]
/** A bulk update runs in chunks until done; undo reverts it. */
export const UPDATE_BATCH_STATES = ['running', 'done', 'undone'] as const
export type UpdateBatchState = (typeof UPDATE_BATCH_STATES)[number]
/** One connector of a bulk update: waiting, updated, skipped (changed since the preview), undone, or its undo refused. */
export const UPDATE_ITEM_STATES = ['pending', 'updated', 'skipped', 'undone', 'refused'] as const
export type UpdateItemState = (typeof UPDATE_ITEM_STATES)[number]
