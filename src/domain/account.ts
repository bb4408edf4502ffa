// Your account: your own password and your sessions. Every signed-in person may do this, for
// themselves only; each change is in the audit log.
import { and, desc, eq, ne, sql } from 'drizzle-orm'
import { sessions, users } from '../db/schema.js'
import type { Db } from '../db/client.js'
import type { Actor } from './actor.js'
import { recordEvent } from './audit.js'
import { Invalid, NotFound } from './errors.js'
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js'
import { LIMITS, tooLongMessage } from './limits.js'
import { minutesInWords, recordSuccessfulSignIn, reserveSignInAttempt } from './sign-in-limits.js'
import { normaliseEmail } from './users.js'

/** The signed-in person and the session this request came with. */
export type AccountActor = Actor & { sessionId: string }

export interface AccountSession {
  id: string
  device: string
  ipAddress: string | null
  lastSeenAt: Date
  createdAt: Date
  current: boolean
}

/** "Firefox on Windows": the browser and system of a User-Agent header, in plain words. */
export function deviceInWords(userAgent: string | null): string {
  if (!userAgent) return 'An unknown device'
  const browser =
    [
      [/Edg(e|A|iOS)?\//, 'Edge'],
      [/OPR\/|Opera/, 'Opera'],
      [/Firefox\/|FxiOS\//, 'Firefox'],
      [/Chrome\/|CriOS\/|Chromium\//, 'Chrome'],
      [/Safari\//, 'Safari'],
      [/^curl\//, 'curl'],
    ].find(([pattern]) => (pattern as RegExp).test(userAgent))?.[1] ?? 'An unknown browser'
  const system =
    [
      [/iPhone/, 'an iPhone'],
      [/iPad/, 'an iPad'],
      [/Android/, 'Android'],
      [/CrOS/, 'ChromeOS'],
      [/Mac OS X|Macintosh/, 'macOS'],
      [/Windows/, 'Windows'],
      [/Linux/, 'Linux'],
    ].find(([pattern]) => (pattern as RegExp).test(userAgent))?.[1] ?? null
  return system ? `${browser} on ${system}` : `${browser}`
}

/** Your sessions that have not expired, the most recently used first. */
export async function listSessions(db: Db, actor: AccountActor): Promise<AccountSession[]> {
  const rows = await db
    .select({
      id: sessions.id,
      userAgent: sessions.userAgent,
      ipAddress: sessions.ipAddress,
      lastSeenAt: sessions.lastSeenAt,
      createdAt: sessions.createdAt,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, actor.id), sql`${sessions.expiresAt} > now()`))
    .orderBy(desc(sessions.lastSeenAt))
  return rows.map(({ userAgent, ...row }) => ({
    ...row,
    device: deviceInWords(userAgent),
    current: row.id === actor.sessionId,
  }))
}

export interface PasswordChange {
  current: string
  password: string
  confirm: string
  /** The address the request came from: wrong current passwords count like failed sign-ins. */
  address: string
}

function newPasswordErrors(input: { password: string; confirm: string }): Record<string, string> {
  const errors: Record<string, string> = {}
  const weak = passwordProblem(input.password)
  if (weak) errors.password = weak
  if (input.confirm.length > LIMITS.password) errors.confirm = tooLongMessage(LIMITS.password)
  else if (!weak && input.confirm !== input.password) errors.confirm = 'Type the same new password twice.'
  return errors
}

/** Sets the password of the signed-in person, ends their other sessions and notes it in the audit log. */
async function setOwnPassword(
  db: Db,
  actor: AccountActor,
  password: string,
  action: 'change password' | 'choose password',
): Promise<number> {
  const passwordHash = await hashPassword(password)
  return db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, mustChangePassword: false }).where(eq(users.id, actor.id))
    const ended = await tx
      .delete(sessions)
      .where(and(eq(sessions.userId, actor.id), ne(sessions.id, actor.sessionId)))
      .returning({ id: sessions.id })
    await recordEvent(tx, actor, {
      action,
      subjectType: 'user',
      subjectId: actor.id,
      summary: `${action === 'change password' ? 'changed' : 'chose'} their password; ${ended.length} other ${
        ended.length === 1 ? 'session' : 'sessions'
      } ended`,
    })
    return ended.length
  })
}

/**
 * Changes your own password, with the current one. A wrong current password counts against the
 * sign-in limits of your account from your address; past them, it is refused until the window ends.
 * Ends your other sessions; returns how many.
 */
export async function changeOwnPassword(db: Db, actor: AccountActor, input: PasswordChange): Promise<number> {
  const errors: Record<string, string> = {}
  if (!input.current) errors.current = 'Enter your current password.'
  else if (input.current.length > LIMITS.password) errors.current = tooLongMessage(LIMITS.password)
  Object.assign(errors, newPasswordErrors(input))
  if (Object.keys(errors).length) throw new Invalid(errors)
  const email = normaliseEmail(actor.email)
  if ('error' in email) throw new Invalid({ current: email.error })
  const attempt = await reserveSignInAttempt(db, email.email, input.address)
  if (!attempt.allowed)
    throw new Invalid({
      current: `Too many wrong passwords. Try again in ${minutesInWords(attempt.retryAfterSeconds)}.`,
    })
  const [me] = await db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, actor.id))
  if (!me || !(await verifyPassword(input.current, me.hash)))
    throw new Invalid({ current: 'That is not your current password.' })
  await recordSuccessfulSignIn(db, attempt.reservation)
  return setOwnPassword(db, actor, input.password, 'change password')
}

/** After an administrator reset your password: you choose your own, and may carry on. */
export async function chooseNewPassword(
  db: Db,
  actor: AccountActor,
  input: { password: string; confirm: string },
): Promise<void> {
  const errors = newPasswordErrors(input)
  if (Object.keys(errors).length) throw new Invalid(errors)
  await setOwnPassword(db, actor, input.password, 'choose password')
}

/** Ends one of your sessions (NotFound for a session that is not yours, or already ended). */
export async function endOwnSession(db: Db, actor: AccountActor, sessionId: string): Promise<AccountSession> {
  const [session] = (await listSessions(db, actor)).filter((s) => s.id === sessionId)
  if (!session) throw new NotFound('That session')
  await db.transaction(async (tx) => {
    await tx.delete(sessions).where(and(eq(sessions.id, sessionId), eq(sessions.userId, actor.id)))
    await recordEvent(tx, actor, {
      action: 'end session',
      subjectType: 'user',
      subjectId: actor.id,
      summary: `ended their session on ${session.device}${session.ipAddress ? ` (${session.ipAddress})` : ''}`,
    })
  })
  return session
}

/** "Sign out everywhere else": ends every session of yours but this one; returns how many. */
export async function endOtherSessions(db: Db, actor: AccountActor): Promise<number> {
  return db.transaction(async (tx) => {
    const ended = await tx
      .delete(sessions)
      .where(and(eq(sessions.userId, actor.id), ne(sessions.id, actor.sessionId)))
      .returning({ id: sessions.id })
    if (ended.length)
      await recordEvent(tx, actor, {
        action: 'end other sessions',
        subjectType: 'user',
        subjectId: actor.id,
        summary: `signed out everywhere else: ${ended.length} ${ended.length === 1 ? 'session' : 'sessions'} ended`,
      })
    return ended.length
  })
}
