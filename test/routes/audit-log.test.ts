// settings > audit log: every role reads its own company's log, newest first, filtered and paged,
// with links to what each entry changed and the revision it made; the same log downloads as CSV.
// Nothing changes or removes an entry: no route, and the database refuses it.
import t from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import { auditEvents, users } from '../../src/db/schema.js'
import { recordEvent } from '../../src/domain/audit.js'
import { ROLES } from '../../src/domain/enums.js'
import { AUDIT_PAGE_SIZE } from '../../src/domain/audit-log.js'
import { createFlow, removeFlow } from '../../src/domain/flows.js'
import { createUser } from '../../src/domain/users.js'
import { csvLine } from '../../src/routes/audit-log.js'
import { addRefundsEndpoint, install } from '../connector-fixtures.js'
import { setup, signedIn, textOf } from '../helpers.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator
const manager = ctx.company.users.manager
const clients = Object.fromEntries(
  await Promise.all(ROLES.map(async (role) => [role, await signedIn(ctx.app, ctx.company.users[role])] as const)),
)
const reader = clients['read-only']!

// A connector installed (revision 1) and modified by the manager (revision 2); a flow created then removed.
const shopify = await install(ctx.db, admin, 'shopify')
await addRefundsEndpoint(ctx.db, manager, shopify.id)
const gone = await createFlow(ctx.db, admin, { name: 'Old invoices' })
await removeFlow(ctx.db, admin, gone.id, { version: 1 })
// The other company's work, which must never show.
const theirs = await install(ctx.db, ctx.other.users.administrator, 'xero')
await createFlow(ctx.db, ctx.other.users.administrator, { name: 'Their secret flow' })

const rowsOf = (html: string) => [...html.matchAll(/<tr>\s*<td><time[\s\S]*?<\/tr>/g)].map((m) => textOf(m[0]))

