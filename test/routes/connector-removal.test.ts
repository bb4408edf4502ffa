import t from 'tap'
import { and, eq, isNull } from 'drizzle-orm'
import { auditEvents, connectorRevisions, connectors, instances, marketplaceConnectors } from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { removeConnector } from '../../src/domain/connectors.js'
import { createInstance } from '../../src/domain/instances.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { hiddenFields, setup, signedIn, testConfig, textOf } from '../helpers.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const manager = ctx.company.users.manager
const box = new SecretBox(testConfig().encryptionKey)
const [xeroEntry] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, 'xero'))

async function installXero() {
  const connector = await installConnector(ctx.db, admin, { marketplaceConnectorId: xeroEntry!.id })
  const [row] = await ctx.db.select().from(connectors).where(eq(connectors.id, connector.id))
  return { ...connector, definition: row!.definition }
}

function instanceInput(definition: Awaited<ReturnType<typeof installXero>>['definition'], name: string) {
  const method = definition.authMethods[0]!
  const values = Object.fromEntries([
    ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
    ...definition.variables.map((v) => [`var.${v.key}`, 'x']),
  ])
  return {
    name,
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'minute',
    authMethod: method.key,
    values,
  }
}

const client = await signedIn(ctx.app, manager)

t.test('cog → settings → trash → type confirm removes a connector without instances', async (t) => {
  const xero = await installXero()
  const list = await client.get('/connectors')
  t.match(list.body, `href="/connectors/${xero.id}/settings" aria-label="settings for Xero"`)
  const settings = await client.get(`/connectors/${xero.id}/settings`)
  t.match(
    settings.body,
    `href="/connectors/${xero.id}/delete" aria-label="remove connector"`,
    'the trash icon is a link with an accessible name',
  )
  t.match(settings.body, '<div id="removal"></div>')

  const page = await client.get(`/connectors/${xero.id}/delete`)
  t.match(page.body, /^<!doctype html>/, 'without JavaScript the trash link leads to a full page')
  const fragment = await client.get(`/connectors/${xero.id}/delete`, {
    'hx-request': 'true',
    'hx-request-type': 'partial',
  })
  t.match(fragment.body, /^<section class="removal" id="confirm-removal"/, 'with htmx, the same form as a fragment')
  for (const body of [page.body, fragment.body]) {
    t.match(body, /<label for="confirm-text">Type confirm to confirm that you wish to proceed<\/label>/)
    t.match(
      body,
      /<input id="confirm-text" name="confirm" type="text" value=""[^>]* autofocus>/,
      'focus goes to the text field',
    )
    t.match(body, `href="/connectors/${xero.id}/settings" data-cancel-removal>cancel</a>`)
  }

  for (const typed of ['', 'yes', 'confirmed', 'conf irm']) {
    const refused = await client.post(`/connectors/${xero.id}/delete`, { lockVersion: '1', confirm: typed })
    t.equal(refused.statusCode, 422, `"${typed}" is refused`)
    t.match(refused.body, /aria-describedby="confirm-text-error"/)
    t.match(textOf(refused.body), 'Type the word confirm to remove this connector. Nothing was removed.')
  }
  const htmxRefused = await client.post(
    `/connectors/${xero.id}/delete`,
    { lockVersion: '1', confirm: 'nope' },
    { 'hx-request': 'true', 'hx-request-type': 'partial' },
  )
  t.equal(htmxRefused.statusCode, 422)
  t.match(htmxRefused.body, /^<section class="removal"/, 'htmx gets the form back in place')
  t.match(htmxRefused.body, 'value="nope"', 'with the typed value kept')
  t.equal((await ctx.db.select().from(connectors).where(eq(connectors.id, xero.id))).length, 1, 'nothing removed')

  const removed = await client.post(`/connectors/${xero.id}/delete`, { lockVersion: '1', confirm: '  CONFIRM ' })
  t.equal(removed.statusCode, 303, 'case and surrounding spaces are forgiven')
  t.equal(removed.headers.location, '/connectors')
  const after = textOf((await client.get('/connectors')).body)
  t.match(after, 'The connector Xero was removed.')
  t.notMatch(after, 'settings for Xero')
  t.equal(
    (await ctx.db.select().from(connectorRevisions).where(eq(connectorRevisions.connectorId, xero.id))).length,
    0,
    'its revisions went with it',
  )
  const [event] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, xero.id), eq(auditEvents.action, 'remove')))
  t.equal(event!.actorId, manager.id, 'the audit log keeps who removed it')
  t.match(event!.summary, 'removed connector Xero')
  const gone = await client.get(`/connectors/${xero.id}/settings`)
  t.equal(gone.statusCode, 404, 'its settings are gone')
  t.match(
    textOf(gone.body),
    'There is nothing at this address: it may have been removed, or the link may be wrong.',
    'a 404 true of a connector just removed',
  )
  t.notMatch(textOf(gone.body), 'somebody else', 'and accusing nobody')
})

