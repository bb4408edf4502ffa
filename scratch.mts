import { setup, Client, textOf } from '/work/main/test/helpers.ts'
const t = { teardowns: [] as any[], teardown(fn: any) { this.teardowns.push(fn) } }
const ctx = await setup(t, { logger: { level: 'error' } })
const c = new Client(ctx.app)
let r = await c.get('/login'); console.log(r.statusCode, r.body.slice(0, 300))
r = await c.post('/login', { email: ctx.company.users.administrator.email, password: 'correct horse battery staple' }); console.log(r.statusCode, r.headers.location, r.body.slice(0,500))
r = await c.get('/connectors'); console.log(r.statusCode, textOf(r.body).slice(0, 800))
r = await c.get('/marketplace?q=shop'); console.log(r.statusCode, textOf(r.body).slice(0, 800))
for (const fn of t.teardowns.reverse()) await fn()
