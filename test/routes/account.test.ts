// Your account: change your own password, see your sessions and end them.
import t from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import { auditEvents, sessions } from '../../src/db/schema.js'
import { addUser } from '../../src/domain/users.js'
import { deviceInWords } from '../../src/domain/account.js'
import { Client, setup, textOf } from '../helpers.js'

const ctx = await setup(t)
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'
const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

let counter = 0
async function person() {
  const email = `account.${++counter}@acme.test`
  const user = await addUser(ctx.db, ctx.company.users.administrator, {
    name: `Account Person ${counter}`,
    email,
    role: 'read-only',
    password: 'the first password',
  })
  return { user, email }
}

/** Signs in from a browser and an address of its own. */
async function browser(email: string, password: string, userAgent: string, address: string) {
  const client = new Client(ctx.app, { address })
  await client.get('/login')
  const response = await client.post('/login', { email, password }, { 'user-agent': userAgent })
  if (response.statusCode !== 303) throw new Error(`sign-in failed: ${response.statusCode}`)
  return client
}

t.test('your name in the header opens your account, whatever your role', async (t) => {
  const { email } = await person()
  const client = await browser(email, 'the first password', FIREFOX, '192.0.2.1')
  const page = await client.get('/connectors')
  t.match(page.body, /<a href="\/account"[^>]*>Account Person \d+ · read-only<\/a>/)
  const account = await client.get('/account')
  t.equal(account.statusCode, 200)
  t.match(textOf(account.body), 'Change your password')
})

t.test('your sessions: device, address, last seen, this device; end one, or all but this one', async (t) => {
  const { user, email } = await person()
  const laptop = await browser(email, 'the first password', FIREFOX, '192.0.2.10')
  const phone = await browser(email, 'the first password', SAFARI, '192.0.2.11')
  const tablet = await browser(email, 'the first password', 'something odd', '192.0.2.12')
  const page = textOf((await laptop.get('/account')).body)
  t.match(page, /Firefox on Windows \(this device\) 192\.0\.2\.10/)
  t.match(page, /Safari on an iPhone 192\.0\.2\.11/)
  t.match(page, /An unknown browser 192\.0\.2\.12/)

  const [phoneSession] = await ctx.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, user.id), eq(sessions.ipAddress, '192.0.2.11')))
  const ended = await laptop.post('/account/sessions/end', { session: phoneSession!.id })
  t.equal(ended.statusCode, 303)
  t.match(textOf((await laptop.get('/account')).body), 'Your session on Safari on an iPhone has ended.')
  t.equal((await phone.get('/connectors')).statusCode, 303, 'that device is signed out at its next click')
  t.equal((await tablet.get('/connectors')).statusCode, 200, 'the others are not')

  const again = await laptop.post('/account/sessions/end', { session: phoneSession!.id })
  t.equal(again.statusCode, 303)
  t.match(textOf((await laptop.get('/account')).body), 'That session had already ended.')

  // Somebody else's session cannot be ended from your account.
  const other = await browser(ctx.company.users.manager.email, 'correct horse battery staple', FIREFOX, '192.0.2.13')
  const [managerSession] = await ctx.db.select().from(sessions).where(eq(sessions.userId, ctx.company.users.manager.id))
  await laptop.post('/account/sessions/end', { session: managerSession!.id })
  t.equal((await other.get('/connectors')).statusCode, 200, "another person's session is untouched")

  const everywhere = await laptop.post('/account/sessions/end-others')
  t.equal(everywhere.statusCode, 303)
  t.match(textOf((await laptop.get('/account')).body), 'You are signed out everywhere else: 1 session ended.')
  t.equal((await tablet.get('/connectors')).statusCode, 303, 'signed out everywhere else')
  t.equal((await laptop.get('/connectors')).statusCode, 200, 'but here')
  const events = await ctx.db.select().from(auditEvents).where(eq(auditEvents.actorId, user.id))
  t.same(events.map((e) => e.action).sort(), ['end other sessions', 'end session'], 'in the audit log')

  const [mine] = await ctx.db.select().from(sessions).where(eq(sessions.userId, user.id))
  const out = await laptop.post('/account/sessions/end', { session: mine!.id })
  t.equal(out.headers.location, '/login', 'ending this device signs you out')
  t.equal((await laptop.get('/connectors')).statusCode, 303)
})

