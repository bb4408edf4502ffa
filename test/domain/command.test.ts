// runCommand: the one shape of every write. A double submit replays the first answer and records one
// audit entry; a refused command records nothing and leaves its form's key free to send again.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { and, count, eq } from 'drizzle-orm'
import { auditEvents, formSubmissions, processFlows } from '../../src/db/schema.js'
import { runCommand, type Command } from '../../src/domain/command.js'
import { Forbidden, Invalid } from '../../src/domain/errors.js'
import { setup } from '../helpers.js'

const ctx = await setup(t)
const admin = ctx.company.users.administrator

/** Audit entries whose summary is `summary` (each test's flow has its own name). */
const auditCount = async (summary: string) =>
  (
    await ctx.db
      .select({ n: count() })
      .from(auditEvents)
      .where(and(eq(auditEvents.companyId, ctx.company.id), eq(auditEvents.summary, summary)))
  )[0]!.n
const keyRow = async (key: string) =>
  (
    await ctx.db
      .select()
      .from(formSubmissions)
      .where(and(eq(formSubmissions.companyId, ctx.company.id), eq(formSubmissions.key, key)))
  )[0]

/** A command that creates a process flow called `name`, counting its runs; `refuse` makes its check fail. */
function createFlowCommand(
  name: string,
  submission: string | undefined,
  runs: { n: number },
  refuse = false,
): Command<{ id: string; replayed: boolean }> {
  return {
    permission: 'manageInstances',
    submission,
    replay: async (tx, earlier) => {
      if (!earlier.resultId) return null
      const [flow] = await tx
        .select({ id: processFlows.id })
        .from(processFlows)
        .where(eq(processFlows.id, earlier.resultId))
      return flow ? { id: flow.id, replayed: true } : null
    },
    run: async (tx) => {
      runs.n++
      const [flow] = await tx
        .insert(processFlows)
        .values({ companyId: admin.companyId, name, updatedBy: admin.id })
        .returning({ id: processFlows.id })
      if (refuse) throw new Invalid({ name: 'Refused after writing: nothing of it is kept.' })
      return {
        result: { id: flow!.id, replayed: false },
        resultId: flow!.id,
        audit: {
          action: 'create process flow',
          subjectType: 'process flow',
          subjectId: flow!.id,
          summary: `created ${name}`,
        },
      }
    },
  }
}

t.test('a double submit replays the first answer and records one audit entry', async (t) => {
  const key = randomUUID()
  const runs = { n: 0 }
  const first = await runCommand(ctx.db, admin, createFlowCommand('Double', key, runs))
  const second = await runCommand(ctx.db, admin, createFlowCommand('Double', key, runs))
  t.equal(second.id, first.id, 'the second answer names what the first made')
  t.same([first.replayed, second.replayed], [false, true])
  t.equal(runs.n, 1, 'the work ran once')
  t.equal(await auditCount('created Double'), 1, 'one audit entry')
  t.equal((await keyRow(key))?.resultId, first.id, 'the key records the result')
})

t.test('sent twice at once, the work is done once', async (t) => {
  const key = randomUUID()
  const runs = { n: 0 }
  const [a, b] = await Promise.all([
    runCommand(ctx.db, admin, createFlowCommand('Together', key, runs)),
    runCommand(ctx.db, admin, createFlowCommand('Together', key, runs)),
  ])
  t.equal(a.id, b.id)
  t.equal(runs.n, 1)
  t.equal(await auditCount('created Together'), 1)
})

t.test('a refused command records nothing and leaves its key free', async (t) => {
  const key = randomUUID()
  const runs = { n: 0 }
  await t.rejects(runCommand(ctx.db, admin, createFlowCommand('Refused', key, runs, true)), Invalid)
  t.equal(await auditCount('created Refused'), 0, 'no audit entry')
  t.equal(await keyRow(key), undefined, 'the key is not claimed')
  const [flows] = await ctx.db.select({ n: count() }).from(processFlows).where(eq(processFlows.name, 'Refused'))
  t.equal(flows!.n, 0, 'what it wrote before refusing is rolled back')
  const again = await runCommand(ctx.db, admin, createFlowCommand('Refused', key, runs))
  t.equal(again.replayed, false, 'the same form sent again, corrected, does the work')
  t.equal(runs.n, 2)
  t.equal(await auditCount('created Refused'), 1)
})

t.test('without the permission nothing runs', async (t) => {
  const runs = { n: 0 }
  const key = randomUUID()
  await t.rejects(
    runCommand(ctx.db, ctx.company.users['read-only'], createFlowCommand('Forbidden', key, runs)),
    Forbidden,
  )
  t.equal(runs.n, 0)
  t.equal(await keyRow(key), undefined)
})

t.test('a command that recorded no result is done again when its form is sent again', async (t) => {
  const key = randomUUID()
  let runs = 0
  const command: Command<string> = {
    permission: 'manageInstances',
    submission: key,
    replay: async (_tx, earlier) => (earlier.resultId ? 'replayed' : null),
    run: async () => {
      runs++
      return { result: 'nothing changed' }
    },
  }
  t.equal(await runCommand(ctx.db, admin, command), 'nothing changed')
  t.equal(await runCommand(ctx.db, admin, command), 'nothing changed', 'nothing to replay from: the work runs again')
  t.equal(runs, 2)
  t.equal(await auditCount('nothing changed'), 0)
})

t.test('without a key every call does the work', async (t) => {
  const runs = { n: 0 }
  await runCommand(ctx.db, admin, createFlowCommand('No key 1', undefined, runs))
  await runCommand(ctx.db, admin, createFlowCommand('No key 2', undefined, runs))
  t.equal(runs.n, 2)
})
