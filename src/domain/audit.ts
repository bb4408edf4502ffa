// The audit log: who did what, when. Written in the same transaction as the change it records.
import { auditEvents } from '../db/schema.js'
import type { Queryable } from '../db/client.js'
import type { Actor } from './actor.js'

/**
 * Every action the app records, in the order the audit log's filter lists them. An entry's action
 * must be one of these (the type says so), so the filter can never miss one.
 */
export const AUDIT_ACTIONS = [
  // connectors
  'install',
  'install alongside',
  'modify',
  'roll back',
  'undo removal',
  'update',
  'overwrite',
  'merge update',
  'remove',
  'build',
  'start draft',
  'discard draft',
  // instances
  'add instance',
  'change instance',
  'remove instance',
  'migrate instances',
  'undo migration',
  // process flows
  'create process flow',
  'rename process flow',
  'enable process flow',
  'disable process flow',
  'remove process flow',
  'add connection shape',
  'reconfigure connection shape',
  'move connection shape',
  'remove connection shape',
  'restore connection shape',
  // people
  'add user',
  'change role',
  'deactivate user',
  'reactivate user',
  'remove user',
  'reset password',
  'change password',
  'choose password',
  'end session',
  'end other sessions',
  // update batches (src/domain/update-batches.ts), whose subject is the batch
  'bulk update',
  'bulk keep my changes',
  'finish bulk update',
  'undo bulk update',
] as const

export type AuditAction = (typeof AUDIT_ACTIONS)[number]

export interface AuditEntry {
  action: AuditAction
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
