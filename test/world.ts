// A company with one of everything a route can name by id, for the tests generated from the
// route table (tenancy, roles, CSRF, bad input). A route whose ids this file cannot fill fails
// those tests until it learns them: no route can be forgotten.
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { connectors, marketplaceConnectors, marketplaceVersions } from '../src/db/schema.js'
import type { RouteEntry } from '../src/app.js'
import type { Actor } from '../src/domain/actor.js'
import { installConnector } from '../src/domain/connector-install.js'
import { createInstance } from '../src/domain/instances.js'
import { createFlow } from '../src/domain/flows.js'
import { addShape } from '../src/domain/connection-shapes.js'
import { SecretBox } from '../src/domain/secrets.js'
import { BUILDER_STEPS, startDraft } from '../src/domain/builder.js'
import { applyMigration } from '../src/domain/instance-moves/index.js'
import { createUser } from '../src/domain/users.js'
import { runNextChunk, startBulkUpdate } from '../src/domain/update-batches.js'
import { testConfig, type TestContext } from './helpers.js'

export interface World {
  connectorId: string
  instanceId: string
  flowId: string
  shapeId: string
  customMarketplaceId: string
  /** A person who never did anything: settings > users' routes deactivate, reset and remove them, not a signed-in client. */
  userId: string
  endpointKey: string
  draftId: string
  /** A second install of the same marketplace connector, with one instance moved to it in `batchId`. */
  migrationConnectorId: string
  batchId: string
  /** A bulk update of the company (done: its one connector was already up to date, so skipped). */
  updateBatchId: string
}

export async function buildWorld(
  ctx: TestContext,
  company: { id: string; users: Record<string, Actor> },
): Promise<World> {
  const admin = company.users.administrator!
  const box = new SecretBox(testConfig().encryptionKey)
  const [entry] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, 'xero'))
  const connector = await installConnector(ctx.db, admin, { marketplaceConnectorId: entry!.id })
  const [row] = await ctx.db.select().from(connectors).where(eq(connectors.id, connector.id))
  const definition = row!.definition
  const method = definition.authMethods[0]!
  const instance = await createInstance(ctx.db, admin, box, {
    connectorId: connector.id,
    name: 'Xero - UK',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'minute',
    authMethod: method.key,
    values: Object.fromEntries([
      ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
      ...definition.variables.map((v) => [`var.${v.key}`, 'x']),
    ]),
  })
  const flow = await createFlow(ctx.db, admin, { name: 'Invoices' })
  const shape = await addShape(ctx.db, admin, {
    flowId: flow.id,
    instanceId: instance.id,
    endpointKey: definition.endpoints[0]!.key,
    version: 1,
  })
  const [custom] = await ctx.db
    .insert(marketplaceConnectors)
    .values({
      key: `custom-${company.id.slice(0, 8)}`,
      kind: 'custom',
      companyId: company.id,
      name: 'Our own ERP',
      description: 'built in house',
      systemType: 'ERP',
    })
    .returning()
  const [version] = await ctx.db
    .insert(marketplaceVersions)
    .values({
      marketplaceConnectorId: custom!.id,
      version: 'Version 1',
      releaseNotes: 'first',
      definition,
    })
    .returning()
  await ctx.db
    .update(marketplaceConnectors)
    .set({ latestVersionId: version!.id })
    .where(eq(marketplaceConnectors.id, custom!.id))
  const draft = await startDraft(ctx.db, admin)
  const second = await installConnector(ctx.db, admin, { marketplaceConnectorId: entry!.id })
  const moved = await createInstance(ctx.db, admin, box, {
    connectorId: connector.id,
    name: 'Xero - US',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'minute',
    authMethod: method.key,
    values: Object.fromEntries([
      ...method.fields.map((f) => [`auth.${f.key}`, 'y']),
      ...definition.variables.map((v) => [`var.${v.key}`, 'y']),
    ]),
  })
  const bills = await createFlow(ctx.db, admin, { name: 'Bills' })
  await addShape(ctx.db, admin, {
    flowId: bills.id,
    instanceId: moved.id,
    endpointKey: definition.endpoints[0]!.key,
    version: 1,
  })
  const batch = await applyMigration(ctx.db, admin, box, {
    connectorId: second.id,
    fromConnectorId: connector.id,
    instanceIds: [moved.id],
    flowIds: { [moved.id]: [bills.id] },
    suffix: ' (new)',
    authMethods: {},
    endpoints: {},
  })
  const bulk = await startBulkUpdate(ctx.db, admin, {
    kind: 'update',
    items: [{ connectorId: second.id, revision: 1, toVersionId: entry!.latestVersionId! }],
  })
  await runNextChunk(ctx.db, admin, bulk.batchId)
  const person = await createUser(ctx.db, {
    companyId: company.id,
    role: 'user',
    password: 'a password nobody uses',
    name: 'Sam Spare',
    email: `sam.spare@${company.id.slice(0, 8)}.test`,
  })
  return {
    draftId: draft.id,
    migrationConnectorId: second.id,
    batchId: batch.batchId,
    updateBatchId: bulk.batchId,
    connectorId: connector.id,
    instanceId: instance.id,
    flowId: flow.id,
    shapeId: shape.id!,
    customMarketplaceId: custom!.id,
    userId: person.id,
    endpointKey: definition.endpoints[0]!.key,
  }
}

