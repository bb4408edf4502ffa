// Users and signing in. Sessions are rows keyed by a hash of the cookie's random token.
import { createHash, randomBytes } from 'node:crypto'
import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import { companies, dataVersions, MARKETPLACE_SCOPE, sessions, users } from '../db/schema.js'
import { alias } from 'drizzle-orm/pg-core'
import { ROLES, type Role } from './enums.js'
import { retryOnceIfViolated, violates } from '../db/errors.js'
import { recordEvent, type AuditEntry } from './audit.js'
import { requirePermission } from './actor.js'
import { Invalid } from './errors.js'
import { runCommand } from './command.js'
import type { Db, Queryable } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import type { Actor } from './actor.js'
import { hashPassword, passwordProblem, UNUSABLE_HASH, verifyPassword } from './passwords.js'
import { LIMITS, tooLongMessage } from './limits.js'

export const SESSION_DAYS = 14

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex')

const companyVersion = alias(dataVersions, 'company_version')
const marketplaceVersion = alias(dataVersions, 'marketplace_version')

const sessionUser = preparedQuery((db) =>
  db
    .select({
      id: users.id,
      companyId: users.companyId,
      name: users.name,
      email: users.email,
      role: users.role,
      mustChangePassword: users.mustChangePassword,
      sessionId: sessions.id,
      lastSeenAt: sessions.lastSeenAt,
      companyVersion: companyVersion.version,
      marketplaceVersion: marketplaceVersion.version,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(companyVersion, eq(companyVersion.scope, users.companyId))
    .leftJoin(marketplaceVersion, eq(marketplaceVersion.scope, MARKETPLACE_SCOPE))
    .where(
      and(
        eq(sessions.id, sql.placeholder('tokenHash')),
        gt(sessions.expiresAt, sql`now()`),
        isNull(users.deactivatedAt),
      ),
    )
    .prepare('user_for_session'),
)

/** How stale a session's "last seen" may get before a request writes it again. */
const LAST_SEEN_EVERY_MS = 60_000

export type SessionUser = Actor & {
  sessionId: string
  mustChangePassword: boolean
  /** What the company's pages are made of, as of this request: its counter and the marketplace's (see data_versions). */
  dataVersion: string
}

/**
 * The signed-in user for a session token, or null (unknown, expired, or the person is deactivated):
 * one query, and a second at most once a minute per session to note when it was last used.
 */
export async function userForSession(db: Db, token: string): Promise<SessionUser | null> {
  const [row] = await sessionUser(db).execute({ tokenHash: tokenHash(token) })
  if (!row) return null
  const { lastSeenAt, companyVersion, marketplaceVersion, ...fields } = row
  const user = { ...fields, dataVersion: `${companyVersion ?? 0}.${marketplaceVersion ?? 0}` }
  if (Date.now() - lastSeenAt.getTime() > LAST_SEEN_EVERY_MS) {
    await db
      .update(sessions)
      .set({ lastSeenAt: sql`now()` })
      .where(and(eq(sessions.id, row.sessionId), lt(sessions.lastSeenAt, sql`now() - interval '60 seconds'`)))
  }
  return user
}

/**
 * An email address as sign-in uses it: trimmed, Unicode NFKC, lower-case. The one value the
 * sign-in limits count, the lookup finds and the log names, so no spelling of one address
 * (padded, upper-case, full-width) counts as another.
 */
export type SignInEmail = string & { readonly normalised: unique symbol }

export const EMAIL_MAX_LENGTH = LIMITS.email
/** What an address added to a company must look like (sign-in looks up whatever was typed). */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
// Control and invisible formatting characters (tab, line breaks, bidi marks, zero-width spaces).
const CONTROL_CHARACTERS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

export function normaliseEmail(input: string): { email: SignInEmail } | { error: string } {
  const tooLong = { error: `An email address has at most ${EMAIL_MAX_LENGTH} characters.` }
  // Far too long to be an address: refused before the work of normalising it.
  if (input.length > 4 * EMAIL_MAX_LENGTH) return tooLong
  const email = input.normalize('NFKC').toLowerCase().normalize('NFKC').trim()
  if (!email) return { error: 'Enter your email address.' }
  if (CONTROL_CHARACTERS.test(email))
    return { error: 'An email address cannot contain control characters such as tabs or line breaks.' }
  if ([...email].length > EMAIL_MAX_LENGTH) return tooLong
  return { email: email as SignInEmail }
}

/**
 * Who an email and password belong to, and the password hash they matched: a session starts only
 * while that hash is still theirs (see startSession).
 */
export type Authenticated = Actor & { passwordHash: string }

/** Checks an email and password; the same time is spent whether or not the email exists. */
export async function authenticate(db: Db, email: SignInEmail, password: string): Promise<Authenticated | null> {
  const [user] = await db
    .select()
    .from(users)
    // A deactivated person is refused like a wrong password: the same words, the same time spent.
    .where(and(eq(sql`lower(${users.email})`, email), eq(users.signsIn, true), isNull(users.deactivatedAt)))
  const ok = await verifyPassword(password, user?.passwordHash ?? UNUSABLE_HASH)
  if (!user || !ok) return null
  const { id, companyId, name, role, passwordHash } = user
  return { id, companyId, name, email: user.email, role, passwordHash }
}

/** Where a session was started from, as "your account" lists it. */
export interface SessionOrigin {
  userAgent: string | null
  ipAddress: string | null
}

/**
 * Starts a session for a person signing in with the password that matched `passwordHash`, and returns
 * the token for the cookie; null when, meanwhile, that password was reset or changed or the person
 * deactivated. The row is read `FOR SHARE`: a reset or deactivation (which lock the person's row
 * for update and end their sessions) either finishes first, and then the hash no longer matches, or
 * waits for this session to exist, and then ends it too. No session outlives the password it began with.
 */
export async function startSession(
  db: Db,
  user: { id: string; passwordHash: string },
  origin?: SessionOrigin,
): Promise<string | null> {
  const token = randomBytes(32).toString('base64url')
  await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`))
  const started = await db
    .insert(sessions)
    .select((qb) =>
      qb
        .select({
          // In the table's column order: drizzle lists every column of sessions, in that order.
          id: sql<string>`${tokenHash(token)}`.as('id'),
          userId: users.id,
          createdAt: sql<Date>`now()`.as('created_at'),
          expiresAt: sql<Date>`now() + make_interval(days => ${SESSION_DAYS})`.as('expires_at'),
          userAgent: sql<string | null>`${origin?.userAgent?.slice(0, 500) ?? null}::text`.as('user_agent'),
          ipAddress: sql<string | null>`${origin?.ipAddress ?? null}::text`.as('ip_address'),
          lastSeenAt: sql<Date>`now()`.as('last_seen_at'),
        })
        .from(users)
        .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash), isNull(users.deactivatedAt)))
        .for('share'),
    )
    .returning({ id: sessions.id })
  return started.length ? token : null
}

export async function endSession(db: Db, token: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, tokenHash(token)))
}

export async function createCompany(db: Queryable, name: string): Promise<{ id: string; name: string }> {
  const [company] = await db.insert(companies).values({ name }).returning({ id: companies.id, name: companies.name })
  return company!
}

export interface FirstAdministrator {
  company: string
  email: string
  name: string
  password: string
}

/** Refuses (Invalid, a message per field) what `createCompanyWithAdministrator` cannot create, before any database work. */
export function checkFirstAdministrator(input: FirstAdministrator): void {
  const errors: Record<string, string> = {}
  const companyName = input.company.trim()
  const name = input.name.trim()
  if (!companyName) errors.company = 'Give the company a name.'
  else if (companyName.length > 120) errors.company = 'Use at most 120 characters for the company name.'
  if (!name) errors.name = 'Give the administrator a name.'
  else if (name.length > 120) errors.name = 'Use at most 120 characters for the name.'
  const normalised = normaliseEmail(input.email)
  if ('error' in normalised) errors.email = normalised.error
  else if (!EMAIL.test(normalised.email)) errors.email = 'Enter an email address such as name@company.com.'
  const weak = passwordProblem(input.password)
  if (weak) errors.password = `The password is too weak. ${weak}`
  if (Object.keys(errors).length) throw new Invalid(errors)
}

/**
 * A new company and its first administrator (`npm run admin:create`): how a production
 * deployment gets its first account. Refused, with a message per field, when the company name is
 * taken, the address already signs in, or the password is weak.
 */
export async function createCompanyWithAdministrator(
  db: Db,
  input: FirstAdministrator,
): Promise<{ company: { id: string; name: string }; administrator: Actor }> {
  checkFirstAdministrator(input)
  const companyName = input.company.trim()
  const name = input.name.trim()
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: companies.id })
      .from(companies)
      .where(eq(sql`lower(${companies.name})`, companyName.toLowerCase()))
    if (existing) throw new Invalid({ company: `A company named "${companyName}" already exists.` })
    const company = await createCompany(tx, companyName)
    const administrator = await createUser(tx, {
      companyId: company.id,
      email: input.email,
      name,
      role: 'administrator',
      password: input.password,
    }).catch((error: unknown) => {
      if (violates(error, 'users_sign_in_email_unique'))
        throw new Invalid({ email: `${input.email.trim()} already signs in to the dashboard.` })
      throw error
    })
    await recordEvent(tx, administrator, {
      action: 'add user',
      subjectType: 'user',
      subjectId: administrator.id,
      summary: `created ${company.name} with ${name} (${administrator.email}) as its first administrator (npm run admin:create)`,
    })
    return { company, administrator }
  })
}

export interface NewUser {
  companyId: string
  email: string
  name: string
  password: string
  role: Role
}

/** Creates a user who signs in with their email address (fails if that address already signs in). */
export async function createUser(db: Queryable, input: NewUser): Promise<Actor> {
  const normalised = normaliseEmail(input.email)
  if ('error' in normalised) throw new Invalid({ email: normalised.error })
  const [user] = await db
    .insert(users)
    .values({
      companyId: input.companyId,
      email: normalised.email,
      name: input.name.trim(),
      role: input.role,
      passwordHash: await hashPassword(input.password),
    })
    .returning()
  return { id: user!.id, companyId: user!.companyId, name: user!.name, email: user!.email, role: user!.role }
}

// ---- Users of a company (settings > users; administrators only) ----

export interface CompanyUser {
  id: string
  name: string
  email: string
  role: Role
  createdAt: Date
  version: number
  deactivatedAt: Date | null
  mustChangePassword: boolean
}

export const companyUser = {
  id: users.id,
  name: users.name,
  email: users.email,
  role: users.role,
  createdAt: users.createdAt,
  version: users.version,
  deactivatedAt: users.deactivatedAt,
  mustChangePassword: users.mustChangePassword,
}

export async function listUsers(db: Db, actor: Actor): Promise<CompanyUser[]> {
  requirePermission(actor, 'manageUsers')
  return db
    .select(companyUser)
    .from(users)
    .where(eq(users.companyId, actor.companyId))
    .orderBy(asc(sql`lower(${users.name})`))
}

export interface UserInput {
  name: string
  email: string
  role: string
  password: string
  submission?: string | undefined
}

/**
 * Adds a person to the actor's company. Whether their address already signs in with another
 * company changes nothing the administrator sees, nor the work done: the same statements run and
 * the person is listed either way. Only an address that signs in nowhere yet signs in here.
 */
export async function addUser(db: Db, actor: Actor, input: UserInput): Promise<CompanyUser> {
  requirePermission(actor, 'manageUsers')
  const errors: Record<string, string> = {}
  const name = input.name.trim()
  if (!name) errors.name = "Enter the person's name."
  else if (name.length > LIMITS.personName) errors.name = tooLongMessage(LIMITS.personName)
  const normalised = normaliseEmail(input.email)
  if ('error' in normalised)
    errors.email =
      normalised.error === 'Enter your email address.'
        ? 'Enter an email address such as name@company.com.'
        : normalised.error
  else if (!EMAIL.test(normalised.email)) errors.email = 'Enter an email address such as name@company.com.'
  if (!(ROLES as readonly string[]).includes(input.role)) errors.role = 'Choose a role.'
  const weak = passwordProblem(input.password)
  if (weak) errors.password = weak
  if (Object.keys(errors).length || 'error' in normalised) throw new Invalid(errors)
  const email = normalised.email
  const passwordHash = await hashPassword(input.password)
  // Two companies adding one new address at once: the loser's run finds it taken and lists the person.
  return retryOnceIfViolated('users_sign_in_email_unique', () =>
    runCommand(db, actor, {
      permission: 'manageUsers',
      // Once per form submission: a double submit answers with the user added first.
      submission: input.submission,
      replay: async (tx, earlier) => {
        const [done] = earlier.resultId
          ? await tx
              .select(companyUser)
              .from(users)
              .where(and(eq(users.id, earlier.resultId), eq(users.companyId, actor.companyId)))
          : []
        return done ?? null
      },
      run: async (tx) => {
        const [user] = await tx
          .insert(users)
          .values({
            companyId: actor.companyId,
            name,
            email,
            role: input.role as Role,
            passwordHash,
            signsIn: sql`not exists (select 1 from ${users} where lower(${users.email}) = ${email} and ${users.signsIn})`,
          })
          .returning(companyUser)
          .catch((error: unknown) => {
            if (violates(error, 'users_company_email_unique'))
              throw new Invalid({ email: 'Somebody in your company already has this email address.' })
            throw error
          })
        const audit: AuditEntry = {
          action: 'add user',
          subjectType: 'user',
          subjectId: user!.id,
          summary: `added ${name} (${email}) as ${input.role}`,
        }
        return { result: user!, resultId: user!.id, audit }
      },
    }),
  )
}
