// Test fixtures: a real database per test file (the PostgreSQL server when DATABASE_URL is set,
// in-memory PGlite otherwise), the app built on it, and a cookie-keeping client over app.inject.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Sql } from 'postgres'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.js'
import { readConfig, type Config } from '../src/config.js'
import { openDatabase, openPglite, type Database, type DatabaseOptions } from '../src/db/client.js'
import { publishCatalogue } from '../src/marketplace/publishing.js'
import { readCatalogue } from '../src/marketplace/manifest.js'
import { createCompany, createUser } from '../src/domain/users.js'
import type { Actor } from '../src/domain/actor.js'
import { users } from '../src/db/schema.js'
import type { Role } from '../src/domain/enums.js'

export const PASSWORD = 'correct horse battery staple'

interface Teardown {
  teardown(fn: () => unknown): void
}

/**
 * What a test database starts with: migrated only; also the real catalogue published (the browser
 * tests); or also two companies with one user of each role (setup()).
 */
type Contents = 'migrated' | 'catalogue' | 'setup'

/** A fresh, migrated database; dropped (server) or discarded (PGlite) when the test file ends. */
export async function testDatabase(t: Teardown, options: DatabaseOptions = {}): Promise<Database> {
  return (await databaseWith(t, 'migrated', options)).database
}

/** testDatabase, with the real catalogue published. */
export async function catalogueDatabase(t: Teardown): Promise<Database> {
  return (await databaseWith(t, 'catalogue', {})).database
}

