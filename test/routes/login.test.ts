import t from 'tap'
import { Writable } from 'node:stream'
import { count, eq } from 'drizzle-orm'
import { sessions } from '../../src/db/schema.js'
import { buildApp } from '../../src/app.js'
import { APP_ORIGIN, Client, PASSWORD, resolvesTo, setup, testConfig, textOf } from '../helpers.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
let addresses = 0
/** A client at an address of its own, so one test's failed sign-ins never limit another's. */
const newClient = () => new Client(ctx.app, { address: `198.51.100.${++addresses}` })

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
  const cookie = response.cookies.find((c: { name: string }) => c.name === 'sid') as
    { httpOnly?: boolean; sameSite?: string } | undefined
  t.ok(cookie?.httpOnly, 'the session cookie is HttpOnly')
  t.equal(cookie?.sameSite, 'Lax')
  const home = await client.get('/connectors')
  t.equal(home.statusCode, 200)
  t.match(textOf(home.body), `${admin.name} · administrator`)
})

t.test('refuses a wrong password with the email kept and the message shown', async (t) => {
  const client = newClient()
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
  const back = await client.post('/login', {
    email: admin.email,
    password: PASSWORD,
    next: '/marketplace?q=hub+spot&type=CRM#results',
  })
  t.equal(back.headers.location, '/marketplace?q=hub+spot&type=CRM#results')
  const other = new Client(ctx.app)
  await other.get('/login')
  const offsite = await other.post('/login', { email: admin.email, password: PASSWORD, next: '//evil.example/' })
  t.equal(offsite.headers.location, '/connectors')
})

// Values of `next` that must never take anybody off the site, as the app receives them (decoded
// once from the query or form): raw characters, and percent-encodings of them for a second decoding.
const HOSTILE_NEXT = [
  '/\t/evil.example',
  '/%09/evil.example',
  '/\n/evil.example',
  '/%0A/evil.example',
  '/\r/evil.example',
  '/\r\nSet-Cookie: sid=planted',
  '/%0d%0aSet-Cookie:%20sid=planted',
  '/connectors?q=%0d%0a',
  '/\\evil.example',
  '/%5Cevil.example',
  '/%5c%5cevil.example',
  '\\\\evil.example',
  '/\\/evil.example',
  '//evil.example',
  '///evil.example',
  '/%2F/evil.example',
  '/%2f%2fevil.example',
  '/%252F%252Fevil.example',
  'https://evil.example/',
  'https:evil.example',
  'http:/evil.example',
  'javascript:alert(1)',
  'evil.example',
  '/.//evil.example',
  '/connectors/../..//evil.example',
  '/\u00a0/evil.example',
  '/\u3000/evil.example',
  '/\u2028/evil.example',
  '/\u200b/evil.example',
  '/\u202e/elpmaxe.live',
  '/%E2%80%AE/elpmaxe.live',
  '/%C2%A0/evil.example',
  '/\u0085/evil.example',
  '/\u007f/evil.example',
  ' /connectors',
  '/%',
  '/%zz',
  `/${'x'.repeat(3000)}`,
  '/connectors\u0130\u00e9\ud83d\ude00\r\n',
]

/** A value as a test name can show it: ASCII only (the TAP stream breaks lines at U+2028). */
const shown = (value: string) =>
  JSON.stringify(value.slice(0, 40)).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )

async function signedInClient() {
  const client = newClient()
  await client.signIn(admin.email)
  return client
}

const sessionCount = async () =>
  (await ctx.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, admin.id)))[0]!.n

t.test(
  `${HOSTILE_NEXT.length} hostile values of next: never a 5xx, never off the site, always HTML, on GET and POST`,
  async (t) => {
    t.ok(HOSTILE_NEXT.length >= 25)
    const signedIn = await signedInClient()
    for (const next of HOSTILE_NEXT) {
      const label = shown(next)
      // GET /login while signed in sends straight on to next.
      const query = `/login?${new URLSearchParams({ next })}`
      const get = await signedIn.get(query)
      t.equal(get.statusCode, 303, `GET ${label}`)
      t.equal(get.headers.location, '/connectors', `GET ${label}: back to manage connectors`)
      t.equal(resolvesTo(String(get.headers.location)), APP_ORIGIN, `GET ${label}`)
      // Signed out, the sign-in page carries only a safe next.
      const visitor = newClient()
      const page = await visitor.get(query)
      t.equal(page.statusCode, 200, `GET ${label} signed out`)
      t.match(page.headers['content-type'], /^text\/html/, `GET ${label} signed out`)
      t.match(page.body, '<input type="hidden" name="next" value="/connectors">', `GET ${label} signed out`)
      // POST /login with next in the form: signed in, the cookie sent, back to manage connectors.
      const before = await sessionCount()
      const post = await visitor.post('/login', { email: admin.email, password: PASSWORD, next })
      t.equal(post.statusCode, 303, `POST ${label}`)
      t.equal(post.headers.location, '/connectors', `POST ${label}`)
      t.equal(resolvesTo(String(post.headers.location)), APP_ORIGIN, `POST ${label}`)
      t.ok(visitor.cookies.has('sid'), `POST ${label}: the session cookie is sent`)
      t.equal(await sessionCount(), before + 1, `POST ${label}: one session, the one whose cookie was sent`)
    }
  },
)

