// Settings > users, beyond adding people: their role, deactivating and reactivating them, removing
// somebody who never did anything, and resetting a password. Every change is in the audit log.
import { randomInt } from 'node:crypto'
import { and, count, eq, sql } from 'drizzle-orm'
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core'
import { auditEvents, sessions, users } from '../db/schema.js'
import type { Db, Queryable, Tx } from '../db/client.js'
import { FOREIGN_KEY_VIOLATION, pgErrorCode } from '../db/errors.js'
import { requirePermission, type Actor } from './actor.js'
import type { AuditEntry } from './audit.js'
import { runCommand, type Done } from './command.js'
import type { EditForm } from './edit-form.js'
import { ROLES, type Role } from './enums.js'
import { EditConflict, Invalid, NotFound } from './errors.js'
import { hashPassword, passwordProblem } from './passwords.js'
import type { RemovalResult } from './removal.js'
import { companyUser, type CompanyUser } from './users.js'
import { activeAdministrators, isLastActiveAdministrator, lockActiveAdministrators } from './administrators.js'

/** The role form was read before somebody changed that user's role: nothing is changed. */
export class RoleConflict extends EditConflict {
  constructor(readonly user: CompanyUser) {
    super('user', null)
    this.message = `The role of ${user.name} was changed meanwhile: it is now ${user.role}. Yours was not saved; choose again if it is still needed.`
  }
}

/**
 * Changes a user's role, from a form read at `form.version` of that user; the company always keeps
 * at least one administrator. Once per form submission.
 */
export async function changeRole(
  db: Db,
  actor: Actor,
  userId: string,
  role: string,
  form: EditForm,
): Promise<CompanyUser> {
  requirePermission(actor, 'manageUsers')
  if (!(ROLES as readonly string[]).includes(role)) throw new Invalid({ role: 'Choose a role.' })
  return runCommand(db, actor, {
    permission: 'manageUsers',
    submission: form.submission,
    replay: (tx) => getPerson(tx, actor, userId),
    run: (tx) => changeRoleOf(tx, actor, userId, role, form),
  })
}

async function changeRoleOf(
  tx: Tx,
  actor: Actor,
  userId: string,
  role: string,
  form: EditForm,
): Promise<Done<CompanyUser>> {
  const admins = await lockActiveAdministrators(tx, actor)
  const user = await lockPerson(tx, actor, userId)
  if (user.version !== form.version) throw new RoleConflict(user)
  if (role !== 'administrator' && isLastActiveAdministrator(admins, user)) {
    throw new Invalid({
      role: `${user.name} is the only active administrator. Make somebody else an administrator first.`,
    })
  }
  return changePerson(
    tx,
    userId,
    { role: role as Role },
    { action: 'change role', summary: `changed the role of ${user.name} from ${user.role} to ${role}` },
  )
}

/** The person was changed (role, deactivated, reactivated) since the page was shown: nothing is done. */
export class PersonConflict extends EditConflict {
  constructor(readonly user: CompanyUser) {
    super('user', null)
    const now = user.deactivatedAt ? 'deactivated' : `an active ${user.role}`
    this.message = `${user.name} was changed meanwhile: they are now ${now}. Nothing was done; check and try again.`
  }
}

/** The person of the actor's company, locked for the change; NotFound for anybody else. */
async function lockPerson(tx: Tx, actor: Actor, userId: string) {
  const [user] = await tx
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.companyId, actor.companyId)))
    .for('update')
  if (!user) throw new NotFound('That user')
  return user
}

const bump = { version: sql`${users.version} + 1` }

/**
 * Writes a change to a person's row (a new version), ends their sessions when it says so, and
 * returns the person as changed with the audit entry that records it.
 */