async function databaseWith(
  t: Teardown,
  contents: Contents,
  options: DatabaseOptions,
): Promise<{ database: Database; companies: Companies }> {
  const url = process.env.DATABASE_URL
  if (!url) {
    const database = await openPglite(undefined, options)
    t.teardown(() => database.close())
    return { database, companies: await fill(database.db, contents) }
  }
  const { default: postgres } = await import('postgres')
  const name = `test_${Date.now()}_${randomBytes(4).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  const template = await templateOf(admin, url, contents)
  await admin.unsafe(`create database "${name}" template "${template}"`)
  const testUrl = new URL(url)
  testUrl.pathname = `/${name}`
  const database = await openDatabase(testUrl.toString(), '', { max: 10, ...options })
  t.teardown(async () => {
    await database.close()
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })
  return { database, companies: contents === 'setup' ? await companiesIn(database.db) : NO_COMPANIES }
}

/**
 * On the server, every test file of one run copies its database from the run's template (made by
 * the first file that needs it, under a lock): a copy takes ~0.2 s, migrating and publishing the
 * catalogue ~1 s, and hashing the companies' eight passwords more. A run is told apart by the test
 * runner's process (each file's parent) and when it started; templates of runs over three hours old
 * are dropped.
 */
async function templateOf(admin: Sql, url: string, contents: Contents): Promise<string> {
  const run = createHash('sha256')
    .update(`${bootId()} ${process.ppid} ${processStart(process.ppid)}`)
    .digest('hex')
  const name = `test_template_${Math.floor(Date.now() / 3_600_000)}_${run.slice(0, 12)}_${contents}`
  const building = `${name}_building`
  await admin.unsafe('select pg_advisory_lock(hashtext($1))', [name])
  try {
    const [exists] = await admin.unsafe('select 1 from pg_database where datname = $1', [name])
    if (exists) return name
    await dropStaleTemplates(admin)
    await admin.unsafe(`drop database if exists "${building}" with (force)`)
    await admin.unsafe(`create database "${building}"`)
    const buildUrl = new URL(url)
    buildUrl.pathname = `/${building}`
    const database = await openDatabase(buildUrl.toString(), '', { max: 1 })
    try {
      await fill(database.db, contents)
    } finally {
      await database.close()
    }
    await admin.unsafe(`alter database "${building}" rename to "${name}"`)
    return name
  } finally {
    await admin.unsafe('select pg_advisory_unlock(hashtext($1))', [name])
  }
}

async function dropStaleTemplates(admin: Sql): Promise<void> {
  const hour = Math.floor(Date.now() / 3_600_000)
  const templates = await admin.unsafe<{ datname: string }[]>(
    `select datname from pg_database where datname like 'test\\_template\\_%'`,
  )
  for (const { datname } of templates) {
    const madeAt = Number(datname.split('_')[2])
    if (hour - madeAt > 3) await admin.unsafe(`drop database if exists "${datname}" with (force)`)
  }
}

const bootId = () => readFileOr('/proc/sys/kernel/random/boot_id')
/** When a process started (clock ticks since boot), so a reused process id is another run. */
const processStart = (pid: number) => readFileOr(`/proc/${pid}/stat`).split(' ')[21] ?? ''

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return ''
  }
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    ...readConfig({
      NODE_ENV: 'test',
      SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    }),
    logLevel: 'silent',
    ...overrides,
  }
}

/** A redirect the app answered: a Location or HX-Redirect header, and the request that got it. */
export interface Redirect {
  request: string
  header: string
  location: string
}

export interface TestContext {
  app: FastifyInstance
  /** Every redirect the app answered so far (the generated tests check each stays on this site). */
  redirects: Redirect[]
  database: Database
  db: Database['db']
  /** A company with one user of each role. */
  company: { id: string; users: Record<Role, Actor> }
  /** A second company, to prove nothing crosses over. */
  other: { id: string; users: Record<Role, Actor> }
}

type Company = { id: string; users: Record<Role, Actor> }
type Companies = { company: Company; other: Company }
const NO_COMPANIES = {} as Companies

const ROLE_ORDER: Role[] = ['administrator', 'manager', 'user', 'read-only']
const COMPANY_NAMES = { company: 'Acme Retail', other: 'Other Company' } as const
const emailOf = (role: Role, companyName: string) =>
  `${role}@${companyName.toLowerCase().replace(/[^a-z]+/g, '-')}.test`

async function fill(db: Database['db'], contents: Contents): Promise<Companies> {
  if (contents === 'migrated') return NO_COMPANIES
  await publishCatalogue(db, await readCatalogue())
  if (contents === 'catalogue') return NO_COMPANIES
  return {
    company: await companyWithUsers(db, COMPANY_NAMES.company),
    other: await companyWithUsers(db, COMPANY_NAMES.other),
  }
}

async function companyWithUsers(db: Database['db'], name: string): Promise<Company> {
  const company = await createCompany(db, name)
  const users = await Promise.all(
    ROLE_ORDER.map((role) =>
      createUser(db, {
        companyId: company.id,
        role,
        password: PASSWORD,
        name: `${role} of ${name}`,
        email: emailOf(role, name),
      }),
    ),
  )
  return { id: company.id, users: Object.fromEntries(ROLE_ORDER.map((r, i) => [r, users[i]!])) as Record<Role, Actor> }
}

/** A new company with its administrator, Ana Diaz (ana@<company>.test). */
export async function companyAdministrator(db: Database['db'], companyName: string) {
  const company = await createCompany(db, companyName)
  return createUser(db, {
    companyId: company.id,
    role: 'administrator',
    name: 'Ana Diaz',
    email: `ana@${companyName.toLowerCase()}.test`,
    password: PASSWORD,
  })
}

/** The two companies of a database copied from the setup template, read back by their users' addresses. */
async function companiesIn(db: Database['db']): Promise<Companies> {
  const rows = await db
    .select({ id: users.id, companyId: users.companyId, name: users.name, email: users.email, role: users.role })
    .from(users)
  const of = (companyName: string): Company => {
    const found = ROLE_ORDER.map((role) => rows.find((u) => u.email === emailOf(role, companyName))!)
    return {
      id: found[0]!.companyId,
      users: Object.fromEntries(ROLE_ORDER.map((r, i) => [r, found[i]!])) as Record<Role, Actor>,
    }
  }
  return { company: of(COMPANY_NAMES.company), other: of(COMPANY_NAMES.other) }
}

/** The app on a fresh database with the real catalogue published and two companies. */
export async function setup(
  t: Teardown,
  options: { logger?: object; onQuery?: DatabaseOptions['onQuery'] } = {},
): Promise<TestContext> {
  const {
    database,
    companies: { company, other },
  } = await databaseWith(t, 'setup', options.onQuery ? { onQuery: options.onQuery } : {})
  const app = await buildApp({ config: testConfig(), database, ...(options.logger ? { logger: options.logger } : {}) })
  t.teardown(() => app.close())
  return { app, redirects: recordRedirects(app), database, db: database.db, company, other }
}

/** Records the redirects an app answers (before it is ready). */
export function recordRedirects(app: FastifyInstance): Redirect[] {
  const redirects: Redirect[] = []
  app.addHook('onSend', async (request, reply) => {
    for (const header of ['location', 'hx-redirect']) {
      const value = reply.getHeader(header)
      if (value !== undefined)
        redirects.push({ request: `${request.method} ${request.url}`, header, location: String(value) })
    }
  })
  return redirects
}

/** The redirects that a browser would follow off this site (the generated route tests expect none). */
export function offSite(redirects: Redirect[]): Redirect[] {
  return redirects.filter((r) => resolvesTo(r.location) !== APP_ORIGIN)
}

/** The origin the app is pictured at when a test resolves a redirect as a browser would. */
export const APP_ORIGIN = 'http://app.example'

/** Where a browser on a page of the app would go for this Location (it drops tabs and line breaks, reads "\\" as "/"). */
export function resolvesTo(location: string): string {
  try {
    return new URL(location, `${APP_ORIGIN}/some/page`).origin
  } catch {
    return 'nowhere (not a URL)'
  }
}

type Form = Record<string, string | string[]>

/** A user's browser over app.inject: keeps cookies and sends the CSRF token of the last page. */
export class Client {
  cookies = new Map<string, string>()
  csrfToken = ''

  /** `address`: the client's IP address as the app sees it (the sign-in limits count per address). */
  constructor(
    readonly app: FastifyInstance,
    readonly options: { address?: string } = {},
  ) {}

  private remember(response: LightMyRequestResponse): LightMyRequestResponse {
    for (const cookie of response.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      const expired = cookie.maxAge === 0 || (cookie.expires && cookie.expires.getTime() < Date.now())
      if (expired || cookie.value === '') this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)
    if (token) this.csrfToken = token[1]!
    return response
  }

  private address() {
    return this.options.address ? { remoteAddress: this.options.address } : {}
  }

  private cookieHeader() {
    // light-my-request hands back decoded values; a browser sends them back encoded, as they were set.
    return [...this.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ')
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.remember(
      await this.app.inject({
        method: 'GET',
        url,
        headers: { cookie: this.cookieHeader(), ...headers },
        ...this.address(),
      }),
    )
  }

  /** Posts a form as a browser would, with the CSRF token unless `_csrf` is given. */
  async post(url: string, form: Form = {}, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const body = new URLSearchParams()
    if (!('_csrf' in form)) body.append('_csrf', this.csrfToken)
    for (const [key, value] of Object.entries(form)) {
      for (const v of Array.isArray(value) ? value : [value]) body.append(key, v)
    }
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        payload: body.toString(),
        headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
        ...this.address(),
      }),
    )
  }

  async signIn(email: string, password = PASSWORD): Promise<LightMyRequestResponse> {
    await this.get('/login')
    const response = await this.post('/login', { email, password })
    if (response.statusCode !== 303) throw new Error(`sign-in as ${email} failed: ${response.statusCode}`)
    await this.get('/connectors')
    return response
  }
}

/** A signed-in client for an actor. */
export async function signedIn(app: FastifyInstance, actor: Actor): Promise<Client> {
  const client = new Client(app)
  await client.signIn(actor.email)
  return client
}

/** The text of an HTML fragment with tags removed and white space folded, for assertions on what a user reads. */
export function textOf(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/\s+/g, ' ')
    .trim()
}

/** The hidden fields (version, one-time key, …) of the POST form to `action`, as a browser would send them; `_csrf` is left to the client. */
export function hiddenFields(html: string, action: string): Record<string, string> {
  const form = new RegExp(
    `<form(?=[^>]*method="post")[^>]*\\saction="${action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>([\\s\\S]*?)</form>`,
  ).exec(html)
  if (!form) throw new Error(`no form posts to ${action}`)
  const fields = [...form[1]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].filter(
    ([, name]) => name !== '_csrf',
  )
  return Object.fromEntries(
    fields.map(([, name, value]) => [
      name!,
      value!
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&'),
    ]),
  )
}
