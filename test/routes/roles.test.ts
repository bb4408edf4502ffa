// Generated from the route table: every route that changes something names the permission it
// needs, and every role without it gets 403 — enforced on the server, and hidden in the UI.
import t from 'tap'
import { PERMISSIONS, type Permission } from '../../src/domain/actor.js'
import { ROLES } from '../../src/domain/enums.js'
import { offSite, setup, signedIn, textOf } from '../helpers.js'
import { buildWorld, fillRoute, HARMLESS_BODY } from '../world.js'

const ctx = await setup(t)
const world = await buildWorld(ctx, ctx.company)
const clients = Object.fromEntries(
  await Promise.all(ROLES.map(async (role) => [role, await signedIn(ctx.app, ctx.company.users[role])] as const)),
)

/** Routes any signed-in user may post to. */
const OPEN_TO_EVERY_ROLE = new Set([
  'POST /logout',
  'POST /account/password',
  'POST /account/sessions/end',
  'POST /account/sessions/end-others',
  'POST /account/new-password',
])

t.test('every mutating route declares the permission it needs', async (t) => {
  for (const route of ctx.app.routeTable.filter((r) => r.method !== 'GET' && !r.public)) {
    const name = `${route.method} ${route.url}`
    t.ok(route.permission || OPEN_TO_EVERY_ROLE.has(name), `${name} has a permission`)
  }
})

const guarded = ctx.app.routeTable.filter((r) => r.permission)
for (const route of guarded) {
  const allowed = PERMISSIONS[route.permission as Permission] as readonly string[]
  t.test(
    `${route.method} ${route.url} (${route.permission}): ${ROLES.map((r) => `${r} ${allowed.includes(r) ? 'allowed' : '403'}`).join(', ')}`,
    async (t) => {
      for (const role of ROLES) {
        const client = clients[role]!
        const url = fillRoute(route, world)
        // An empty or wrong body: an allowed role is refused for its input (4xx), never for its role.
        const response = route.method === 'GET' ? await client.get(url) : await client.post(url, HARMLESS_BODY)
        if (allowed.includes(role)) t.not(response.statusCode, 403, `${role} is allowed`)
        else {
          t.equal(response.statusCode, 403, `${role} gets 403`)
          t.match(textOf(response.body), 'Your role does not allow this.')
        }
        t.ok(response.statusCode < 500, `${role}: no server error (${response.statusCode})`)
      }
    },
  )
}

t.test('the UI hides what a role cannot do', async (t) => {
  const pages = {
    connectors: '/connectors',
    marketplace: '/marketplace',
    settings: `/connectors/${world.connectorId}/settings`,
    instance: `/instances/${world.instanceId}/settings`,
    flow: `/process-flows/${world.flowId}`,
    flows: '/process-flows',
  }
  const html: Record<string, Record<string, string>> = {}
  for (const role of ROLES) {
    html[role] = {}
    for (const [name, url] of Object.entries(pages)) html[role]![name] = (await clients[role]!.get(url)).body
  }
  for (const role of ROLES) {
    const connectors = ['administrator', 'manager'].includes(role)
    const instances = role !== 'read-only'
    t.equal(html[role]!.connectors!.includes('add new connector'), connectors, `${role}: add new connector`)
    t.equal(html[role]!.marketplace!.includes('/install"'), connectors, `${role}: install buttons`)
    t.equal(
      html[role]!.settings!.includes('aria-label="remove connector"'),
      connectors,
      `${role}: trash on connector settings`,
    )
    t.equal(html[role]!.connectors!.includes('add new instance'), instances, `${role}: add new instance`)
    t.equal(
      html[role]!.instance!.includes('aria-label="remove instance"'),
      instances,
      `${role}: trash on instance settings`,
    )
    t.equal(html[role]!.flow!.includes('add connection shape'), instances, `${role}: add connection shape`)
    t.equal(html[role]!.flows!.includes('create process flow'), instances, `${role}: create process flow`)
    t.equal(
      html[role]!.connectors!.includes('href="/settings/users"'),
      role === 'administrator',
      `${role}: users in the navigation`,
    )
    t.ok(html[role]!.connectors!.includes('href="/settings/audit-log"'), `${role}: audit log in the navigation`)
  }
})

t.test('every role reads the audit log and downloads it; nobody can write to it', async (t) => {
  for (const role of ROLES) {
    t.equal((await clients[role]!.get('/settings/audit-log')).statusCode, 200, `${role} reads the log`)
    t.equal((await clients[role]!.get('/settings/audit-log.csv')).statusCode, 200, `${role} downloads it`)
  }
  const writes = ctx.app.routeTable.filter((r) => r.url.startsWith('/settings/audit-log') && r.method !== 'GET')
  t.same(writes, [], 'no route changes or removes an entry')
})

t.test('every redirect of this file stays on this site', async (t) => {
  t.ok(ctx.redirects.length >= 10, `${ctx.redirects.length} redirects checked`)
  t.same(offSite(ctx.redirects), [])
})
