// A write answered 503 may have been committed: the connection can drop after the database commits
// and before the app hears it. The page says so and links back to the form's page (built from the
// route's own, checked parameters only); every create form carries a one-time key, so sending it
// again does the work once and answers like the first.
import t from 'tap'
import { and, count, eq } from 'drizzle-orm'
import {
  connectionShapes,
  connectorDrafts,
  connectors,
  instances,
  marketplaceConnectors,
  processFlows,
  users,
} from '../../src/db/schema.js'
import { pageOfForm, SAVE_UNCONFIRMED } from '../../src/plugins/errors.js'
import { editDraft, saveBasicDetails, startDraft } from '../../src/domain/builder.js'
import { hiddenFields, setup, signedIn, textOf } from '../helpers.js'
import { addRefundsEndpoint, install, marketplaceEntry, publishNextVersion } from '../connector-fixtures.js'
import { buildWorld, fillRoute } from '../world.js'
import type { FastifyRequest } from 'fastify'

const ctx = await setup(t)
const world = await buildWorld(ctx, ctx.company)
const actor = ctx.company.users.administrator
const admin = await signedIn(ctx.app, actor)
const HTMX = { 'hx-request': 'true', 'hx-request-type': 'partial' }

/** The database commits each transaction, then the connection drops before the app hears back. */
async function answerLost<T>(work: () => Promise<T>): Promise<T> {
  const transaction = ctx.db.transaction
  ctx.db.transaction = (async (...args: Parameters<typeof transaction>) => {
    await transaction.apply(ctx.db, args)
    throw Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' })
  }) as typeof transaction
  try {
    return await work()
  } finally {
    ctx.db.transaction = transaction
  }
}

const rows = async (
  table:
    | typeof connectors
    | typeof instances
    | typeof processFlows
    | typeof connectionShapes
    | typeof users
    | typeof connectorDrafts,
) => (await ctx.db.select({ n: count() }).from(table).where(eq(table.companyId, ctx.company.id)))[0]!.n

const hubspot = await marketplaceEntry(ctx.db, 'hubspot')
const xero = (await ctx.db.select().from(connectors).where(eq(connectors.id, world.connectorId)))[0]!.definition
const xeroMethod = xero.authMethods[0]!
const completeDraft = await (async () => {
  const draft = await startDraft(ctx.db, actor)
  await saveBasicDetails(ctx.db, actor, {
    draftId: draft.id,
    version: 1,
    details: {
      name: 'Lost Answer ERP',
      version: 'v1',
      description: 'Ours.',
      systemType: 'ERP',
      colour: '#123456',
      protocol: 'HTTP',
      baseUrl: '',
      dateFormat: 'Y-m-d',
      rateLimitAmount: '5',
      rateLimitUnit: 'second',
    },
  })
  await editDraft(ctx.db, actor, {
    draftId: draft.id,
    step: 'auth-methods',
    version: 2,
    edit: {
      kind: 'authMethod',
      action: 'add',
      input: {
        key: 'api_key',
        name: 'API key',
        type: 'token',
        fields: [{ key: 'token', label: 'API token', secret: true, required: true, default: '' }],
      },
    },
  })
  await editDraft(ctx.db, actor, {
    draftId: draft.id,
    step: 'endpoints',
    version: 3,
    edit: {
      kind: 'endpoint',
      action: 'add',
      input: {
        key: 'get_bills',
        name: 'Get bills',
        entity: 'Bills',
        direction: 'receive',
        method: 'GET',
        url: '/bills',
        variables: [],
      },
    },
  })
  return draft.id
})()
const alongside = await (async () => {
  const klaviyo = await install(ctx.db, actor, 'klaviyo')
  await addRefundsEndpoint(ctx.db, actor, klaviyo.id)
  await publishNextVersion(ctx.db, 'klaviyo')
  return klaviyo.id
})()

interface CreateForm {
  what: string
  /** The page with the form, and the form's action. */
  page: string
  action: string
  fields?: Record<string, string>
  /** What the form creates, counted. */
  made: () => Promise<number>
}

const CREATE_FORMS: CreateForm[] = [
  {
    what: 'install',
    page: '/marketplace?q=hubspot',
    action: `/marketplace/${hubspot.id}/install`,
    made: () => rows(connectors),
  },
  {
    what: "add new instance (the wizard's save)",
    page: `/connectors/${world.connectorId}/instances/new`,
    action: `/connectors/${world.connectorId}/instances/new`,
    fields: {
      step: 'credentials',
      action: 'save',
      name: 'Xero - Lost answer',
      timeZone: 'UTC',
      dateFormat: 'Y-m-d',
      rateLimitAmount: '5',
      rateLimitUnit: 'minute',
      authMethod: xeroMethod.key,
      ...Object.fromEntries([
        ...xeroMethod.fields.map((f) => [`auth.${f.key}`, 'x']),
        ...xero.variables.map((v) => [`var.${v.key}`, 'x']),
      ]),
    },
    made: () => rows(instances),
  },
  {
    what: 'create process flow',
    page: '/process-flows',
    action: '/process-flows',
    fields: { name: 'Lost answer flow' },
    made: () => rows(processFlows),
  },
  {
    what: 'add connection shape',
    page: `/process-flows/${world.flowId}/shapes/new?instance=${world.instanceId}`,
    action: `/process-flows/${world.flowId}/shapes`,
    fields: { endpoint: world.endpointKey },
    made: () => rows(connectionShapes),
  },
  {
    what: 'add user',
    page: '/settings/users',
    action: '/settings/users',
    fields: { name: 'Lou Lost', email: 'lou@acme.test', role: 'user', password: 'a long enough password' },
    made: () => rows(users),
  },
  {
    what: 'build a new connector (start a draft)',
    page: '/builder',
    action: '/builder',
    made: () => rows(connectorDrafts),
  },
  {
    what: 'complete a draft',
    page: `/builder/drafts/${completeDraft}/complete`,
    action: `/builder/drafts/${completeDraft}/complete`,
    made: () => rows(connectors),
  },
  {
    what: 'install alongside',
    page: `/connectors/${alongside}/update`,
    action: `/connectors/${alongside}/install-alongside`,
    made: () => rows(connectors),
  },
]

