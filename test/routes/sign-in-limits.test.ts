// Sign-in limits: only failures count; tight per account and address, looser per account, and per
// address whatever the account; kept in PostgreSQL, so app instances on one database share them
// and a restart keeps them; the client's address comes from X-Forwarded-For only when TRUST_PROXY says so.
import t from 'tap'
import { eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { parseTrustProxy } from '../../src/config.js'
import { signInFailures } from '../../src/db/schema.js'
import { createUser } from '../../src/domain/users.js'
import { SIGN_IN_LIMITS } from '../../src/domain/sign-in-limits.js'
import { Client, PASSWORD, setup, testConfig, textOf } from '../helpers.js'

const ctx = await setup(t)
const PAIR = SIGN_IN_LIMITS['account and address'].max
const ACCOUNT = SIGN_IN_LIMITS.account.max
const ADDRESS = SIGN_IN_LIMITS.address.max

let people = 0
/** A fresh account, so each test starts with nothing counted. */
async function person(): Promise<string> {
  const email = `person${++people}@limits.test`
  await createUser(ctx.db, {
    companyId: ctx.company.id,
    email,
    name: `Person ${people}`,
    role: 'user',
    password: PASSWORD,
  })
  return email
}
let addresses = 0
const newAddress = () => `203.0.113.${++addresses}`

async function attempt(
  app: FastifyInstance,
  address: string,
  email: string,
  password: string,
  headers: Record<string, string> = {},
) {
  const client = new Client(app, { address })
  await client.get('/login')
  return client.post('/login', { email, password }, headers)
}

t.test('a successful sign-in never counts, and forgets the failures of that account from that address', async (t) => {
  const email = await person()
  const address = newAddress()
  for (let i = 0; i < PAIR + 3; i++)
    t.equal((await attempt(ctx.app, address, email, PASSWORD)).statusCode, 303, `sign-in ${i + 1}`)
  for (let i = 0; i < PAIR - 1; i++) t.equal((await attempt(ctx.app, address, email, 'wrong')).statusCode, 422)
  t.equal(
    (await attempt(ctx.app, address, email, PASSWORD)).statusCode,
    303,
    'the right password, just under the limit',
  )
  for (let i = 0; i < PAIR; i++)
    t.equal((await attempt(ctx.app, address, email, 'wrong')).statusCode, 422, `failure ${i + 1} after the reset`)
  t.equal(
    (await attempt(ctx.app, address, email, PASSWORD)).statusCode,
    429,
    'then the limit holds, even for the right password',
  )
})

t.test(
  'after too many failures from one address, the sign-in page says how long to wait, with the form, as 429',
  async (t) => {
    const email = await person()
    const address = newAddress()
    for (let i = 0; i < PAIR; i++) await attempt(ctx.app, address, email, `guess ${i}`)
    const refused = await attempt(ctx.app, address, email, PASSWORD)
    t.equal(refused.statusCode, 429)
    t.match(refused.headers['content-type'], /^text\/html/)
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(
      retryAfter > SIGN_IN_LIMITS['account and address'].windowSeconds - 60 &&
        retryAfter <= SIGN_IN_LIMITS['account and address'].windowSeconds,
      `Retry-After: ${retryAfter}`,
    )
    t.match(
      textOf(refused.body),
      'Too many failed sign-ins for this account from your address. Try again in 15 minutes.',
    )
    t.match(refused.body, /<form method="post" action="\/login"/, 'the form is there')
    t.match(refused.body, `value="${email}"`, 'with the email kept')
    // Near the end of the window, the page says so.
    await ctx.db
      .update(signInFailures)
      .set({ windowEndsAt: sql`date_trunc('second', now()) + interval '61 seconds'` })
      .where(eq(signInFailures.key, `account and address:${address}|${email}`))
    t.match(textOf((await attempt(ctx.app, address, email, PASSWORD)).body), 'Try again in 2 minutes.')
    await ctx.db
      .update(signInFailures)
      .set({ windowEndsAt: sql`date_trunc('second', now()) + interval '20 seconds'` })
      .where(eq(signInFailures.key, `account and address:${address}|${email}`))
    t.match(textOf((await attempt(ctx.app, address, email, PASSWORD)).body), 'Try again in 1 minute.')
    // Once the window is over, the right password signs in again.
    await ctx.db
      .update(signInFailures)
      .set({ windowEndsAt: sql`now() - interval '1 second'` })
      .where(eq(signInFailures.key, `account and address:${address}|${email}`))
    t.equal((await attempt(ctx.app, address, email, PASSWORD)).statusCode, 303)
  },
)

t.test('one attacker at one address cannot lock the account out for anybody else', async (t) => {
  const email = await person()
  const attacker = newAddress()
  // Ten wrong passwords every few minutes, as in the review: the attacker's address is refused...
  for (let i = 0; i < ACCOUNT + 10; i++) await attempt(ctx.app, attacker, email, `guess ${i}`)
  t.equal((await attempt(ctx.app, attacker, email, PASSWORD)).statusCode, 429, 'the attacker is refused')
  // ...the owner, elsewhere, is not.
  t.equal(
    (await attempt(ctx.app, newAddress(), email, PASSWORD)).statusCode,
    303,
    'the owner signs in from their own address',
  )
})

t.test('guessing one account from many addresses is limited per account', async (t) => {
  const email = await person()
  let failures = 0
  while (failures < ACCOUNT) {
    const address = newAddress()
    for (let i = 0; i < PAIR && failures < ACCOUNT; i++, failures++)
      t.equal((await attempt(ctx.app, address, email, `guess ${failures}`)).statusCode, 422)
  }
  const refused = await attempt(ctx.app, newAddress(), email, PASSWORD)
  t.equal(refused.statusCode, 429)
  t.match(textOf(refused.body), /Too many failed sign-ins for this account\. Try again in 15 minutes\./)
})

t.test('guessing many accounts from one address is limited per address', async (t) => {
  const address = newAddress()
  for (let i = 0; i < ADDRESS; i++)
    t.equal((await attempt(ctx.app, address, `nobody${i}@limits.test`, 'x')).statusCode, 422)
  const refused = await attempt(ctx.app, address, await person(), PASSWORD)
  t.equal(refused.statusCode, 429)
  t.match(textOf(refused.body), 'Too many failed sign-ins from your address. Try again in 15 minutes.')
  t.equal(
    (await attempt(ctx.app, newAddress(), `nobody0@limits.test`, 'x')).statusCode,
    422,
    'other addresses are not affected',
  )
})

t.test('guesses sent at once are counted before any is checked: no more than the limit gets through', async (t) => {
  const email = await person()
  const address = newAddress()
  const clients = await Promise.all(
    Array.from({ length: PAIR * 4 }, async () => {
      const client = new Client(ctx.app, { address })
      await client.get('/login')
      return client
    }),
  )
  const answers = await Promise.all(
    clients.map((client, i) => client.post('/login', { email, password: `guess ${i}` })),
  )
  const checked = answers.filter((a) => a.statusCode === 422).length
  t.equal(checked, PAIR, `${PAIR} passwords checked, the rest refused`)
  t.equal(answers.filter((a) => a.statusCode === 429).length, PAIR * 3)
})

t.test("two app instances on one database share one account's counter, and a restart keeps it", async (t) => {
  const email = await person()
  const address = newAddress()
  const first = await buildApp({ config: testConfig(), database: ctx.database })
  const second = await buildApp({ config: testConfig(), database: ctx.database })
  t.teardown(() => second.close())
  for (let i = 0; i < PAIR; i++)
    t.equal((await attempt(i % 2 ? first : second, address, email, `guess ${i}`)).statusCode, 422)
  t.equal((await attempt(first, address, email, PASSWORD)).statusCode, 429, 'the first instance refuses')
  t.equal((await attempt(second, address, email, PASSWORD)).statusCode, 429, 'so does the second')
  await first.close()
  const restarted = await buildApp({ config: testConfig(), database: ctx.database })
  t.teardown(() => restarted.close())
  t.equal((await attempt(restarted, address, email, PASSWORD)).statusCode, 429, 'and an instance started afterwards')
})

t.test('expired counters are removed as attempts come in', async (t) => {
  await ctx.db.insert(signInFailures).values(
    Array.from({ length: 20 }, (_, i) => ({
      key: `account:expired${i}@limits.test`,
      failures: 3,
      windowEndsAt: sql`now() - interval '1 minute'`,
    })),
  )
  await attempt(ctx.app, newAddress(), await person(), 'wrong')
  const left = await ctx.db
    .select()
    .from(signInFailures)
    .where(sql`${signInFailures.windowEndsAt} < now()`)
  t.same(left, [], 'no expired counter is left')
})

t.test('in production X-Forwarded-For is not trusted unless TRUST_PROXY says so', async (t) => {
  const production = await buildApp({ config: testConfig({ production: true }), database: ctx.database })
  t.teardown(() => production.close())
  const socket = newAddress()
  let last
  for (let i = 0; i <= ADDRESS; i++) {
    last = await attempt(production, socket, `spoofer${i}@limits.test`, 'x', { 'x-forwarded-for': `192.0.2.${i}` })
  }
  t.equal(last!.statusCode, 429, 'a client choosing its own X-Forwarded-For is still one address')
  t.match(textOf(last!.body), 'Too many failed sign-ins from your address.')

  const proxied = await buildApp({
    config: testConfig({ production: true, trustProxy: parseTrustProxy('1') }),
    database: ctx.database,
  })
  t.teardown(() => proxied.close())
  const proxy = newAddress()
  const client = newAddress()
  for (let i = 0; i < ADDRESS; i++)
    await attempt(proxied, proxy, `proxied${i}@limits.test`, 'x', { 'x-forwarded-for': `spoofed-by-client, ${client}` })
  t.equal(
    (await attempt(proxied, proxy, 'proxied@limits.test', 'x', { 'x-forwarded-for': client })).statusCode,
    429,
    'behind one proxy, the address it saw is counted',
  )
  t.equal(
    (await attempt(proxied, proxy, 'proxied@limits.test', 'x', { 'x-forwarded-for': newAddress() })).statusCode,
    422,
    'another client behind the same proxy is not limited',
  )

  const listed = await buildApp({
    config: testConfig({ production: true, trustProxy: parseTrustProxy(`${proxy}, 10.0.0.0/8`) }),
    database: ctx.database,
  })
  t.teardown(() => listed.close())
  t.equal(
    (await attempt(listed, proxy, 'listed@limits.test', 'x', { 'x-forwarded-for': client })).statusCode,
    429,
    'a listed proxy is trusted',
  )
  t.equal(
    (await attempt(listed, newAddress(), 'listed@limits.test', 'x', { 'x-forwarded-for': client })).statusCode,
    422,
    'an unlisted peer is its own address, whatever it forwards',
  )
})
