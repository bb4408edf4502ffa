// Users and signing in. Sessions are rows keyed by a hash of the cookie's random token.
import { createHash, randomBytes } from 'node:crypto'
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm'
import { companies, sessions, users } from '../db/schema.js'
import { ROLES, type Role } from './enums.js'
import { retryOnceIfViolated, violates } from '../db/errors.js'
import { recordEvent, type AuditEntry } from './audit.js'
import { requirePermission } from './actor.js'
import { EditConflict, Invalid, NotFound } from './errors.js'
import { runCommand, type Done } from './command.js'
import type { EditForm } from './edit-form.js'
import type { Db, Queryable, Tx } from '../db/client.js'
import { preparedQuery } from '../db/prepared.js'
import type { Actor } from './actor.js'
import { hashPassword, passwordProblem, UNUSABLE_HASH, verifyPassword } from './passwords.js'
import { LIMITS, tooLongMessage } from './limits.js'

export const SESSION_DAYS = 14

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex')

const sessionUser = preparedQuery((db) =>
  db
    .select({
      id: users.id,
      companyId: users.companyId,
      name: users.name,
      email: users.email,
      role: users.role,
      sessionId: sessions.id,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sql.placeholder('tokenHash')), gt(sessions.expiresAt, sql`now()`)))
    .prepare('user_for_session'),
)

/** The signed-in user for a session token, or null (unknown or expired): one query. */
export async function userForSession(db: Db, token: string): Promise<(Actor & { sessionId: string }) | null> {
  const [row] = await sessionUser(db).execute({ tokenHash: tokenHash(token) })
  return row ?? null
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

/** Checks an email and password; the same time is spent whether or not the email exists. */
export async function authenticate(db: Db, email: SignInEmail, password: string): Promise<Actor | null> {
  const [user] = await db
    .select()
    .from(users)
    .where(and(eq(sql`lower(${users.email})`, email), eq(users.signsIn, true)))
  const ok = await verifyPassword(password, user?.passwordHash ?? UNUSABLE_HASH)
  if (!user || !ok) return null
  return { id: user.id, companyId: user.companyId, name: user.name, email: user.email, role: user.role }
}

/** Starts a session for a user and returns the token for the cookie. */
export async function startSession(db: Db, userId: string): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`))
  await db.insert(sessions).values({
    id: tokenHash(token),
    userId,
    expiresAt: sql`now() + make_interval(days => ${SESSION_DAYS})`,
  })
  return token
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
}

const companyUser = {
  id: users.id,
  name: users.name,
  email: users.email,
  role: users.role,
  createdAt: users.createdAt,
  version: users.version,
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
    replay: async (tx) => {
      const [done] = await tx
        .select(companyUser)
        .from(users)
        .where(and(eq(users.id, userId), eq(users.companyId, actor.companyId)))
      if (!done) throw new NotFound('That user')
      return done
    },
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
  // Locks the company's administrators so two demotions cannot leave none.
  const admins = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.companyId, actor.companyId), eq(users.role, 'administrator')))
    .for('update')
  const [user] = await tx
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.companyId, actor.companyId)))
    .for('update')
  if (!user) throw new NotFound('That user')
  if (user.version !== form.version) throw new RoleConflict(user)
  if (user.role === 'administrator' && role !== 'administrator' && admins.length <= 1) {
    throw new Invalid({ role: `${user.name} is the only administrator. Make somebody else an administrator first.` })
  }
  const [updated] = await tx
    .update(users)
    .set({ role: role as Role, version: sql`${users.version} + 1` })
    .where(eq(users.id, userId))
    .returning(companyUser)
  const audit: AuditEntry = {
    action: 'change role',
    subjectType: 'user',
    subjectId: userId,
    summary: `changed the role of ${user.name} from ${user.role} to ${role}`,
  }
  return { result: updated!, resultId: userId, audit }
}