t.test('with htmx a successful removal loads manage connectors whole', async (t) => {
  const xero = await installXero()
  const removed = await client.post(
    `/connectors/${xero.id}/delete`,
    { lockVersion: '1', confirm: 'confirm' },
    { 'hx-request': 'true', 'hx-request-type': 'partial' },
  )
  t.equal(removed.statusCode, 200)
  t.equal(removed.headers['hx-redirect'], '/connectors')
})

t.test('a connector with instances is not removed: the page lists them, with links', async (t) => {
  const xero = await installXero()
  const first = await createInstance(ctx.db, admin, box, {
    connectorId: xero.id,
    ...instanceInput(xero.definition, 'Xero - UK'),
  })
  await createInstance(ctx.db, admin, box, { connectorId: xero.id, ...instanceInput(xero.definition, 'Xero - US') })
  const blocked = await client.post(`/connectors/${xero.id}/delete`, { lockVersion: '1', confirm: 'confirm' })
  t.equal(blocked.statusCode, 409)
  const text = textOf(blocked.body)
  t.match(text, 'The delete operation is cancelled')
  t.match(text, 'it still has instances. Remove these instances first, then try again.')
  t.match(blocked.body, `<a href="/instances/${first.id}/settings">Xero - UK</a>`)
  t.match(text, 'Xero - US')
  t.equal((await ctx.db.select().from(connectors).where(eq(connectors.id, xero.id))).length, 1)
  const fragment = await client.post(
    `/connectors/${xero.id}/delete`,
    { lockVersion: '1', confirm: 'confirm' },
    { 'hx-request': 'true', 'hx-request-type': 'partial' },
  )
  t.equal(fragment.statusCode, 409)
  t.match(fragment.body, /^<section class="removal"/)
})

t.test('an instance added at the same moment either blocks the removal or is refused: never an orphan', async (t) => {
  let removed = 0
  let blocked = 0
  for (let round = 0; round < 25; round++) {
    const xero = await installXero()
    const [removal, added] = await Promise.allSettled([
      removeConnector(ctx.db, manager, xero.id, { version: 1 }),
      createInstance(ctx.db, admin, box, { connectorId: xero.id, ...instanceInput(xero.definition, `Racer ${round}`) }),
    ])
    t.equal(removal.status, 'fulfilled', `round ${round}: removal answers`)
    if (removal.status === 'fulfilled' && removal.value.removed) {
      removed++
      t.equal(added.status, 'rejected', `round ${round}: the instance was refused`)
    } else {
      blocked++
      t.equal(added.status, 'fulfilled', `round ${round}: the removal was cancelled by the instance`)
    }
  }
  const orphans = await ctx.db
    .select({ id: instances.id })
    .from(instances)
    .leftJoin(connectors, eq(connectors.id, instances.connectorId))
    .where(isNull(connectors.id))
  t.equal(orphans.length, 0, 'no instance without its connector')
  t.equal(removed + blocked, 25)
})

t.test('a removed connector can be installed again from the marketplace', async (t) => {
  const xero = await installXero()
  await client.post(`/connectors/${xero.id}/delete`, { lockVersion: '1', confirm: 'confirm' })
  const again = await client.post(`/marketplace/${xeroEntry!.id}/install`, {})
  t.equal(again.statusCode, 303)
})

