import t from 'tap'
import { Client, PASSWORD, setup, textOf } from '../helpers.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator

t.test('every page but the login page sends a signed-out visitor to sign in', async (t) => {
  const client = new Client(ctx.app)
  for (const url of ['/', '/connectors', '/marketplace', '/connectors/00000000-0000-4000-8000-000000000000/settings']) {
    const response = await client.get(url)
    t.equal(response.statusCode, 303, url)
    t.match(response.headers.location, /^\/login(\?next=|$)/, url)
  }
  const htmx = await client.get('/connectors', { 'hx-request': 'true', 'hx-request-type': 'partial' })
  t.equal(htmx.statusCode, 401, 'an htmx request is not redirected into a fragment')
  t.equal(htmx.headers['hx-redirect'], '/login?next=%2Fconnectors')
})

t.test('signs in with the right password and lands on manage connectors', async (t) => {
  const client = new Client(ctx.app)
  const page = await client.get('/login')
  t.equal(page.statusCode, 200)
  t.match(page.body, /<label for="field-email">Email<\/label>/)
  const response = await client.post('/login', { email: admin.email.toUpperCase(), password: PASSWORD })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/connectors')
  const cookie = response.cookies.find((c: { name: string }) => c.name === 'sid') as { httpOnly?: boolean; sameSite?: string } | undefined
  t.ok(cookie?.httpOnly, 'the session cookie is HttpOnly')
  t.equal(cookie?.sameSite, 'Lax')
  const home = await client.get('/connectors')
  t.equal(home.statusCode, 200)
  t.match(textOf(home.body), `${admin.name} · administrator`)
})

t.test('refuses a wrong password with the email kept and the message shown', async (t) => {
  const client = new Client(ctx.app)
  await client.get('/login')
  const response = await client.post('/login', { email: admin.email, password: 'wrong password' })
  t.equal(response.statusCode, 422)
  t.match(response.body, `value="${admin.email}"`)
  t.match(textOf(response.body), 'That email and password do not match an account.')
  t.notOk(client.cookies.has('sid'))
})

t.test('asks for a missing email beside the field', async (t) => {
  const client = new Client(ctx.app)
  await client.get('/login')
  const response = await client.post('/login', { email: '', password: '' })
  t.equal(response.statusCode, 422)
  t.match(response.body, /aria-describedby="field-email-error"/)
  t.match(response.body, /<p class="field-error" id="field-email-error">Enter your email address.<\/p>/)
})

t.test('goes back to the page that asked for sign-in, but never off the site', async (t) => {
  const client = new Client(ctx.app)
  await client.get('/login?next=%2Fmarketplace')
  const back = await client.post('/login', { email: admin.email, password: PASSWORD, next: '/marketplace' })
  t.equal(back.headers.location, '/marketplace')
  const other = new Client(ctx.app)
  await other.get('/login')
  const offsite = await other.post('/login', { email: admin.email, password: PASSWORD, next: '//evil.example/' })
  t.equal(offsite.headers.location, '/connectors')
})

t.test('a login form without its CSRF token is refused', async (t) => {
  const client = new Client(ctx.app)
  await client.get('/login')
  const response = await client.post('/login', { email: admin.email, password: PASSWORD, _csrf: 'forged' })
  t.equal(response.statusCode, 403)
  t.match(textOf(response.body), 'This form has expired or did not come from this site.')
})

t.test('signing out ends the session on the server', async (t) => {
  const client = new Client(ctx.app)
  await client.signIn(admin.email)
  const stolen = client.cookies.get('sid')!
  const out = await client.post('/logout')
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/login')
  const replay = await ctx.app.inject({ method: 'GET', url: '/connectors', headers: { cookie: `sid=${stolen}` } })
  t.equal(replay.statusCode, 303, 'the old session cookie no longer signs anybody in')
})

t.test('a session cookie planted before sign-in is replaced on sign-in', async (t) => {
  const victim = new Client(ctx.app)
  await victim.signIn(admin.email)
  const first = victim.cookies.get('sid')
  await victim.post('/logout')
  await victim.signIn(admin.email)
  t.not(victim.cookies.get('sid'), first)
})