async function changePerson(
  tx: Tx,
  userId: string,
  change: PgUpdateSetSource<typeof users>,
  record: { action: string; summary: string; endSessions?: boolean },
): Promise<{ result: CompanyUser; resultId: string; audit: AuditEntry }> {
  const [updated] = await tx
    .update(users)
    .set({ ...change, ...bump })
    .where(eq(users.id, userId))
    .returning(companyUser)
  if (record.endSessions) await tx.delete(sessions).where(eq(sessions.userId, userId))
  const audit: AuditEntry = { action: record.action, subjectType: 'user', subjectId: userId, summary: record.summary }
  return { result: updated!, resultId: userId, audit }
}

/**
 * Deactivates a person: their sessions end at once, they cannot sign in, and their name stays on
 * everything they did. Not yourself, and not the last active administrator.
 */
export async function deactivateUser(db: Db, actor: Actor, userId: string, form: EditForm): Promise<CompanyUser> {
  return runCommand(db, actor, {
    permission: 'manageUsers',
    submission: form.submission,
    run: async (tx) => {
      const admins = await lockActiveAdministrators(tx, actor)
      const user = await lockPerson(tx, actor, userId)
      if (user.version !== form.version) throw new PersonConflict(user)
      if (user.id === actor.id)
        throw new Invalid({ '': 'You cannot deactivate yourself: another administrator can, if it is needed.' })
      if (isLastActiveAdministrator(admins, user))
        throw new Invalid({
          '': `${user.name} is the only active administrator. Make somebody else an administrator first.`,
        })
      if (user.deactivatedAt) return { result: user }
      return changePerson(
        tx,
        userId,
        { deactivatedAt: sql`now()` },
        {
          action: 'deactivate user',
          summary: `deactivated ${user.name} (${user.email}): their sessions ended and they cannot sign in`,
          endSessions: true,
        },
      )
    },
  })
}

/** Lets a deactivated person sign in again, with the role they had. */
export async function reactivateUser(db: Db, actor: Actor, userId: string, form: EditForm): Promise<CompanyUser> {
  return runCommand(db, actor, {
    permission: 'manageUsers',
    submission: form.submission,
    run: async (tx) => {
      const user = await lockPerson(tx, actor, userId)
      if (user.version !== form.version) throw new PersonConflict(user)
      if (!user.deactivatedAt) return { result: user }
      return changePerson(
        tx,
        userId,
        { deactivatedAt: null },
        { action: 'reactivate user', summary: `reactivated ${user.name} (${user.email}) as ${user.role}` },
      )
    },
  })
}

/** A person of the actor's company as they are now (the remove prompt names them); NotFound for anybody else. */
export async function getPerson(db: Queryable, actor: Actor, userId: string): Promise<CompanyUser> {
  requirePermission(actor, 'manageUsers')
  const [user] = await db
    .select(companyUser)
    .from(users)
    .where(and(eq(users.id, userId), eq(users.companyId, actor.companyId)))
  if (!user) throw new NotFound('That user')
  return user
}

/** Why a person cannot be removed: what they did, in words. */
export type PersonBlocker = string

const DID_SOMETHING: PersonBlocker =
  'connectors, instances, process flows or their history name them as who changed them'

/**
 * Removes a person who never did anything (nothing in the audit log names them, no revision or
 * change is theirs): somebody added by mistake. Anybody else is deactivated instead, so that their
 * name stays on what they did. Not yourself, and not the last active administrator.
 */
/**
 * Why `user` cannot be removed, checked again inside the removal's transaction: yourself, the last
 * active administrator, or anybody the audit log names. Empty when they can be.
 */
async function removalBlockers(
  db: Queryable,
  actor: Actor,
  user: { id: string },
  activeAdministrators: { id: string }[],
): Promise<PersonBlocker[]> {
  if (user.id === actor.id) return ['it is you']
  if (isLastActiveAdministrator(activeAdministrators, user)) return ['they are the only active administrator']
  const [done] = await db
    .select({ n: count() })
    .from(auditEvents)
    .where(and(eq(auditEvents.companyId, actor.companyId), eq(auditEvents.actorId, user.id)))
  if (!done!.n) return []
  return [`the audit log names them for ${done!.n === 1 ? '1 change' : `${done!.n} changes`}`]
}

