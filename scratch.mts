import { setup, signedIn } from '/work/main/test/helpers.ts'
import { buildWorld } from '/work/main/test/world.ts'
const t = { teardowns: [] as any[], teardown(fn: any) { this.teardowns.push(fn) } }
const ctx = await setup(t, { logger: { level: 'error' } })
const world = await buildWorld(ctx, ctx.company)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)
let r = await admin.get(`/process-flows/${world.flowId}/shapes/new?instance=nope`)
console.log(r.statusCode)
r = await admin.post(`/process-flows/${world.flowId}/shapes`, { instance: '<script>', endpoint: 'x' })
console.log(r.statusCode)
for (const fn of t.teardowns.reverse()) await fn()
