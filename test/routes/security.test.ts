// CSRF on every non-GET route (generated from the route table), cookies, headers, error pages,
// and every redirect of the run checked to stay on this site (sign-in limits: sign-in-limits.test.ts).
import t from 'tap'
import { eq } from 'drizzle-orm'
import { buildApp } from '../../src/app.js'
import { sessions, users } from '../../src/db/schema.js'
import { offSite, setup, signedIn, Client, PASSWORD, testConfig, textOf } from '../helpers.js'
import { buildWorld, fillRoute, HARMLESS_BODY } from '../world.js'

const ctx = await setup(t)
const world = await buildWorld(ctx, ctx.company)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)
const otherSessionToken = (await signedIn(ctx.app, ctx.company.users.manager)).csrfToken

const writes = ctx.app.routeTable.filter((r) => r.method !== 'GET')
for (const route of writes) {
  t.test(`${route.method} ${route.url} refuses a request without or with a wrong CSRF token`, async (t) => {
    const url = fillRoute(route, world)
    const client = route.public ? new Client(ctx.app) : admin
    if (route.public) await client.get('/login')
    for (const [label, token, headers] of [
      ['no token', undefined, {}],
      ['a wrong token', 'forged-token', {}],
      ["another session's token", otherSessionToken, {}],
      ['an htmx request without a token', undefined, { 'hx-request': 'true', 'hx-request-type': 'partial' }],
    ] as const) {
      const form: Record<string, string> = {
        ...HARMLESS_BODY,
        confirm: 'confirm',
        email: ctx.company.users.user.email,
        password: PASSWORD,
      }
      const response = await client.post(
        url,
        token === undefined ? { ...form, _csrf: '' } : { ...form, _csrf: token },
        headers,
      )
      t.equal(response.statusCode, 403, label)
      t.match(textOf(response.body), 'This form has expired or did not come from this site.', label)
    }
  })
}

t.test('cookies are HttpOnly and SameSite; Secure behind HTTPS', async (t) => {
  const client = new Client(ctx.app)
  await client.get('/login')
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/login',
    headers: {
      cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-proto': 'https',
    },
    payload: new URLSearchParams({
      _csrf: client.csrfToken,
      email: ctx.company.users.user.email,
      password: PASSWORD,
    }).toString(),
  })
  t.equal(response.statusCode, 303)
  for (const header of [response.headers['set-cookie']].flat()) {
    t.match(String(header), /HttpOnly/i, String(header).split('=')[0]!)
    t.match(String(header), /SameSite=Lax/i, String(header).split('=')[0]!)
  }
})

