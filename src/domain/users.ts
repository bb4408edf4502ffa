// Users and signing in. Sessions are rows keyed by a hash of the cookie's random token.
import { createHash, randomBytes } from 'node:crypto'
import { and, eq, gt, lt, sql } from 'drizzle-orm'
import { companies, sessions, users, type Role } from '../db/schema.js'
import type { Db } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import type { Actor } from './actor.js'
import { hashPassword, UNUSABLE_HASH, verifyPassword } from './passwords.js'

export const SESSION_DAYS = 14

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex')

const sessionUser = preparedQuery((db) => db.select({
  id: users.id, companyId: users.companyId, name: users.name, email: users.email, role: users.role, sessionId: sessions.id,
}).from(sessions).innerJoin(users, eq(users.id, sessions.userId))
  .where(and(eq(sessions.id, sql.placeholder('tokenHash')), gt(sessions.expiresAt, sql`now()`)))
  .prepare('user_for_session'))

/** The signed-in user for a session token, or null (unknown or expired): one query. */
export async function userForSession(db: Db, token: string): Promise<(Actor & { sessionId: string }) | null> {
  const [row] = await sessionUser(db).execute({ tokenHash: tokenHash(token) })
  return row ?? null
}

/** Checks an email and password; the same time is spent whether or not the email exists. */
export async function authenticate(db: Db, email: string, password: string): Promise<Actor | null> {
  const [user] = await db.select().from(users).where(eq(sql`lower(${users.email})`, email.trim().toLowerCase()))
  const ok = await verifyPassword(password, user?.passwordHash ?? UNUSABLE_HASH)
  if (!user || !ok) return null
  return { id: user.id, companyId: user.companyId, name: user.name, email: user.email, role: user.role }
}

/** Starts a session for a user and returns the token for the cookie. */
export async function startSession(db: Db, userId: string): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`))
  await db.insert(sessions).values({
    id: tokenHash(token), userId, expiresAt: sql`now() + make_interval(days => ${SESSION_DAYS})`,
  })
  return token
}

export async function endSession(db: Db, token: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, tokenHash(token)))
}

export async function createCompany(db: Db, name: string): Promise<{ id: string; name: string }> {
  const [company] = await db.insert(companies).values({ name }).returning({ id: companies.id, name: companies.name })
  return company!
}

export interface NewUser { companyId: string; email: string; name: string; password: string; role: Role }

export async function createUser(db: Db, input: NewUser): Promise<Actor> {
  const [user] = await db.insert(users).values({
    companyId: input.companyId,
    email: input.email.trim(),
    name: input.name.trim(),
    role: input.role,
    passwordHash: await hashPassword(input.password),
  }).returning()
  return { id: user!.id, companyId: user!.companyId, name: user!.name, email: user!.email, role: user!.role }
}