t.test('roles: a user or read-only user sees no trash icon and gets 403', async (t) => {
  const xero = await installXero()
  for (const role of ['user', 'read-only'] as const) {
    const other = await signedIn(ctx.app, ctx.company.users[role])
    t.notMatch((await other.get(`/connectors/${xero.id}/settings`)).body, 'remove connector', `${role}: no trash icon`)
    t.equal((await other.get(`/connectors/${xero.id}/delete`)).statusCode, 403)
    t.equal(
      (await other.post(`/connectors/${xero.id}/delete`, { lockVersion: '1', confirm: 'confirm' })).statusCode,
      403,
    )
  }
  t.equal((await ctx.db.select().from(connectors).where(eq(connectors.id, xero.id))).length, 1)
})

t.test("another company's connector answers 404, like a missing one", async (t) => {
  const xero = await installXero()
  const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
  const foreign = await outsider.post(`/connectors/${xero.id}/delete`, { lockVersion: '1', confirm: 'confirm' })
  const missing = await outsider.post('/connectors/00000000-0000-4000-8000-000000000000/delete', {
    lockVersion: '1',
    confirm: 'confirm',
  })
  t.equal(foreign.statusCode, 404)
  t.equal(textOf(foreign.body), textOf(missing.body))
  t.equal((await outsider.get(`/connectors/${xero.id}/delete`)).statusCode, 404)
  t.equal((await ctx.db.select().from(connectors).where(eq(connectors.id, xero.id))).length, 1)
})

t.test(
  'a removal prompt shown before a change of the connector is refused: nothing removed, the prompt shows it as it is now',
  async (t) => {
    const xero = await installXero()
    const prompt = await client.get(`/connectors/${xero.id}/delete`)
    const admins = await signedIn(ctx.app, admin)
    const settings = await admins.get(`/connectors/${xero.id}/settings`)
    const submission = /name="submission" value="([^"]+)"/.exec(settings.body)![1]!
    t.equal(
      (
        await admins.post(`/connectors/${xero.id}/endpoints/${xero.definition.endpoints[0]!.key}/delete`, {
          revision: '1',
          submission,
        })
      ).statusCode,
      303,
    )
    const late = await client.post(`/connectors/${xero.id}/delete`, {
      ...hiddenFields(prompt.body, `/connectors/${xero.id}/delete`),
      confirm: 'confirm',
    })
    t.equal(late.statusCode, 409)
    t.match(
      late.body,
      new RegExp(
        `id="confirm-text-error">${admin.name} saved a change to this connector meanwhile \\(revision 2\\)\\. Nothing was removed: check it below, and remove it again if it is still needed\\.<`,
      ),
    )
    t.match(late.body, '<input type="hidden" name="lockVersion" value="2">', 'the prompt is now based on their change')
    t.equal((await ctx.db.select().from(connectors).where(eq(connectors.id, xero.id))).length, 1, 'not removed')
    const again = await client.post(`/connectors/${xero.id}/delete`, {
      ...hiddenFields(late.body, `/connectors/${xero.id}/delete`),
      confirm: 'confirm',
    })
    t.equal(again.statusCode, 303, 'confirmed again from the refreshed prompt: removed')
  },
)

t.test('a removal sent twice removes once and answers like the first, never "not found"', async (t) => {
  const xero = await installXero()
  const prompt = await client.get(`/connectors/${xero.id}/delete`)
  const form = { ...hiddenFields(prompt.body, `/connectors/${xero.id}/delete`), confirm: 'confirm' }
  const [a, b] = await Promise.all([
    client.post(`/connectors/${xero.id}/delete`, form),
    client.post(`/connectors/${xero.id}/delete`, form),
  ])
  t.same([a.statusCode, b.statusCode], [303, 303])
  t.equal(b.headers.location, '/connectors')
  const events = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectId, xero.id), eq(auditEvents.action, 'remove')))
  t.equal(events.length, 1, 'removed once')
})
