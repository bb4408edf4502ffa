// Every write has one shape, written here once: check the permission, open the transaction, claim
// the form's one-time key (a double submit replays the first answer), do the command's own work
// (lock, check, write, revision), record its audit entries, complete the key.
import { and, eq } from 'drizzle-orm'
import { formSubmissions } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { requirePermission, type Actor, type Permission } from './actor.js'
import { recordEvents, type AuditEntry } from './audit.js'

/** The same form submitted before: the id its command recorded (null when it recorded none). */
export interface Earlier {
  resultId: string | null
}

/** What a command did. */
export interface Done<R> {
  result: R
  /** What a resent form answers from (see `replay`); none: a resend does the work again. */
  resultId?: string | undefined
  /** Recorded in the audit log, in the same transaction. */
  audit?: AuditEntry | AuditEntry[] | undefined
}

export interface Command<R> {
  permission: Permission
  /** The form's one-time key, when it has one. */
  submission?: string | undefined
  /**
   * The answer to the same form submitted before, read from what it recorded; null when there is
   * nothing to answer from (its result is gone since), and the work is done again.
   */
  replay?(tx: Tx, earlier: Earlier): Promise<R | null>
  /** The command's own work, in the transaction; `earlier` is set when the form was submitted before. */
  run(tx: Tx, earlier: Earlier | null): Promise<Done<R>>
}

/** Runs a command in one transaction, once per form submission, and records its audit entries. */
export async function runCommand<R>(db: Db, actor: Actor, command: Command<R>): Promise<R> {
  requirePermission(actor, command.permission)
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, command.submission)
    if (earlier && command.replay) {
      const answer = await command.replay(tx, earlier)
      if (answer !== null) return answer
    }
    const done = await command.run(tx, earlier)
    if (done.audit) await recordEvents(tx, actor, [done.audit].flat())
    if (done.resultId) await completeSubmission(tx, actor, command.submission, done.resultId)
    return done.result
  })
}

/**
 * Claims a form's one-time key inside the transaction. Returns what the earlier submission recorded
 * when the same form was already submitted (a double click, a resent request), or null when this is the first.
 */
export async function claimSubmission(tx: Tx, actor: Actor, key: string | undefined): Promise<Earlier | null> {
  if (!key) return null
  const claimed = await tx
    .insert(formSubmissions)
    .values({ companyId: actor.companyId, key })
    .onConflictDoNothing()
    .returning({ key: formSubmissions.key })
  if (claimed.length) return null
  const [earlier] = await tx
    .select({ resultId: formSubmissions.resultId })
    .from(formSubmissions)
    .where(and(eq(formSubmissions.companyId, actor.companyId), eq(formSubmissions.key, key)))
  return { resultId: earlier?.resultId ?? null }
}

/** Records what a submission did, so that the same form sent again answers from it. */
export async function completeSubmission(
  tx: Tx,
  actor: Actor,
  key: string | undefined,
  resultId: string,
): Promise<void> {
  if (!key) return
  await tx
    .update(formSubmissions)
    .set({ resultId })
    .where(and(eq(formSubmissions.companyId, actor.companyId), eq(formSubmissions.key, key)))
}