t.test('every role, read-only too, finds the audit log under settings and reads it, newest first', async (t) => {
  for (const role of ROLES) {
    const page = await clients[role]!.get('/connectors')
    t.match(page.body, 'href="/settings/audit-log"', `${role}: audit log in the navigation`)
  }
  const page = await reader.get('/settings/audit-log')
  t.equal(page.statusCode, 200)
  const rows = rowsOf(page.body)
  t.equal(rows.length, 4, 'install, modify, create and remove process flow')
  t.match(rows[0], /administrator of Acme Retail remove process flow removed process flow Old invoices/)
  t.match(rows[0], 'process flow removed', 'a removed subject says so')
  t.match(rows[2], /manager of Acme Retail modify changed Shopify \(revision 2\)/)
  t.match(rows[3], /administrator of Acme Retail install installed Shopify/)
  t.notMatch(textOf(page.body), /Xero|Their secret flow|Other Company/, "never another company's entries")
  t.match(page.body, `href="/connectors/${shopify.id}/settings">open connector`, 'links to the thing')
  t.match(page.body, `href="/connectors/${shopify.id}/revisions/2">revision 2`, 'and to the revision it made')
  t.match(page.body, `href="/connectors/${shopify.id}/revisions/1">revision 1`, 'installing made revision 1')
  t.notMatch(page.body, /<form[^>]*method="post"[^>]*action="\/settings\/audit-log/, 'no form changes the log')
})

t.test('filters: by person, by action, by dates, by connector; the form keeps them', async (t) => {
  const byPerson = await reader.get(`/settings/audit-log?person=${manager.id}`)
  t.same(
    rowsOf(byPerson.body).map((r) => r.includes('modify')),
    [true],
  )
  t.match(byPerson.body, new RegExp(`<option value="${manager.id}" selected>`), 'the person stays chosen')
  const byAction = await reader.get('/settings/audit-log?action=install')
  t.equal(rowsOf(byAction.body).length, 1)
  t.match(byAction.body, '<option value="install" selected>')
  const today = new Date().toISOString().slice(0, 10)
  t.equal(rowsOf((await reader.get(`/settings/audit-log?from=${today}&to=${today}`)).body).length, 4, 'today')
  const past = await reader.get('/settings/audit-log?from=2020-01-01&to=2020-12-31')
  t.equal(rowsOf(past.body).length, 0)
  t.match(textOf(past.body), 'No entries match these filters.')
  t.match(past.body, 'value="2020-01-01"')
  const byConnector = await reader.get(`/settings/audit-log?connector=${shopify.id}`)
  t.equal(rowsOf(byConnector.body).length, 2, 'install and modify of Shopify only')
  t.match(textOf(byConnector.body), 'Showing the log of connector Shopify only.')
  t.match(byConnector.body, `<input type="hidden" name="connector" value="${shopify.id}">`, 'the filter is kept')
  const byFlow = await reader.get(`/settings/audit-log?flow=${gone.id}`)
  t.equal(rowsOf(byFlow.body).length, 2, "a removed flow's log is still there")
  t.match(textOf(byFlow.body), 'Showing the log of process flow (removed) only.')
  const combined = await reader.get(`/settings/audit-log?connector=${shopify.id}&action=modify&person=${admin.id}`)
  t.equal(rowsOf(combined.body).length, 0, 'filters combine')
})

t.test('a filter that cannot be one: 422, the form again with the value kept and the message beside it', async (t) => {
  const bad = await reader.get('/settings/audit-log?from=2026-02-30&action=fly')
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'value="2026-02-30"')
  t.match(bad.body, /aria-describedby="audit-from-error" aria-invalid="true"/)
  t.match(bad.body, /id="audit-from-error">Enter a date as year-month-day/)
  t.match(bad.body, /id="audit-action-error">Choose an action from the list./)
  const backwards = await reader.get('/settings/audit-log?from=2026-03-02&to=2026-03-01')
  t.equal(backwards.statusCode, 422)
  t.match(backwards.body, /id="audit-to-error">The end date must not be before the start date./)
  const partial = await reader.get('/settings/audit-log?person=nobody', {
    'hx-request': 'true',
    'hx-request-type': 'partial',
  })
  t.equal(partial.statusCode, 422, 'htmx gets the fragment with the message, swapped in place')
  t.match(partial.body, /^<div id="audit-log">/)
  t.match(partial.body, /id="audit-person-error">Choose a person from the list./)
  const csv = await reader.get('/settings/audit-log.csv?to=yesterday')
  t.equal(csv.statusCode, 422, 'the download is refused too')
})

t.test("another company's connector answers exactly like a missing one: nothing", async (t) => {
  const foreign = await reader.get(`/settings/audit-log?connector=${theirs.id}`)
  const missing = await reader.get('/settings/audit-log?connector=00000000-0000-4000-8000-000000000000')
  t.equal(foreign.statusCode, 200)
  t.equal(rowsOf(foreign.body).length, 0)
  t.equal(
    textOf(foreign.body).replaceAll(theirs.id, 'ID'),
    textOf(missing.body).replaceAll('00000000-0000-4000-8000-000000000000', 'ID'),
  )
  const foreignPerson = await reader.get(`/settings/audit-log?person=${ctx.other.users.administrator.id}`)
  t.equal(rowsOf(foreignPerson.body).length, 0)
})

t.test('an htmx request gets the filters and entries alone', async (t) => {
  const partial = await reader.get('/settings/audit-log?action=modify', {
    'hx-request': 'true',
    'hx-request-type': 'partial',
  })
  t.equal(partial.statusCode, 200)
  t.match(partial.body, /^<div id="audit-log">/)
  t.notMatch(partial.body, '<html')
  t.match(partial.headers.vary, /HX-Request-Type/i)
  t.equal(rowsOf(partial.body).length, 1)
})