for (const form of CREATE_FORMS) {
  t.test(`${form.what}: a lost answer says it may have been saved; sending the form again does it once`, async (t) => {
    const page = await admin.get(form.page)
    t.equal(page.statusCode, 200)
    const sent = { ...hiddenFields(page.body, form.action), ...form.fields }
    t.ok(sent.submission, 'the form carries a one-time key')
    const before = await form.made()
    const lost = await answerLost(() => admin.post(form.action, sent))
    t.equal(lost.statusCode, 503)
    t.match(textOf(lost.body), 'it may have been saved — check before you try again')
    const back = form.page.split('?')[0]!
    t.match(lost.body, `<a href="${back}">Check the page you came from</a>`, "a link back to the form's page")
    t.equal(await form.made(), before + 1, 'it was saved')

    const again = await admin.post(form.action, sent)
    t.equal(again.statusCode, 303, 'sent again: the answer the first would have had')
    t.equal(await form.made(), before + 1, 'done once')
  })
}

t.test('an edit form answered 503 is saved once too, and htmx gets the message where the form was', async (t) => {
  const url = `/instances/${world.instanceId}/settings`
  const page = await admin.get(url)
  const sent = {
    ...hiddenFields(page.body, url),
    name: 'Xero - UK (renamed)',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'minute',
  }
  const lost = await answerLost(() => admin.post(url, sent, HTMX))
  t.equal(lost.statusCode, 503)
  t.match(lost.body, /^<div class="error-message" role="alert">/, 'the fragment alone')
  t.match(textOf(lost.body), SAVE_UNCONFIRMED)
  t.match(lost.body, `<a href="${url}">`)
  const [saved] = await ctx.db.select().from(instances).where(eq(instances.id, world.instanceId))
  t.same([saved!.name, saved!.version], ['Xero - UK (renamed)', 2])
  const again = await admin.post(url, sent)
  t.equal(again.statusCode, 303, 'sent again from the same form: no conflict with itself')
  const [after] = await ctx.db.select().from(instances).where(eq(instances.id, world.instanceId))
  t.equal(after!.version, 2, 'saved once')
})

t.test('a page that could not be read keeps the plain message: nothing was being saved', async (t) => {
  const select = ctx.db.select
  ctx.db.select = (() => {
    throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
  }) as typeof select
  const response = await admin.get('/process-flows').finally(() => {
    ctx.db.select = select
  })
  t.equal(response.statusCode, 503)
  t.notMatch(textOf(response.body), 'may have been saved')
})

// Generated from the route table: every save has a page a user can go back to.
const saves = ctx.app.routeTable.filter((r) => r.method === 'POST' && r.permission)
for (const route of saves) {
  t.test(`POST ${route.url}: after a 503 the user is sent back to a page that exists`, async (t) => {
    const pattern = route.back ?? (ctx.app.hasRoute({ method: 'GET', url: route.url }) ? route.url : null)
    t.ok(pattern, "the form's own GET page, or the `back` it names")
    if (!pattern) return
    const post = fillRoute(route, world)
    const page = fillRoute({ url: pattern }, world)
    t.ok(
      pattern
        .split('/')
        .filter((s) => s.startsWith(':'))
        .every((p) => route.url.includes(p)),
      `${pattern} is filled from the save's own parameters`,
    )
    const response = await admin.get(page)
    // The page is there (it may say why it has nothing to do now, e.g. a merge with no update waiting).
    t.ok(response.statusCode < 500 && response.statusCode !== 404, `${post} → ${page}: ${response.statusCode}`)
  })
}

t.test('the link back is never built from unchecked input', async (t) => {
  const request = (params: Record<string, unknown>, url = '/instances/:id/settings', back?: string) =>
    ({ routeOptions: { url, config: { back } }, params, server: ctx.app }) as unknown as FastifyRequest
  t.equal(pageOfForm(request({ id: world.instanceId })), `/instances/${world.instanceId}/settings`)
  t.equal(
    pageOfForm(request({ id: world.instanceId }, '/instances/:id/authentication', '/instances/:id/settings')),
    `/instances/${world.instanceId}/settings`,
  )
  for (const hostile of ['//evil.example', '..', 'a/b', '%2F%2Fevil', 'x\ty', '<script>', '', 'a'.repeat(101)]) {
    t.equal(pageOfForm(request({ id: hostile })), null, JSON.stringify(hostile))
  }
  t.equal(pageOfForm(request({}, '/marketplace/:id/install')), null, 'no page: no link')
})

t.test('nothing of another company was touched', async (t) => {
  const theirs = await ctx.db
    .select({ n: count() })
    .from(connectors)
    .where(and(eq(connectors.companyId, ctx.other.id)))
  t.equal(theirs[0]!.n, 0)
  t.equal(
    (await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.name, 'Lost Answer ERP'))).length,
    1,
    'the draft was built once',
  )
})
