// CSRF on every non-GET route (generated from the route table), cookies, headers, sign-in limits.
import t from 'tap'
import { setup, signedIn, Client, PASSWORD, textOf } from '../helpers.js'
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
      ['another session\'s token', otherSessionToken, {}],
      ['an htmx request without a token', undefined, { 'hx-request': 'true', 'hx-request-type': 'partial' }],
    ] as const) {
      const form: Record<string, string> = { ...HARMLESS_BODY, confirm: 'confirm', email: ctx.company.users.user.email, password: PASSWORD }
      const response = await client.post(url, token === undefined ? { ...form, _csrf: '' } : { ...form, _csrf: token }, headers)
      t.equal(response.statusCode, 403, label)
      t.match(textOf(response.body), 'This form has expired or did not come from this site.', label)
    }
  })
}

t.test('cookies are HttpOnly and SameSite; Secure behind HTTPS', async (t) => {
  const client = new Client(ctx.app)
  await client.get('/login')
  const response = await ctx.app.inject({
    method: 'POST', url: '/login',
    headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
    payload: new URLSearchParams({ _csrf: client.csrfToken, email: ctx.company.users.user.email, password: PASSWORD }).toString(),
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
  t.match(response.body, '<meta name="htmx-config" content=\'{"includeIndicatorCSS": false}\'>', 'htmx adds no inline style')
})

t.test('sign-in is limited per account, with a clear message', async (t) => {
  const victim = ctx.company.users['read-only'].email
  let last
  for (let attempt = 0; attempt < 11; attempt++) {
    const client = new Client(ctx.app)
    await client.get('/login')
    last = await client.post('/login', { email: victim, password: `guess ${attempt}` })
  }
  t.equal(last!.statusCode, 429)
  t.match(textOf(last!.body), 'Too many sign-in attempts for this account. Wait a few minutes, then try again.')
})

t.test('sign-in is limited per address, whatever the account', async (t) => {
  let last
  for (let attempt = 0; attempt < 21; attempt++) {
    last = await ctx.app.inject({ method: 'POST', url: '/login', remoteAddress: '203.0.113.9', payload: `email=someone${attempt}@example.com&password=x`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  }
  t.equal(last!.statusCode, 429)
  t.match(textOf(last!.body), /Too many sign-in attempts from your address. Wait 1 minute, then try again./)
})
