// Every screen as it is served, without JavaScript and as htmx fragments, with data: valid HTML by
// the W3C Nu HTML checker (vnu-jar, run once for all of them), exactly one h1 and a meta
// description on every page; robots.txt keeps search engines out. The screens come from the route
// table, filled like test/world.ts does, so a new screen is checked without being listed here.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { Client, setup, signedIn } from '../helpers.js'
import { formsOf, isTextField, submission } from '../html.js'
import { buildWorld, fillRoute, fillRouteVariants, MISSING_ID } from '../world.js'

const VNU_JAR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('vnu-jar/package.json')),
  'build',
  'dist',
  'vnu.jar',
)

const ctx = await setup(t)
const world = await buildWorld(ctx, ctx.company)
const admin = await signedIn(ctx.app, ctx.company.users.administrator)
const anonymous = new Client(ctx.app)

interface Document {
  name: string
  html: string
  whole: boolean
}
const documents: Document[] = []
const fragmentHeaders = { 'hx-request': 'true', 'hx-request-type': 'partial' }

/** A fragment checked on its own, in the smallest valid page around it. */
const inShell = (fragment: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fragment</title></head><body>${fragment}</body></html>`

async function collect(
  name: string,
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  fragment = false,
) {
  if (!String(response.headers['content-type'] ?? '').startsWith('text/html') || response.body === '') return
  // A screen with no fragment of its own answers htmx with the whole page, checked as such already.
  if (fragment && /^\s*<!doctype/i.test(response.body)) return
  documents.push({
    name: `${name} (${response.statusCode}${fragment ? ', fragment' : ''})`,
    html: fragment ? inShell(response.body) : response.body,
    whole: !fragment,
  })
}

// Every GET screen, whole and as the fragment htmx asks for; the login page signed out.
await collect('GET /login', await anonymous.get('/login'))
const screens = ctx.app.routeTable
  .filter((r) => r.method === 'GET' && r.url !== '/login')
  .flatMap((r) => fillRouteVariants(r, world))
for (const url of screens) {
  await collect(`GET ${url}`, await admin.get(url))
  await collect(`GET ${url}`, await admin.get(url, fragmentHeaders), true)
}
await collect('GET a missing connector', await admin.get(`/connectors/${MISSING_ID}/settings`))

// Every form refused (a text field one character too long), whole and as a fragment: the screens
// a person sees after a mistake.
for (const url of [...screens, '/login']) {
  const client = url === '/login' ? anonymous : admin
  const page = await client.get(url)
  if (page.statusCode !== 200) continue
  for (const form of formsOf(page.body).filter((f) => f.method === 'post')) {
    const field = form.fields.find(isTextField)
    if (!field) continue
    const tooLong = { [field.id]: 'x'.repeat(Number(field.attrs.maxlength ?? 10_000) + 1) }
    await collect(`POST ${form.action} refused`, await client.post(form.action, submission(form, tooLong)))
    if (form.attrs['data-hx-post'])
      await collect(
        `POST ${form.action} refused`,
        await client.post(form.action, submission(form, tooLong), fragmentHeaders),
        true,
      )
  }
}

// The add new instance wizard's later steps, reached by its form only.
const wizard = `/connectors/${world.connectorId}/instances/new`
await admin.get(wizard)
for (const step of [
  { step: 'name', name: 'Xero - AU' },
  {
    step: 'settings',
    name: 'Xero - AU',
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '5',
    rateLimitUnit: 'minute',
  },
] as Record<string, string>[]) {
  await collect(`POST ${wizard} after the ${step.step} step`, await admin.post(wizard, { ...step, action: 'next' }))
}

t.test('every screen has exactly one h1 and a meta description', async (t) => {
  t.ok(documents.length > 80, `documents collected: ${documents.length}`)
  for (const document of documents.filter((d) => d.whole)) {
    t.equal(document.html.match(/<h1[\s>]/g)?.length ?? 0, 1, `${document.name}: one h1`)
    t.match(document.html, /<meta name="description" content="[^"]{50,}">/, `${document.name}: a meta description`)
  }
})

t.test('every screen is valid HTML (W3C Nu HTML checker)', async (t) => {
  const java = spawnSync('java', ['-version'])
  if (java.status !== 0) {
    if (process.env.CI) t.fail('Java 17 is missing: the HTML checker (vnu-jar) needs it')
    else t.comment('skipped: Java is missing, and the HTML checker (vnu-jar) needs it')
    return
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'vnu-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const files = await Promise.all(
    documents.map(async (document, i) => {
      const file = path.join(dir, `${String(i).padStart(3, '0')}.html`)
      await writeFile(file, document.html)
      return file
    }),
  )
  // One run for every document: the checker takes seconds to start.
  const run = spawnSync('java', ['-jar', VNU_JAR, '--format', 'json', '--stdout', '--exit-zero-always', ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  t.equal(run.status, 0, run.stderr)
  const { messages } = JSON.parse(run.stdout) as {
    messages: { type: string; subType?: string; url: string; message: string; extract?: string }[]
  }
  const nameOf = (url: string) => documents[Number(/(\d+)\.html$/.exec(url)![1])]!.name
  const errors = messages
    .filter((m) => m.type === 'error' || m.type === 'non-document-error')
    .map((m) => `${nameOf(m.url)}: ${m.message} ${m.extract ? `[${m.extract.replace(/\s+/g, ' ')}]` : ''}`)
  t.same(errors, [], 'no errors')
  for (const warning of messages.filter((m) => m.subType === 'warning'))
    t.comment(`warning: ${nameOf(warning.url)}: ${warning.message}`)
})

t.test('robots.txt asks every search engine to stay out', async (t) => {
  const response = await anonymous.get('/robots.txt')
  t.equal(response.statusCode, 200, 'public: no sign-in needed')
  t.match(response.headers['content-type'], 'text/plain')
  t.match(response.body, /^User-agent: \*$/m)
  t.match(response.body, /^Disallow: \/$/m)
})

t.test('the remove page has its h1; swapped into the settings page the prompt is an h2', async (t) => {
  const page = await admin.get(fillRoute({ url: '/connectors/:id/delete' }, world))
  t.match(page.body, /<h1 id="confirm-removal-title">Remove connector Xero\?<\/h1>/)
  const fragment = await admin.get(fillRoute({ url: '/connectors/:id/delete' }, world), fragmentHeaders)
  t.match(fragment.body, /<h2 id="confirm-removal-title">Remove connector Xero\?<\/h2>/)
  t.notMatch(fragment.body, '<h1')
})