t.test("the connector's settings link to its own log, and modified by … to the revision that did it", async (t) => {
  const settings = await reader.get(`/connectors/${shopify.id}/settings`)
  t.match(settings.body, `href="/settings/audit-log?connector=${shopify.id}">audit log`)
  t.match(
    settings.body,
    new RegExp(`<a href="/connectors/${shopify.id}/revisions/2">modified by manager of Acme Retail`),
  )
  const revision = await reader.get(`/connectors/${shopify.id}/revisions/2`)
  t.equal(revision.statusCode, 200)
})

// 130 more entries, many at one instant: the keyset tells them apart by id, no entry is skipped or shown twice.
let flow: { id: string }
t.test('paged by older and newer entries: every entry once, in order, whatever shares an instant', async (t) => {
  flow = await createFlow(ctx.db, admin, { name: 'Busy flow' })
  const sameInstant = new Date()
  await ctx.db.insert(auditEvents).values(
    Array.from({ length: 130 }, (_, i) => ({
      companyId: ctx.company.id,
      actorId: admin.id,
      action: 'rename process flow',
      subjectType: 'process flow',
      subjectId: flow.id,
      summary: `renamed process flow Busy flow, step ${String(i).padStart(3, '0')}`,
      createdAt: i < 100 ? sameInstant : new Date(sameInstant.getTime() + i),
    })),
  )
  const seen: string[] = []
  let url: string | undefined = `/settings/audit-log?flow=${flow.id}&action=rename+process+flow`
  const pages: string[] = []
  while (url) {
    const page = await reader.get(url)
    t.equal(page.statusCode, 200)
    pages.push(url)
    seen.push(...rowsOf(page.body))
    const older = /<a href="([^"]+)" rel="next">older/.exec(page.body)
    url = older ? older[1]!.replaceAll('&amp;', '&') : undefined
  }
  t.equal(pages.length, Math.ceil(130 / AUDIT_PAGE_SIZE))
  t.equal(seen.length, 130)
  t.equal(new Set(seen).size, 130, 'none twice')
  const steps = seen.map((row) => Number(/step (\d+)/.exec(row)![1]))
  t.same(
    steps.slice(0, 30),
    Array.from({ length: 30 }, (_, i) => 129 - i),
    'newest first',
  )
  t.same(
    steps.slice(30),
    Array.from({ length: 100 }, (_, i) => 99 - i),
    'then the ones of one instant, newest inserted first',
  )
  // Back from the last page: "newer entries" shows exactly the page before it.
  const last = await reader.get(pages.at(-1)!)
  const newer = /<a href="([^"]+)" rel="prev">newer/.exec(last.body)
  t.ok(newer, 'a newer entries link')
  const back = await reader.get(newer![1]!.replaceAll('&amp;', '&'))
  const middle = await reader.get(pages.at(-2)!)
  t.same(rowsOf(back.body), rowsOf(middle.body))
  t.match(last.body, /<a href="\/settings\/audit-log\?action=rename\+process\+flow&amp;flow=[^"]+">newest entries/)
  const nonsense = await reader.get('/settings/audit-log?before=abc')
  t.equal(nonsense.statusCode, 200, 'a cursor that is no entry id shows the newest page')
})

t.test('the CSV download: the filtered log, every entry, streamed as an attachment, cells escaped', async (t) => {
  // A person whose name a spreadsheet would run as a formula.
  const trickster = await createUser(ctx.db, {
    companyId: ctx.company.id,
    role: 'user',
    password: 'a password nobody uses',
    name: '=HYPERLINK("http://evil.example","click")',
    email: 'trick@acme-retail.test',
  })
  await createFlow(ctx.db, trickster, { name: 'Tricks' })
  const csv = await reader.get(`/settings/audit-log.csv?flow=${flow.id}`)
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], 'text/csv')
  t.match(csv.headers['content-disposition'], /^attachment; filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"$/)
  t.equal(csv.headers['transfer-encoding'], 'chunked', 'streamed, not built whole with a length')
  t.notOk(csv.headers['content-length'])
  const lines = csv.body.trimEnd().split('\r\n')
  t.equal(lines[0], '"when (UTC)","who","email","action","subject","subject id","what","revision","removed"')
  t.equal(lines.length, 1 + 131, 'every entry of the flow (130 renames and its creation), not one page')
  t.match(lines[1], /^"\d{4}-\d{2}-\d{2}T[\d:.]+Z","administrator of Acme Retail","administrator@acme-retail\.test"/)
  const all = await reader.get('/settings/audit-log.csv')
  t.match(
    all.body,
    `,"'=HYPERLINK(""http://evil.example"",""click"")","trick@acme-retail.test","create process flow"`,
    'no formula',
  )
  t.notMatch(all.body, /Xero|Their secret flow/, "never another company's")
  const batches = await reader.get('/settings/audit-log.csv?action=rename+process+flow')
  t.equal(batches.body.trimEnd().split('\r\n').length, 131)
})

