import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, sessions, users } from '../../src/db/schema.js'
import { addUser, authenticate, normaliseEmail, startSession, type SignInEmail } from '../../src/domain/users.js'
import { deactivateUser } from '../../src/domain/people.js'
import { createFlow } from '../../src/domain/flows.js'
import { Invalid } from '../../src/domain/errors.js'
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

/** A new person of the company, signed in, for a test of its own. */
async function newPerson(role: 'user' | 'administrator' | 'manager' = 'user', company = ctx.company) {
  const email = `${role}.${Math.random().toString(36).slice(2, 10)}@people.test`
  const person = await addUser(ctx.db, company.users.administrator, {
    name: `Person ${email.split('@')[0]}`,
    email,
    role,
    password: 'a long enough password',
  })
  const client = new Client(ctx.app)
  await client.signIn(email, 'a long enough password')
  return { person, client, email }
}

const sessionsOf = async (userId: string) => ctx.db.select().from(sessions).where(eq(sessions.userId, userId))
const rowForm = async (client: Client, action: string) =>
  hiddenFields((await client.get('/settings/users')).body, action)

t.test('deactivate: their open session ends at once, they cannot sign in, their name stays; reactivate', async (t) => {
  const { person, client, email } = await newPerson()
  // Something they did, so their name is on it.
  await createFlow(ctx.db, { ...person, companyId: ctx.company.id }, { name: `Flow of ${person.name}` })
  const action = `/settings/users/${person.id}/deactivate`
  const done = await admin.post(action, await rowForm(admin, action))
  t.equal(done.statusCode, 303)
  const page = textOf((await admin.get('/settings/users')).body)
  t.match(page, `${person.name} is deactivated: their sessions have ended and they cannot sign in.`)
  t.match(page, new RegExp(`${person.name} ${email} .*? deactivated reactivate ${person.name}`))
  t.same(await sessionsOf(person.id), [], 'their sessions are gone')
  const next = await client.get('/connectors')
  t.equal(next.statusCode, 303, 'their next click')
  t.match(next.headers.location, /^\/login/)
  const htmx = await client.get('/connectors', { 'hx-request': 'true' })
  t.equal(htmx.headers['hx-redirect'], '/login?next=%2Fconnectors', 'an htmx click leads to sign-in too')

  const again = new Client(ctx.app, { address: '192.0.2.40' })
  await again.get('/login')
  const refused = await again.post('/login', { email, password: 'a long enough password' })
  t.equal(refused.statusCode, 422)
  t.match(
    textOf(refused.body),
    'That email and password do not match an account.',
    'the same words as a wrong password',
  )
  const [row] = await ctx.db.select().from(users).where(eq(users.id, person.id))
  t.ok(row!.deactivatedAt, 'the person is kept')
  const [event] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.actorId, person.id), eq(auditEvents.action, 'create process flow')))
  t.ok(event, 'what they did still names them')
  const [deactivated] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, person.id), eq(auditEvents.action, 'deactivate user')))
  t.equal(deactivated!.actorId, ctx.company.users.administrator.id, 'in the audit log')

  const back = `/settings/users/${person.id}/reactivate`
  t.equal((await admin.post(back, await rowForm(admin, back))).statusCode, 303)
  t.match(textOf((await admin.get('/settings/users')).body), `${person.name} is active again and can sign in as user.`)
  await again.signIn(email, 'a long enough password')
  t.equal((await again.get('/connectors')).statusCode, 200, 'they sign in again')
})

t.test('nobody deactivates themselves; a stale form is refused saying what the person is now', async (t) => {
  const self = `/settings/users/${ctx.company.users.administrator.id}/deactivate`
  const refused = await admin.post(self, { lockVersion: '1' })
  t.equal(refused.statusCode, 422)
  t.match(textOf(refused.body), 'You cannot deactivate yourself')
  t.notMatch(refused.body, `action="${self}"`, 'no deactivate button for yourself')
  const { person } = await newPerson()
  const action = `/settings/users/${person.id}/deactivate`
  const form = await rowForm(admin, action)
  t.equal((await admin.post(action, form)).statusCode, 303)
  const stale = await admin.post(`/settings/users/${person.id}/reactivate`, form)
  t.equal(stale.statusCode, 409)
  t.match(textOf(stale.body), `${person.name} was changed meanwhile: they are now deactivated. Nothing was done`)
})