/** Which fixture fills `:param` in a route, by the route's first path segment. */
function idFor(world: World, url: string, param: string): string | undefined {
  if (param === 'shapeId') return world.shapeId
  if (param === 'batchId') return world.batchId
  if (param === 'updateBatchId') return world.updateBatchId
  if (param === 'previousId') return world.connectorId
  if (param === 'key') return world.endpointKey
  if (param === 'number') return '1'
  if (param === 'slug') return 'manage-connectors'
  if (param === 'step') return 'variables'
  if (param === 'segment') return 'endpoints'
  if (param !== 'id') return undefined
  if (/^\/connectors\/:id\/migrat/.test(url)) return world.migrationConnectorId
  const prefix = url.split('/')[1]
  return (
    {
      connectors: world.connectorId,
      instances: world.instanceId,
      'process-flows': world.flowId,
      marketplace: world.customMarketplaceId,
      settings: world.userId,
      builder: world.draftId,
    } as Record<string, string>
  )[prefix!]
}

export const MISSING_ID = '00000000-0000-4000-8000-000000000000'

/** The route's URL with its ids filled from a world (or with missing ids), or an error naming what is unknown. */
export function fillRoute(route: Pick<RouteEntry, 'url'>, world: World | 'missing'): string {
  return route.url.replace(/:(\w+)/g, (_, param: string) => {
    if (world === 'missing') return param === 'number' ? '999999' : param === 'key' ? 'no_such_key' : MISSING_ID
    const id = idFor(world, route.url, param)
    if (!id)
      throw new Error(`test/world.ts does not know how to fill :${param} in ${route.url}; teach idFor() about it`)
    return id
  })
}

/** Parameters that name one of a few screens: each is filled in every way, so every screen is seen. */
const EVERY_VALUE: Record<string, readonly string[]> = { step: BUILDER_STEPS }

/** The route's URL filled from a world in every way that shows a different screen (every builder step). */
export function fillRouteVariants(route: Pick<RouteEntry, 'url'>, world: World): string[] {
  const url = fillRoute(route, world)
  const param = Object.keys(EVERY_VALUE).find((p) => route.url.includes(`:${p}`))
  if (!param) return [url]
  const filled = idFor(world, route.url, param)!
  return EVERY_VALUE[param]!.map((value) => url.replace(`/${filled}`, `/${value}`))
}

/** Routes whose parameters name no company's data (the same help page for everyone). */
const SHARED_ROUTES = new Set(['/help/:slug'])

/** Routes that take the id of something a company owns. */
export function hasParams(route: Pick<RouteEntry, 'url'>): boolean {
  return route.url.includes(':') && !SHARED_ROUTES.has(route.url)
}

/** A form body that passes the type checks of any route and does nothing harmful when refused. */
export const HARMLESS_BODY = {
  confirm: 'nope',
  name: '',
  enabled: 'false',
  direction: 'up',
  role: 'nobody',
  revision: '1',
  lockVersion: '1',
  version: '0.0.1',
}

export function routes(app: FastifyInstance): RouteEntry[] {
  return app.routeTable
}
