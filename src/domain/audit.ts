// The audit log: who did what, when. Written in the same transaction as the change it records.
import { auditEvents } from '../db/schema.js'
import type { Queryable } from '../db/client.js'
import type { Actor } from './actor.js'

/** The audit log's actions of bulk updates (src/domain/update-batches.ts), whose subject is the update batch. */
export const BULK_UPDATE_ACTIONS = [
  'bulk update',
  'bulk keep my changes',
  'finish bulk update',
  'undo bulk update',
] as const

export interface AuditEntry {
  action: string
  subjectType:
    | 'connector'
    | 'instance'
    | 'process flow'
    | 'connection shape'
    | 'user'
    | 'draft'
    | 'marketplace connector'
    | 'migration batch'
    | 'update batch'
  subjectId: string | null
  summary: string
  details?: Record<string, unknown>
}

const rowOf = (actor: Actor, entry: AuditEntry) => ({
  companyId: actor.companyId,
  actorId: actor.id,
  action: entry.action,
  subjectType: entry.subjectType,
  subjectId: entry.subjectId,
  summary: entry.summary,
  details: entry.details ?? {},
})

export async function recordEvent(tx: Queryable, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditEvents).values(rowOf(actor, entry))
}

/** Several events of one change, in one statement. */
export async function recordEvents(tx: Queryable, actor: Actor, entries: AuditEntry[]): Promise<void> {
  if (entries.length) await tx.insert(auditEvents).values(entries.map((entry) => rowOf(actor, entry)))
}
