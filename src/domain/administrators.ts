// The company always keeps an active administrator: nobody can demote, deactivate or remove the last one.
import { and, asc, eq, isNull } from 'drizzle-orm'
import { users } from '../db/schema.js'
import type { Queryable, Tx } from '../db/client.js'
import type { Actor } from './actor.js'

/**
 * Locks the company's active administrators, in id order, and returns them. Taken first by every
 * command that can leave the company with fewer: a second one waits, and then reads the rows as the
 * first left them (PostgreSQL re-checks the filter after the wait), so two administrators demoting
 * or deactivating each other at once leave one, never none.
 */
export async function lockActiveAdministrators(tx: Tx, actor: Actor): Promise<{ id: string }[]> {
  return activeAdministrators(tx, actor).for('update')
}

/** The company's active administrators, in id order (unlocked: for what a page shows beforehand). */
export function activeAdministrators(db: Queryable, actor: Actor) {
  return db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.companyId, actor.companyId), eq(users.role, 'administrator'), isNull(users.deactivatedAt)))
    .orderBy(asc(users.id))
}

/** Whether taking `user` out of the active administrators would leave none. */
export function isLastActiveAdministrator(admins: { id: string }[], user: { id: string }): boolean {
  return admins.length <= 1 && admins.some((admin) => admin.id === user.id)
}
