import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, users } from '../../src/db/schema.js'
import { addUser } from '../../src/domain/users.js'
import { Client, hiddenFields, PASSWORD, setup, signedIn, textOf } from '../helpers.js'

/** The SQL of every statement sent, without its parameters: what work a request did. */
const statements: string[] = []
const ctx = await setup(t, { onQuery: (sql) => statements.push(sql) })
const admin = await signedIn(ctx.app, ctx.company.users.administrator)

t.test('an administrator adds a user of their company, who can then sign in with that role', async (t) => {
  const page = await admin.get('/settings/users')
  t.equal(page.statusCode, 200)
  t.match(textOf(page.body), ctx.company.users.manager.email)
  t.notMatch(textOf(page.body), ctx.other.users.manager.email, 'only their own company')
  const bad = await admin.post('/settings/users', {
    name: 'Eve',
    email: 'not-an-email',
    role: 'manager',
    password: 'short',
  })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'value="not-an-email"')
  t.match(bad.body, /id="field-email-error">Enter an email address/)
  t.match(bad.body, /id="field-password-error">Use at least 12 characters/)
  const added = await admin.post('/settings/users', {
    name: 'Eve Stone',
    email: 'eve@acme.test',
    role: 'manager',
    password: 'a long enough password',
  })
  t.equal(added.statusCode, 303)
  t.match(textOf((await admin.get('/settings/users')).body), 'Eve Stone is added as manager, with eve@acme.test.')
  const duplicate = await admin.post('/settings/users', {
    name: 'Eve Again',
    email: ' EVE@acme.test',
    role: 'user',
    password: 'a long enough password',
  })
  t.equal(duplicate.statusCode, 422)
  t.match(textOf(duplicate.body), 'Somebody in your company already has this email address.')
  const weak = await admin.post('/settings/users', {
    name: 'Weak',
    email: 'weak@acme.test',
    role: 'user',
    password: 'abababababab',
  })
  t.match(weak.body, /id="field-password-error">Use at least 5 different characters/)
  const eve = new Client(ctx.app)
  await eve.signIn('eve@acme.test', 'a long enough password')
  t.match(textOf((await eve.get('/connectors')).body), 'Eve Stone · manager')
})

t.test('roles can be changed, but the last administrator stays one', async (t) => {
  const [eve] = await ctx.db.select().from(users).where(eq(users.email, 'eve@acme.test'))
  t.equal(
    (await admin.post(`/settings/users/${eve!.id}/role`, { role: 'read-only', lockVersion: '1' })).statusCode,
    303,
  )
  const [after] = await ctx.db.select().from(users).where(eq(users.id, eve!.id))
  t.equal(after!.role, 'read-only')
  const self = await admin.post(`/settings/users/${ctx.company.users.administrator.id}/role`, {
    role: 'user',
    lockVersion: '1',
  })
  t.equal(self.statusCode, 422)
  t.match(textOf(self.body), 'is the only active administrator. Make somebody else an administrator first.')
})

t.test('only administrators reach the users page', async (t) => {
  for (const role of ['manager', 'user', 'read-only'] as const) {
    const client = await signedIn(ctx.app, ctx.company.users[role])
    t.equal((await client.get('/settings/users')).statusCode, 403, role)
  }
})