t.test('a CSV cell that starts like a formula is made text; quotes and line breaks stay inside the cell', async (t) => {
  t.equal(
    csvLine(['=1+1', '+1', '-1', '@SUM(A1)', 'plain', 'say "hi"', 'two\nlines']),
    `"'=1+1","'+1","'-1","'@SUM(A1)","plain","say ""hi""","two\nlines"\r\n`,
  )
})

t.test('nothing changes or removes an entry: no route, and the database refuses it', async (t) => {
  const writes = ctx.app.routeTable.filter((r) => r.url.startsWith('/settings/audit-log') && r.method !== 'GET')
  t.same(writes, [], 'no route but GET')
  const admins = clients.administrator!
  t.equal((await admins.post('/settings/audit-log', {})).statusCode, 404)
  const [entry] = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.companyId, ctx.company.id), eq(auditEvents.action, 'modify')))
  /** The database's refusal: drizzle wraps it, its cause is PostgreSQL's own error. */
  const refusal = async (query: PromiseLike<unknown>) => {
    try {
      await query
      return 'done'
    } catch (error) {
      const cause = (error as { cause?: { message?: string; code?: string } }).cause
      return `${cause?.code}: ${cause?.message}`
    }
  }
  t.equal(
    await refusal(ctx.db.update(auditEvents).set({ summary: 'nothing happened' }).where(eq(auditEvents.id, entry!.id))),
    '42501: the audit log is only ever added to: update of audit_events is refused',
  )
  t.equal(
    await refusal(ctx.db.delete(auditEvents).where(eq(auditEvents.id, entry!.id))),
    '42501: the audit log is only ever added to: delete of audit_events is refused',
  )
  t.equal(
    await refusal(ctx.db.execute(sql`truncate audit_events`)),
    '42501: the audit log is only ever added to: truncate of audit_events is refused',
  )
  t.equal(
    await refusal(ctx.db.update(auditEvents).set({ actorId: null, summary: 'x' }).where(eq(auditEvents.id, entry!.id))),
    '42501: the audit log is only ever added to: update of audit_events is refused',
    'emptying the person and anything else with it is refused too',
  )
  const [still] = await ctx.db.select().from(auditEvents).where(eq(auditEvents.id, entry!.id))
  t.same(still, entry, 'the entry is as it was')
  // The one update let through: the foreign key emptying the person of a person deleted from the database.
  const passing = await createUser(ctx.db, {
    companyId: ctx.company.id,
    role: 'user',
    password: 'a password nobody uses',
    name: 'Pat Passing',
    email: 'pat@acme-retail.test',
  })
  await recordEvent(ctx.db, passing, {
    action: 'end session',
    subjectType: 'user',
    subjectId: passing.id,
    summary: 'ended a session',
  })
  t.equal(await refusal(ctx.db.delete(users).where(eq(users.id, passing.id))), 'done')
  const [kept] = await ctx.db.select().from(auditEvents).where(eq(auditEvents.subjectId, passing.id))
  t.same([kept?.actorId, kept?.summary], [null, 'ended a session'], 'the entry stays, without the person')
})