t.test('the last active administrator can be neither demoted nor deactivated, even by two at once', async (t) => {
  // The other company: its administrator and one more.
  const first = ctx.other.users.administrator
  const { person: second, client: secondClient } = await newPerson('administrator', ctx.other)
  const firstClient = await signedIn(ctx.app, first)
  const demoteSecond = `/settings/users/${second.id}/role`
  const demoteFirst = `/settings/users/${first.id}/role`
  // Both forms first, as two administrators with the page open would have them; then both at once.
  const [formOfFirst, formOfSecond] = [
    await rowForm(firstClient, demoteSecond),
    await rowForm(secondClient, demoteFirst),
  ]
  const [a, b] = await Promise.all([
    firstClient.post(demoteSecond, { ...formOfFirst, role: 'user' }),
    secondClient.post(demoteFirst, { ...formOfSecond, role: 'user' }),
  ])
  t.same([a.statusCode, b.statusCode].sort(), [303, 422], 'one demotion is refused')
  const activeAdmins = async () =>
    (await ctx.db.select().from(users).where(eq(users.companyId, ctx.other.id))).filter(
      (u) => u.role === 'administrator' && !u.deactivatedAt,
    )
  t.equal((await activeAdmins()).length, 1, 'one administrator left')

  // Make both administrators again, then both deactivate each other at once.
  const [left] = await activeAdmins()
  const demotedId = left!.id === first.id ? second.id : first.id
  const leftClient = left!.id === first.id ? firstClient : secondClient
  const promote = `/settings/users/${demotedId}/role`
  t.equal(
    (await leftClient.post(promote, { ...(await rowForm(leftClient, promote)), role: 'administrator' })).statusCode,
    303,
  )
  const [firstPage, secondPage] = await Promise.all([
    firstClient.get('/settings/users'),
    secondClient.get('/settings/users'),
  ])
  const offSecond = `/settings/users/${second.id}/deactivate`
  const offFirst = `/settings/users/${first.id}/deactivate`
  const [c, d] = await Promise.all([
    firstClient.post(offSecond, hiddenFields(firstPage.body, offSecond)),
    secondClient.post(offFirst, hiddenFields(secondPage.body, offFirst)),
  ])
  t.ok([c.statusCode, d.statusCode].includes(303), 'one deactivation is done')
  t.ok(
    [c.statusCode, d.statusCode].every((s) => s < 500),
    'no server error',
  )
  t.equal((await activeAdmins()).length, 1, 'still one active administrator')

  // A page read while still an administrator: the domain refuses by the rows as they are now.
  const [survivor] = await activeAdmins()
  const formerActor = survivor!.id === first.id ? second : first
  await t.rejects(
    deactivateUser(ctx.db, { ...formerActor, companyId: ctx.other.id, role: 'administrator' }, survivor!.id, {
      version: survivor!.version,
    }),
    new Invalid({
      '': `${survivor!.name} is the only active administrator. Make somebody else an administrator first.`,
    }),
  )
})

t.test('remove: only a person who never did anything; anybody else is refused with the reason', async (t) => {
  const { person: busy } = await newPerson()
  await createFlow(ctx.db, { ...busy, companyId: ctx.company.id }, { name: `Flow by ${busy.name}` })
  const busyAction = `/settings/users/${busy.id}/remove`
  const prompt = await admin.get(busyAction)
  t.equal(prompt.statusCode, 200)
  t.match(textOf(prompt.body), `User ${busy.name} cannot be removed`, 'said before anything is typed')
  t.match(textOf(prompt.body), `${busy.name} cannot be removed: the audit log names them for 1 change.`)
  t.notMatch(prompt.body, 'name="confirm"', 'no box to type confirm in: it would be refused')

  // Somebody who does something between the prompt and the removal is refused all the same.
  const { person: late } = await newPerson()
  const lateAction = `/settings/users/${late.id}/remove`
  const latePrompt = await admin.get(lateAction)
  t.match(textOf(latePrompt.body), `Remove user ${late.name}?`)
  const wrong = await admin.post(lateAction, { ...hiddenFields(latePrompt.body, lateAction), confirm: 'yes' })
  t.equal(wrong.statusCode, 422)
  await createFlow(ctx.db, { ...late, companyId: ctx.company.id }, { name: `Flow by ${late.name}` })
  const refused = await admin.post(lateAction, { ...hiddenFields(latePrompt.body, lateAction), confirm: 'confirm' })
  t.equal(refused.statusCode, 409)
  t.match(textOf(refused.body), `${late.name} cannot be removed: the audit log names them for 1 change.`)
  t.match(textOf(refused.body), `To stop ${late.name} signing in, deactivate them on the users page instead.`)
  t.equal((await ctx.db.select().from(users).where(eq(users.id, late.id))).length, 1, 'still there')

  const { person: idle } = await newPerson()
  const action = `/settings/users/${idle.id}/remove`
  const page = await admin.get(action)
  t.match(textOf(page.body), `Remove user ${idle.name}?`)
  const removed = await admin.post(action, { ...hiddenFields(page.body, action), confirm: 'confirm' })
  t.equal(removed.statusCode, 303)
  t.match(textOf((await admin.get('/settings/users')).body), `The user ${idle.name} was removed.`)
  t.same(await ctx.db.select().from(users).where(eq(users.id, idle.id)), [], 'gone')
  t.same(await sessionsOf(idle.id), [], 'with their sessions')
  const [event] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, idle.id), eq(auditEvents.action, 'remove user')))
  t.ok(event, 'in the audit log')

  const self = `/settings/users/${ctx.company.users.administrator.id}/remove`
  const selfPage = await admin.get(self)
  t.match(textOf(selfPage.body), 'cannot be removed: it is you.', 'said beforehand')
  t.notMatch(selfPage.body, 'name="confirm"')
})

