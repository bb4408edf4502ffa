// Test fixtures: a real database per test file (the PostgreSQL server when DATABASE_URL is set,
// in-memory PGlite otherwise), the app built on it, and a cookie-keeping client over app.inject.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.js'
import { readConfig, type Config } from '../src/config.js'
import { openDatabase, openPglite, type Database, type DatabaseOptions } from '../src/db/client.js'
import { publishCatalogue } from '../src/marketplace/publishing.js'
import { readCatalogue } from '../src/marketplace/manifest.js'
import { createCompany, createUser } from '../src/domain/users.js'
import type { Actor } from '../src/domain/actor.js'
import type { Role } from '../src/domain/enums.js'

export const PASSWORD = 'correct horse battery staple'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** A fresh, migrated database; dropped (server) or discarded (PGlite) when the test file ends. */
export async function testDatabase(t: Teardown, options: DatabaseOptions = {}): Promise<Database> {
  const url = process.env.DATABASE_URL
  if (!url) {
    const database = await openPglite(undefined, options)
    t.teardown(() => database.close())
    return database
  }
  const { default: postgres } = await import('postgres')
  const name = `test_${Date.now()}_${randomBytes(4).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  const testUrl = new URL(url)
  testUrl.pathname = `/${name}`
  const database = await openDatabase(testUrl.toString(), '', { max: 10, ...options })
  t.teardown(async () => {
    await database.close()
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })
  return database
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

async function companyWithUsers(db: Database['db'], name: string): Promise<{ id: string; users: Record<Role, Actor> }> {
  const company = await createCompany(db, name)
  const slug = name.toLowerCase().replace(/[^a-z]+/g, '-')
  const roles: Role[] = ['administrator', 'manager', 'user', 'read-only']
  const users = await Promise.all(
    roles.map((role) =>
      createUser(db, {
        companyId: company.id,
        role,
        password: PASSWORD,
        name: `${role} of ${name}`,
        email: `${role}@${slug}.test`,
      }),
    ),
  )
  return { id: company.id, users: Object.fromEntries(roles.map((r, i) => [r, users[i]!])) as Record<Role, Actor> }
}

/** The app on a fresh database with the real catalogue published and two companies. */
export async function setup(
  t: Teardown,
  options: { logger?: object; onQuery?: DatabaseOptions['onQuery'] } = {},
): Promise<TestContext> {
  const database = await testDatabase(t, options.onQuery ? { onQuery: options.onQuery } : {})
  await publishCatalogue(database.db, await readCatalogue())
  const company = await companyWithUsers(database.db, 'Acme Retail')
  const other = await companyWithUsers(database.db, 'Other Company')
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
