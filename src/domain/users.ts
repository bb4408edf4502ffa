// Users and signing in. Sessions are rows keyed by a hash of the cookie's random token.
import { createHash, randomBytes } from 'node:crypto'
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm'
import { companies, sessions, users, ROLES, type Role } from '../db/schema.js'
import { violates } from '../db/errors.js'
import { recordEvent } from './audit.js'
import { requirePermission } from './actor.js'
import { Invalid, NotFound } from './errors.js'
import type { Db } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import type { Actor } from './actor.js'
import { hashPassword, UNUSABLE_HASH, verifyPassword } from './passwords.js'
import { LIMITS, tooLongMessage } from './limits.js'

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

// ---- Users of a company (settings > users; administrators only) ----

export interface CompanyUser { id: string; name: string; email: string; role: Role; createdAt: Date }

export async function listUsers(db: Db, actor: Actor): Promise<CompanyUser[]> {
  requirePermission(actor, 'manageUsers')
  return db.select({ id: users.id, name: users.name, email: users.email, role: users.role, createdAt: users.createdAt })
    .from(users).where(eq(users.companyId, actor.companyId)).orderBy(asc(sql`lower(${users.name})`))
}

export interface UserInput { name: string; email: string; role: string; password: string }

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

export async function addUser(db: Db, actor: Actor, input: UserInput): Promise<CompanyUser> {
  requirePermission(actor, 'manageUsers')
  const errors: Record<string, string> = {}
  const name = input.name.trim()
  const email = input.email.trim()
  if (!name) errors.name = 'Enter the person\'s name.'
  else if (name.length > LIMITS.personName) errors.name = tooLongMessage(LIMITS.personName)
  if (email.length > LIMITS.email) errors.email = tooLongMessage(LIMITS.email)
  else if (!EMAIL.test(email)) errors.email = 'Enter an email address such as name@company.com.'
  if (!(ROLES as readonly string[]).includes(input.role)) errors.role = 'Choose a role.'
  if (input.password.length < 12) errors.password = 'Use at least 12 characters.'
  else if (input.password.length > LIMITS.password) errors.password = tooLongMessage(LIMITS.password)
  if (Object.keys(errors).length) throw new Invalid(errors)
  const passwordHash = await hashPassword(input.password)
  return db.transaction(async (tx) => {
    const [user] = await tx.insert(users).values({ companyId: actor.companyId, name, email, role: input.role as Role, passwordHash })
      .returning({ id: users.id, name: users.name, email: users.email, role: users.role, createdAt: users.createdAt })
      .catch((error: unknown) => {
        if (violates(error, 'users_email_unique')) throw new Invalid({ email: 'Somebody already signs in with this email address.' })
        throw error
      })
    await recordEvent(tx, actor, { action: 'add user', subjectType: 'user', subjectId: user!.id, summary: `added ${name} (${email}) as ${input.role}` })
    return user!
  })
}

/** Changes a user's role; the company always keeps at least one administrator. */
export async function changeRole(db: Db, actor: Actor, userId: string, role: string): Promise<CompanyUser> {
  requirePermission(actor, 'manageUsers')
  if (!(ROLES as readonly string[]).includes(role)) throw new Invalid({ role: 'Choose a role.' })
  return db.transaction(async (tx) => {
    // Locks the company's administrators so two demotions cannot leave none.
    const admins = await tx.select({ id: users.id }).from(users)
      .where(and(eq(users.companyId, actor.companyId), eq(users.role, 'administrator'))).for('update')
    const [user] = await tx.select().from(users).where(and(eq(users.id, userId), eq(users.companyId, actor.companyId))).for('update')
    if (!user) throw new NotFound('That user')
    if (user.role === 'administrator' && role !== 'administrator' && admins.length <= 1) {
      throw new Invalid({ role: `${user.name} is the only administrator. Make somebody else an administrator first.` })
    }
    const [updated] = await tx.update(users).set({ role: role as Role }).where(eq(users.id, userId))
      .returning({ id: users.id, name: users.name, email: users.email, role: users.role, createdAt: users.createdAt })
    await recordEvent(tx, actor, { action: 'change role', subjectType: 'user', subjectId: userId, summary: `changed the role of ${user.name} from ${user.role} to ${role}` })
    return updated!
  })
}
