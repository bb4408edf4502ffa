// The one lock order (src/domain/locks.ts): each function locks the company's rows it names, and
// holds them until its transaction ends; another company's rows are neither returned nor locked.
import t from 'tap'
import { eq, sql } from 'drizzle-orm'
import { connectionShapes, connectors, instances, migrationBatches, processFlows } from '../../src/db/schema.js'
import type { Tx } from '../../src/db/client.js'
import { pgErrorCode } from '../../src/db/errors.js'
import {
  lockConnectorNames,
  lockConnectors,
  lockFlows,
  lockInstances,
  lockMigrationBatch,
  lockShapes,
} from '../../src/domain/locks.js'
import { setup } from '../helpers.js'
import { buildWorld } from '../world.js'

const ctx = await setup(t)
// Holding a lock while another connection tries it needs a server: PGlite has one connection.
if (ctx.database.kind === 'pglite') t.test('locks', { skip: 'needs a PostgreSQL server (DATABASE_URL)' }, () => {})
else {
  const world = await buildWorld(ctx, ctx.company)
  const admin = ctx.company.users.administrator
  const outsider = ctx.other.users.administrator

  /** Whether another connection finds the row locked (FOR UPDATE NOWAIT is refused at once). */
  const lockedElsewhere = async (table: string, id: string): Promise<boolean> => {
    try {
      await ctx.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from ${sql.identifier(table)} where id = ${id} for update nowait`)
      })
      return false
    } catch (error) {
      if (pgErrorCode(error) === '55P03') return true
      throw error
    }
  }

  const cases: [string, string, string, (tx: Tx) => Promise<{ id: string }[]>][] = [
    ['connectors', 'connectors', world.connectorId, (tx) => lockConnectors(tx, eq(connectors.id, world.connectorId))],
    [
      'a migration batch',
      'migration_batches',
      world.batchId,
      (tx) => lockMigrationBatch(tx, admin, eq(migrationBatches.id, world.batchId)),
    ],
    ['process flows', 'process_flows', world.flowId, (tx) => lockFlows(tx, admin, eq(processFlows.id, world.flowId))],
    ['instances', 'instances', world.instanceId, (tx) => lockInstances(tx, admin, eq(instances.id, world.instanceId))],
    [
      'connection shapes',
      'connection_shapes',
      world.shapeId,
      (tx) => lockShapes(tx, admin, eq(connectionShapes.id, world.shapeId)),
    ],
  ]
  for (const [name, table, id, lock] of cases) {
    t.test(`${name}: locked until the transaction ends`, async (t) => {
      await ctx.db.transaction(async (tx) => {
        t.same(
          (await lock(tx)).map((row) => row.id),
          [id],
          'the row is returned',
        )
        t.equal(await lockedElsewhere(table, id), true, 'another transaction cannot lock it meanwhile')
      })
      t.equal(await lockedElsewhere(table, id), false, 'free again after the transaction')
    })
  }

  t.test('another company cannot lock these rows', async (t) => {
    await ctx.db.transaction(async (tx) => {
      t.same(await lockFlows(tx, outsider, eq(processFlows.id, world.flowId)), [])
      t.same(await lockInstances(tx, outsider, eq(instances.id, world.instanceId)), [])
      t.same(await lockShapes(tx, outsider, eq(connectionShapes.id, world.shapeId)), [])
      t.same(await lockMigrationBatch(tx, outsider, eq(migrationBatches.id, world.batchId)), [])
      t.equal(await lockedElsewhere('process_flows', world.flowId), false)
      t.equal(await lockedElsewhere('instances', world.instanceId), false)
    })
  })

  t.test('the connector names: the company row, which inserts referencing it do not wait for', async (t) => {
    await ctx.db.transaction(async (tx) => {
      await lockConnectorNames(tx, admin)
      t.equal(await lockedElsewhere('companies', ctx.company.id), true, 'a second namer waits')
      t.equal(await lockedElsewhere('companies', ctx.other.id), false, 'another company names freely')
    })
  })
}