/** The remove prompt, before anything is typed: the person, and why they cannot be removed if so. */
export async function personToRemove(
  db: Db,
  actor: Actor,
  userId: string,
): Promise<{ person: CompanyUser; blockers: PersonBlocker[] }> {
  const person = await getPerson(db, actor, userId)
  const admins = await activeAdministrators(db, actor)
  return { person, blockers: await removalBlockers(db, actor, person, admins) }
}

export async function removeUser(
  db: Db,
  actor: Actor,
  userId: string,
  form: EditForm,
): Promise<RemovalResult<PersonBlocker>> {
  try {
    return await runCommand(db, actor, {
      permission: 'manageUsers',
      submission: form.submission,
      replay: async (tx, earlier) => {
        const [still] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId))
        return earlier.resultId === userId && !still ? { removed: true, name: '' } : null
      },
      run: (tx) => removeUserIn(tx, actor, userId, form),
    })
  } catch (error) {
    // A row the audit log does not name still points at them (the database refuses): the same refusal.
    if (pgErrorCode(error) !== FOREIGN_KEY_VIOLATION) throw error
    const user = await getPerson(db, actor, userId)
    return { removed: false, name: user.name, blockers: [DID_SOMETHING] }
  }
}

async function removeUserIn(
  tx: Tx,
  actor: Actor,
  userId: string,
  form: EditForm,
): Promise<Done<RemovalResult<PersonBlocker>>> {
  const admins = await lockActiveAdministrators(tx, actor)
  const user = await lockPerson(tx, actor, userId)
  if (user.version !== form.version) throw new PersonConflict(user)
  const blockers = await removalBlockers(tx, actor, user, admins)
  if (blockers.length) return { result: { removed: false, name: user.name, blockers } }
  await tx.delete(users).where(eq(users.id, userId))
  const audit: AuditEntry = {
    action: 'remove user',
    subjectType: 'user',
    subjectId: userId,
    summary: `removed ${user.name} (${user.email}), who had never changed anything`,
  }
  return { result: { removed: true, name: user.name }, resultId: userId, audit }
}

// Letters and digits that cannot be mistaken for one another when read aloud or copied by hand.
const READABLE = 'abcdefghjkmnpqrstuvwxyz23456789'

/** A password to hand over once: four groups of four readable characters (about 79 bits). */
export function generatedPassword(): string {
  for (;;) {
    const groups = Array.from({ length: 4 }, () =>
      Array.from({ length: 4 }, () => READABLE[randomInt(READABLE.length)]).join(''),
    )
    const password = groups.join('-')
    if (!passwordProblem(password)) return password
  }
}

/**
 * An administrator resets a person's password: a generated one, returned to be shown once (only its
 * hash is stored). Their sessions end, and they must choose a new one when they next sign in.
 */
export async function resetPassword(
  db: Db,
  actor: Actor,
  userId: string,
  form: EditForm,
): Promise<{ user: CompanyUser; password: string }> {
  requirePermission(actor, 'manageUsers')
  const password = generatedPassword()
  const passwordHash = await hashPassword(password)
  return runCommand(db, actor, {
    permission: 'manageUsers',
    submission: form.submission,
    run: async (tx) => {
      const user = await lockPerson(tx, actor, userId)
      if (user.version !== form.version) throw new PersonConflict(user)
      if (user.id === actor.id)
        throw new Invalid({ '': 'Change your own password on your account page, with your current one.' })
      const { result: updated, audit } = await changePerson(
        tx,
        userId,
        { passwordHash, mustChangePassword: true },
        {
          action: 'reset password',
          summary: `reset the password of ${user.name} (${user.email}): their sessions ended, a new password is due`,
          endSessions: true,
        },
      )
      return { result: { user: updated, password }, audit }
    },
  })
}