t.test('change your password: the current one first; your other sessions end', async (t) => {
  const { user, email } = await person()
  const here = await browser(email, 'the first password', FIREFOX, '192.0.2.20')
  const elsewhere = await browser(email, 'the first password', SAFARI, '192.0.2.21')
  await here.get('/account')
  const empty = await here.post('/account/password', { current: '', password: '', confirm: '' })
  t.equal(empty.statusCode, 422)
  t.match(empty.body, /id="field-current-error">Enter your current password./)
  t.match(empty.body, /id="field-password-error">Use at least 12 characters/)
  const wrong = await here.post('/account/password', {
    current: 'not my password',
    password: 'my brand new password',
    confirm: 'my brand new password',
  })
  t.equal(wrong.statusCode, 422)
  t.match(wrong.body, /id="field-current-error">That is not your current password./)
  t.notMatch(wrong.body, 'my brand new password', 'passwords are never sent back')
  const mismatch = await here.post('/account/password', {
    current: 'the first password',
    password: 'my brand new password',
    confirm: 'my brand new passwort',
  })
  t.match(mismatch.body, /id="field-confirm-error">Type the same new password twice./)
  const done = await here.post('/account/password', {
    current: 'the first password',
    password: 'my brand new password',
    confirm: 'my brand new password',
  })
  t.equal(done.statusCode, 303)
  t.match(textOf((await here.get('/account')).body), 'Your password is changed. Your other session has ended.')
  t.equal((await elsewhere.get('/connectors')).statusCode, 303, 'the other session has ended')
  t.equal((await here.get('/connectors')).statusCode, 200, 'this one has not')
  const fresh = new Client(ctx.app, { address: '192.0.2.22' })
  await fresh.get('/login')
  t.equal((await fresh.post('/login', { email, password: 'the first password' })).statusCode, 422, 'old one')
  await fresh.signIn(email, 'my brand new password')
  const [event] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.actorId, user.id), eq(auditEvents.action, 'change password')))
  t.ok(event, 'in the audit log')
})

t.test('wrong current passwords count like failed sign-ins', async (t) => {
  const { email } = await person()
  const client = await browser(email, 'the first password', FIREFOX, '192.0.2.30')
  await client.get('/account')
  const attempt = (current: string) =>
    client.post('/account/password', { current, password: 'my brand new password', confirm: 'my brand new password' })
  for (let i = 0; i < 5; i++) await attempt(`wrong guess ${i}`)
  const limited = await attempt('the first password')
  t.equal(limited.statusCode, 422)
  t.match(limited.body, /id="field-current-error">Too many wrong passwords. Try again in \d+ minutes?./)
  const signIn = new Client(ctx.app, { address: '192.0.2.30' })
  await signIn.get('/login')
  t.equal(
    (await signIn.post('/login', { email, password: 'the first password' })).statusCode,
    429,
    'and sign-in from that address is limited too',
  )
})

t.test('last seen is written at most once a minute per session', async (t) => {
  const { user, email } = await person()
  const client = await browser(email, 'the first password', FIREFOX, '192.0.2.40')
  const lastSeen = async () =>
    (await ctx.db.select().from(sessions).where(eq(sessions.userId, user.id)))[0]!.lastSeenAt.getTime()
  await ctx.db
    .update(sessions)
    .set({ lastSeenAt: sql`now() - interval '30 seconds'` })
    .where(eq(sessions.userId, user.id))
  const recent = await lastSeen()
  await client.get('/connectors')
  t.equal(await lastSeen(), recent, 'not rewritten within the minute')
  await ctx.db
    .update(sessions)
    .set({ lastSeenAt: sql`now() - interval '5 minutes'` })
    .where(eq(sessions.userId, user.id))
  const old = await lastSeen()
  await client.get('/connectors')
  t.ok((await lastSeen()) > old, 'written again after it')
})

t.test('devices in plain words', async (t) => {
  t.equal(deviceInWords(FIREFOX), 'Firefox on Windows')
  t.equal(deviceInWords(SAFARI), 'Safari on an iPhone')
  t.equal(
    deviceInWords(
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
    ),
    'Edge on macOS',
  )
  t.equal(deviceInWords(null), 'An unknown device')
})
