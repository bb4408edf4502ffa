// The audit log: who did what, when. Written in the same transaction as the change it records.
import { auditEvents } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import type { Actor } from './actor.js'

export interface AuditEntry {
  action: string
  subjectType: 'connector' | 'instance' | 'process flow' | 'connection shape' | 'user' | 'draft' | 'marketplace connector'
  subjectId: string | null
  summary: string
  details?: Record<string, unknown>
}

export async function recordEvent(tx: Tx | Db, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditEvents).values({
    companyId: actor.companyId,
    actorId: actor.id,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId,
    summary: entry.summary,
    details: entry.details ?? {},
  })
}