t.test('a page asked for while signed out comes back after sign-in only when it is a path of this site', async (t) => {
  for (const path of [
    '/connectors?q=a%0d%0aSet-Cookie:x',
    '/connectors/%2F%2Fevil.example',
    '/%5Cevil.example',
    '/marketplace?q=%E2%80%AE',
    '/process-flows?page=2',
  ]) {
    const visitor = newClient()
    const first = await visitor.get(path)
    t.ok(first.statusCode < 500, `${path}: ${first.statusCode}`)
    if (first.statusCode !== 303) continue
    const location = String(first.headers.location)
    t.equal(resolvesTo(location), APP_ORIGIN, `${path} → ${location}`)
    const htmx = await visitor.get(path, { 'hx-request': 'true', 'hx-request-type': 'partial' })
    t.equal(htmx.headers['hx-redirect'], location, `${path}: htmx is sent to the same place`)
    const login = await visitor.get(location)
    const next = /name="next" value="([^"]*)"/.exec(login.body)![1]!
    const signIn = await visitor.post('/login', {
      email: admin.email,
      password: PASSWORD,
      next: next.replace(/&amp;/g, '&'),
    })
    t.equal(
      resolvesTo(String(signIn.headers.location)),
      APP_ORIGIN,
      `${path}: after sign-in → ${signIn.headers.location}`,
    )
    if (path === '/process-flows?page=2')
      t.equal(signIn.headers.location, '/process-flows?page=2', 'a plain page comes back')
  }
})

t.test('one spelling of an address: padded, upper-case or full-width, it is one account to the limit', async (t) => {
  const victim = ctx.company.users.manager
  const attacker = newClient()
  await attacker.get('/login')
  for (let attempt = 0; attempt < 5; attempt++) {
    t.equal((await attacker.post('/login', { email: victim.email, password: `guess ${attempt}` })).statusCode, 422)
  }
  const fullWidth = [...victim.email]
    .map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
    .join('')
  const spellings = [
    victim.email,
    `  ${victim.email}  `,
    victim.email.toUpperCase(),
    `\u3000${victim.email}\u00a0`,
    fullWidth,
    ...Array.from({ length: 10 }, (_, i) => `${victim.email}${' '.repeat(320)}${i}`),
    ...Array.from({ length: 10 }, (_, i) => `${victim.email}${' '.repeat(i + 1)}`),
  ]
  for (const email of spellings) {
    // The right password: a spelling that escaped the limit would sign in.
    const response = await attacker.post('/login', { email, password: PASSWORD })
    t.not(response.statusCode, 303, `${shown(email)}… does not sign in`)
    t.ok([422, 429].includes(response.statusCode), `${response.statusCode}`)
  }
  t.notOk(attacker.cookies.has('sid'))
})

t.test('the email is trimmed, lower-cased and NFKC-normalised for the lookup', async (t) => {
  const fullWidth = [...admin.email.toUpperCase()]
    .map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
    .join('')
  const client = newClient()
  await client.get('/login')
  const response = await client.post('/login', { email: ` \u3000${fullWidth}\t`, password: PASSWORD })
  t.equal(response.statusCode, 303, 'full-width, padded, upper-case: the same account')
})

t.test(
  'an email over 254 characters or with control characters is refused beside the field, the value kept',
  async (t) => {
    const client = newClient()
    await client.get('/login')
    for (const [email, message] of [
      [`${'a'.repeat(250)}@x.example`, 'An email address has at most 254 characters.'],
      [`${'a'.repeat(5000)}@x.example`, 'An email address has at most 254 characters.'],
      ['admin\t@acme.example', 'An email address cannot contain control characters such as tabs or line breaks.'],
      [
        'admin@acme.example\r\nBcc: x',
        'An email address cannot contain control characters such as tabs or line breaks.',
      ],
      ['admin\u202e@acme.example', 'An email address cannot contain control characters such as tabs or line breaks.'],
    ] as const) {
      const response = await client.post('/login', { email, password: PASSWORD })
      t.equal(response.statusCode, 422, message)
      t.match(response.body, /aria-describedby="field-email-error"/)
      t.match(response.body, `<p class="field-error" id="field-email-error">${message}</p>`)
      t.match(response.body, `value="${email.slice(0, 60)}`, 'the value is kept')
    }
  },
)

t.test('the log names the address as it was looked up and counted', async (t) => {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const app = await buildApp({ config: testConfig(), database: ctx.database, logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const client = new Client(app, { address: '198.51.100.250' })
  await client.get('/login')
  await client.post('/login', { email: `  ${admin.email.toUpperCase()}  `, password: 'wrong password' })
  await client.post('/login', { email: `\u3000${admin.email.toUpperCase()}`, password: PASSWORD })
  t.match(
    lines.find((l) => l.msg === 'sign-in failed'),
    { email: admin.email },
  )
  t.match(
    lines.find((l) => l.msg === 'signed in'),
    { email: admin.email, userId: admin.id },
  )
})

t.test('a login form without its CSRF token is refused', async (t) => {
  const client = newClient()
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
