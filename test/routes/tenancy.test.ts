// Generated from the route table: for every route that takes an id, a user of another company
// gets exactly the 404 a missing id gets, for reads and for writes, and nothing changes.
import t from 'tap'
import { connectionShapes, connectors, instances, processFlows, users } from '../../src/db/schema.js'
import { offSite, setup, signedIn, textOf } from '../helpers.js'
import { buildWorld, fillRoute, hasParams, HARMLESS_BODY } from '../world.js'

const ctx = await setup(t)
const victim = await buildWorld(ctx, ctx.company)
await buildWorld(ctx, ctx.other)
const outsider = await signedIn(ctx.app, ctx.other.users.administrator)

async function snapshot() {
  const [c, i, f, s, u] = await Promise.all([
    ctx.db.select().from(connectors),
    ctx.db.select().from(instances),
    ctx.db.select().from(processFlows),
    ctx.db.select().from(connectionShapes),
    ctx.db.select().from(users),
  ])
  return JSON.stringify(
    [c, i, f, s, u].map((rows) =>
      rows.map((r) => ({ ...r, updatedAt: undefined })).sort((a, b) => String(a.id).localeCompare(String(b.id))),
    ),
  )
}

const before = await snapshot()
const routesWithIds = ctx.app.routeTable.filter(hasParams)
t.ok(routesWithIds.length >= 15, `${routesWithIds.length} routes take an id`)

for (const route of routesWithIds) {
  t.test(`${route.method} ${route.url}: another company's id answers like a missing one`, async (t) => {
    const send = (url: string) =>
      route.method === 'GET'
        ? outsider.get(url)
        : outsider.post(url, {
            ...HARMLESS_BODY,
            confirm: 'confirm',
            role: 'user',
            instance: victim.instanceId,
            endpoint: victim.endpointKey,
          })
    const foreign = await send(fillRoute(route, victim))
    const missing = await send(fillRoute(route, 'missing'))
    t.equal(foreign.statusCode, 404, 'foreign id: 404')
    t.equal(missing.statusCode, 404, 'missing id: 404')
    t.equal(textOf(foreign.body), textOf(missing.body), 'the same page')
  })
}

t.test(
  "the audit log's filters: another company's connector, instance, flow or person answers like a missing one",
  async (t) => {
    const missing = '00000000-0000-4000-8000-000000000000'
    const filters = {
      connector: victim.connectorId,
      instance: victim.instanceId,
      flow: victim.flowId,
      person: ctx.company.users.administrator.id,
    }
    for (const [param, id] of Object.entries(filters)) {
      const foreign = await outsider.get(`/settings/audit-log?${param}=${id}`)
      const absent = await outsider.get(`/settings/audit-log?${param}=${missing}`)
      t.equal(foreign.statusCode, 200, `${param}: answered`)
      t.equal(
        textOf(foreign.body).replaceAll(id, 'ID'),
        textOf(absent.body).replaceAll(missing, 'ID'),
        `${param}: the same page`,
      )
      t.notMatch(textOf(foreign.body), /Xero - UK|Invoices/, `${param}: nothing of the other company`)
      const csv = await outsider.get(`/settings/audit-log.csv?${param}=${id}`)
      t.equal(csv.body.trimEnd().split('\r\n').length, 1, `${param}: the CSV has its header only`)
    }
  },
)

t.test('nothing of the first company changed', async (t) => {
  t.equal(await snapshot(), before)
})

t.test('every redirect of this file stays on this site', async (t) => {
  t.ok(ctx.redirects.length >= 1, `${ctx.redirects.length} redirects checked`)
  t.same(offSite(ctx.redirects), [])
})