t.test('reset password: shown once, their sessions end, and they must choose a new one at next sign-in', async (t) => {
  const { person, client, email } = await newPerson()
  const action = `/settings/users/${person.id}/password`
  const prompt = await admin.get(action)
  t.equal(prompt.statusCode, 200)
  t.match(textOf(prompt.body), `Reset the password of ${person.name}?`)
  const reset = await admin.post(action, hiddenFields(prompt.body, action))
  t.equal(reset.statusCode, 200)
  t.equal(reset.headers['cache-control'], 'no-store', 'never cached')
  const password = /<code id="generated-password">([^<]+)<\/code>/.exec(reset.body)![1]!
  t.match(password, /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/)
  const [row] = await ctx.db.select().from(users).where(eq(users.id, person.id))
  t.notMatch(row!.passwordHash, password, 'only its hash is stored')
  t.notMatch((await admin.get('/settings/users')).body, password, 'not shown again')
  t.match(textOf((await admin.get('/settings/users')).body), 'must choose a new password')
  t.equal((await client.get('/connectors')).statusCode, 303, 'their session has ended')

  const fresh = new Client(ctx.app, { address: '192.0.2.41' })
  await fresh.get('/login')
  t.equal((await fresh.post('/login', { email, password: 'a long enough password' })).statusCode, 422, 'old one')
  await fresh.signIn(email, password)
  const anywhere = await fresh.get('/process-flows')
  t.equal(anywhere.statusCode, 303)
  t.equal(anywhere.headers.location, '/account/new-password', 'every page leads to choosing a new password')
  const post = await fresh.post('/account/sessions/end-others')
  t.equal(post.headers.location, '/account/new-password', 'every form too')
  const form = await fresh.get('/account/new-password')
  t.equal(form.statusCode, 200)
  const weak = await fresh.post('/account/new-password', { password: 'short', confirm: 'short' })
  t.equal(weak.statusCode, 422)
  t.match(weak.body, /id="field-password-error">Use at least 12 characters/)
  const mismatch = await fresh.post('/account/new-password', { password: 'my very own password', confirm: 'other' })
  t.match(mismatch.body, /id="field-confirm-error">Type the same new password twice./)
  const chosen = await fresh.post('/account/new-password', {
    password: 'my very own password',
    confirm: 'my very own password',
  })
  t.equal(chosen.statusCode, 303)
  t.equal((await fresh.get('/process-flows')).statusCode, 200, 'then everything opens')
  t.equal((await fresh.get('/account/new-password')).statusCode, 303, 'and the form is done with')
  const later = new Client(ctx.app, { address: '192.0.2.42' })
  await later.signIn(email, 'my very own password')
  t.equal((await later.get('/connectors')).statusCode, 200)

  const self = `/settings/users/${ctx.company.users.administrator.id}/password`
  const selfPrompt = await admin.get(self)
  const selfRefused = await admin.post(self, hiddenFields(selfPrompt.body, self))
  t.equal(selfRefused.statusCode, 422)
  t.match(textOf(selfRefused.body), 'Change your own password on your account page')
})

t.test(
  'a sign-in whose password was reset, or whose person was deactivated, after the check gets no session',
  async (t) => {
    // The sign-in route checks the password, then starts the session: a reset in between must win.
    const signInEmail = (email: string) => (normaliseEmail(email) as { email: SignInEmail }).email
    for (const [what, act] of [
      ['reset', (id: string) => `/settings/users/${id}/password`],
      ['deactivate', (id: string) => `/settings/users/${id}/deactivate`],
    ] as const) {
      const { person, email } = await newPerson()
      const checked = await authenticate(ctx.db, signInEmail(email), 'a long enough password')
      t.ok(checked, `${what}: the password is right when checked`)
      const action = act(person.id)
      const fields =
        what === 'reset' ? hiddenFields((await admin.get(action)).body, action) : await rowForm(admin, action)
      t.equal((await admin.post(action, fields)).statusCode, what === 'reset' ? 200 : 303, `${what} done`)
      const before = (await sessionsOf(person.id)).length
      t.equal(await startSession(ctx.db, checked!), null, `${what}: then no session starts`)
      t.equal((await sessionsOf(person.id)).length, before, `${what}: and none is stored`)
    }
    const { email } = await newPerson()
    const checked = await authenticate(ctx.db, signInEmail(email), 'a long enough password')
    t.type(await startSession(ctx.db, checked!), 'string', 'untouched, the session starts')
  },
)