t.test('security headers: a strict CSP, no framing, no sniffing, same-origin referrers', async (t) => {
  const response = await admin.get('/connectors')
  const csp = String(response.headers['content-security-policy'])
  t.match(csp, "default-src 'self'")
  t.match(csp, "script-src 'self'")
  t.notMatch(csp, 'unsafe-inline')
  t.notMatch(csp, 'unsafe-eval')
  t.match(csp, "frame-ancestors 'none'")
  t.equal(response.headers['x-content-type-options'], 'nosniff')
  t.equal(response.headers['referrer-policy'], 'same-origin')
  t.notMatch(response.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script')
  t.notMatch(response.body, /\son[a-z]+="/, 'no inline event handlers')
  t.notMatch(response.body, /\sstyle="/, 'no inline styles')
  t.match(
    response.body,
    '<meta name="htmx-config" content=\'{"includeIndicatorCSS": false}\'>',
    'htmx adds no inline style',
  )
})

t.test(
  'in production every cookie the app sets is Secure, HttpOnly and SameSite, also over plain HTTP behind a proxy',
  async (t) => {
    const production = await buildApp({ config: testConfig({ production: true }), database: ctx.database })
    t.teardown(() => production.close())
    const client = new Client(production, { address: '192.0.2.77' })
    const cookies: string[] = []
    const keep = (response: { headers: Record<string, unknown> }) =>
      cookies.push(...[response.headers['set-cookie'] ?? []].flat().map(String))
    keep(await client.get('/login'))
    keep(await client.post('/login', { email: ctx.company.users.user.email, password: PASSWORD }))
    keep(await client.get('/connectors'))
    keep(await client.post('/logout'))
    keep(await client.get('/login'))
    const names = new Set(cookies.map((c) => c.split('=')[0]))
    t.same([...names].sort(), ['csrf', 'flash', 'sid'], 'the session, CSRF and flash cookies, set and cleared')
    for (const cookie of cookies) {
      const name = cookie.split('=')[0]!
      t.match(cookie, /;\s*Secure/i, `${name}: Secure`)
      t.match(cookie, /;\s*HttpOnly/i, `${name}: HttpOnly`)
      t.match(cookie, /;\s*SameSite=Lax/i, `${name}: SameSite=Lax`)
      t.match(cookie, /;\s*Path=\//i, `${name}: Path=/`)
    }
  },
)

t.test(
  'an answer whose headers cannot be sent becomes an HTML error page, and a sign-in it carried is taken back',
  async (t) => {
    const app = await buildApp({ config: testConfig(), database: ctx.database })
    t.teardown(() => app.close())
    const user = ctx.company.users.user
    // Routes that make the mistakes this guards against: a header value Node refuses to send.
    app.get('/test/bad-header', { config: { public: true } }, async (_request, reply) =>
      reply.header('x-test', 'a\r\nb').send('never sent'),
    )
    app.get('/test/sign-in-then-bad-redirect', { config: { public: true } }, async (_request, reply) => {
      const [signingIn] = await ctx.db
        .select({ id: users.id, passwordHash: users.passwordHash })
        .from(users)
        .where(eq(users.id, user.id))
      await reply.signIn(signingIn!)
      return reply.redirect('/connectors\u2028\r\nx', 303)
    })
    const bad = await app.inject({ method: 'GET', url: '/test/bad-header' })
    t.equal(bad.statusCode, 500)
    t.match(bad.headers['content-type'], /^text\/html/, "HTML, not Fastify's JSON")
    t.match(textOf(bad.body), 'Something went wrong on our side.')
    t.match(String(bad.headers['content-security-policy']), "default-src 'self'", 'the security headers stay')

    const sessionsBefore = (await ctx.db.select().from(sessions).where(eq(sessions.userId, user.id))).length
    const failed = await app.inject({ method: 'GET', url: '/test/sign-in-then-bad-redirect' })
    t.equal(failed.statusCode, 500)
    t.match(failed.headers['content-type'], /^text\/html/)
    t.notOk(failed.headers.location, 'no redirect')
    const sid = [failed.headers['set-cookie'] ?? []]
      .flat()
      .map(String)
      .find((c) => c.startsWith('sid='))
    t.ok(!sid || /^sid=;/.test(sid), 'no session cookie is handed out')
    t.equal(
      (await ctx.db.select().from(sessions).where(eq(sessions.userId, user.id))).length,
      sessionsBefore,
      'and no session row is left behind',
    )
  },
)

t.test('every GET route sends a signed-out visitor to sign in and back, with hostile additions too', async (t) => {
  const gets = ctx.app.routeTable.filter((r) => r.method === 'GET' && !r.public)
  for (const route of gets) {
    const url = fillRoute(route, world)
    for (const variant of [
      url,
      `${url}?next=//evil.example`,
      `${url}?q=%0d%0aLocation:%20//evil.example`,
      `${url}/%2F%2Fevil.example`,
    ]) {
      const visitor = new Client(ctx.app)
      const response = await visitor.get(variant)
      t.ok(response.statusCode < 500, `${variant}: ${response.statusCode}`)
      const htmx = await visitor.get(variant, { 'hx-request': 'true', 'hx-request-type': 'partial' })
      t.ok(htmx.statusCode < 500, `${variant} (htmx): ${htmx.statusCode}`)
    }
  }
})

t.test('every redirect of this file stays on this site', async (t) => {
  t.ok(ctx.redirects.length >= 100, `${ctx.redirects.length} redirects checked`)
  t.same(offSite(ctx.redirects), [])
})