t.test(
  'adding a person tells nothing about other companies: an address used elsewhere looks like a new one',
  async (t) => {
    const elsewhere = ctx.other.users.manager
    const add = async (email: string) => {
      statements.length = 0
      const response = await admin.post('/settings/users', {
        name: 'Sam Lee',
        email,
        role: 'user',
        password: 'another long password',
      })
      const sql = [...statements]
      const page = await admin.get('/settings/users')
      return { response, sql, text: textOf(page.body).replaceAll(email, 'EMAIL') }
    }
    const fresh = await add('sam.lee@acme.test')
    const taken = await add(elsewhere.email)
    t.equal(taken.response.statusCode, fresh.response.statusCode, 'the same status')
    t.equal(fresh.response.statusCode, 303)
    t.equal(taken.response.headers.location, fresh.response.headers.location, 'the same next page')
    t.match(taken.text, 'Sam Lee is added as user, with EMAIL.', 'the same message')
    t.match(taken.text, /Sam Lee EMAIL Role of Sam Lee/, 'listed like anybody else')
    t.same(taken.sql, fresh.sql, 'the same statements, so no difference in work or time either')
    const [audit] = await ctx.db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.companyId, ctx.company.id),
          eq(auditEvents.summary, `added Sam Lee (${elsewhere.email}) as user`),
        ),
      )
    t.ok(audit, 'and the same audit entry')

    // The address keeps signing in where it did; the password set here opens nothing.
    const owner = new Client(ctx.app)
    await owner.signIn(elsewhere.email, PASSWORD)
    t.match(textOf((await owner.get('/connectors')).body), `${elsewhere.name} · manager`)
    const stranger = new Client(ctx.app, { address: '192.0.2.12' })
    await stranger.get('/login')
    t.equal(
      (await stranger.post('/login', { email: elsewhere.email, password: 'another long password' })).statusCode,
      422,
    )
    const sam = new Client(ctx.app)
    await sam.signIn('sam.lee@acme.test', 'another long password')
    t.match(
      textOf((await sam.get('/connectors')).body),
      'Sam Lee · user',
      'a new address signs in to the company that added it',
    )
  },
)

t.test('two companies adding one new address at once: both are listed, one account signs in with it', async (t) => {
  const email = 'shared.new@example.test'
  const input = { name: 'Pat Doe', email, role: 'user', password: 'a long enough password' }
  const [here, there] = await Promise.all([
    addUser(ctx.db, ctx.company.users.administrator, input),
    addUser(ctx.db, ctx.other.users.administrator, input),
  ])
  t.ok(here && there, 'both adds succeed')
  const rows = await ctx.db.select().from(users).where(eq(users.email, email))
  t.equal(rows.length, 2)
  t.equal(rows.filter((r) => r.signsIn).length, 1, 'one of them signs in')
})

t.test(
  "two administrators change one user's role: the first stays, the second gets 409 saying what it is now",
  async (t) => {
    const colleague = await signedIn(ctx.app, ctx.company.users.administrator)
    const person = ctx.company.users.user
    const action = `/settings/users/${person.id}/role`
    const [mine, theirs] = await Promise.all([admin.get('/settings/users'), colleague.get('/settings/users')])
    t.equal((await colleague.post(action, { ...hiddenFields(theirs.body, action), role: 'manager' })).statusCode, 303)
    const late = await admin.post(action, { ...hiddenFields(mine.body, action), role: 'read-only' })
    t.equal(late.statusCode, 409)
    t.match(
      late.body,
      new RegExp(
        `id="role-${person.id}-error">The role of ${person.name} was changed meanwhile: it is now manager. Yours was not saved; choose again if it is still needed.<`,
      ),
    )
    t.match(
      late.body,
      new RegExp(`id="role-${person.id}"[^>]*>[\\s\\S]*?<option value="read-only" selected>`),
      'the role chosen stays selected',
    )
    const [row] = await ctx.db.select().from(users).where(eq(users.id, person.id))
    t.equal(row!.role, 'manager', 'the first change survives')

    const again = await colleague.get('/settings/users')
    const [a, b] = await Promise.all([
      admin.post(action, { ...hiddenFields(late.body, action), role: 'user' }),
      colleague.post(action, { ...hiddenFields(again.body, action), role: 'read-only' }),
    ])
    t.same([a.statusCode, b.statusCode].sort(), [303, 409], 'two changes at once: one is saved, one refused')
  },
)

t.test('add user sent twice adds one user and answers the same', async (t) => {
  const page = await admin.get('/settings/users')
  const form = {
    ...hiddenFields(page.body, '/settings/users'),
    name: 'Finn Lake',
    email: 'finn@acme.test',
    role: 'user',
    password: 'a long enough password',
  }
  const [a, b] = await Promise.all([admin.post('/settings/users', form), admin.post('/settings/users', form)])
  t.same([a.statusCode, b.statusCode], [303, 303], 'no "already signs in" for the second')
  t.equal((await ctx.db.select().from(users).where(eq(users.email, 'finn@acme.test'))).length, 1)
})
