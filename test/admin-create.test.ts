// The first administrator of a production deployment: `npm run admin:create`, on the embedded
// database (a fresh data folder) and on the PostgreSQL server of DATABASE_URL; the password from
// standard input (not echoed on a terminal, one line from a pipe) or ADMIN_PASSWORD, never printed.
import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { eq } from 'drizzle-orm'
import { main, USAGE } from '../src/admin/create-admin.js'
import { openDatabase } from '../src/db/client.js'
import { auditEvents, companies, users } from '../src/db/schema.js'
import { authenticate, normaliseEmail, type SignInEmail } from '../src/domain/users.js'

const root = path.join(import.meta.dirname, '..')
// Two starts of the server and several runs of the command, each opening its database.
t.setTimeout(600_000)
const dir = await mkdtemp(path.join(tmpdir(), 'admin-create-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const PASSWORD = 'a first administrator password'

/** The environment of the command: the embedded database in a fresh folder, or a database of its own on the server. */
async function commandEnv(name: string): Promise<Record<string, string>> {
  const base = {
    NODE_ENV: 'production',
    SESSION_SECRET: 'admin-create-test-secret-0123456789abcdef',
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
  }
  const server = process.env.DATABASE_URL
  if (!server || name === 'embedded')
    return { ...base, DATA_DIR: path.join(dir, `${name}-${randomBytes(3).toString('hex')}`) }
  const { default: postgres } = await import('postgres')
  const admin = postgres(server, { max: 1, onnotice: () => {} })
  const database = `admin_create_${Date.now()}_${randomBytes(3).toString('hex')}`
  await admin.unsafe(`create database "${database}"`)
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists "${database}" with (force)`)
    await admin.end()
  })
  const url = new URL(server)
  url.pathname = `/${database}`
  return { ...base, DATABASE_URL: url.toString(), DATA_DIR: path.join(dir, name) }
}

async function withDatabase<T>(
  env: Record<string, string>,
  use: (db: Awaited<ReturnType<typeof openDatabase>>['db']) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(env.DATABASE_URL, path.resolve(env.DATA_DIR!))
  try {
    return await use(database.db)
  } finally {
    await database.close()
  }
}

const signInEmail = (email: string) => (normaliseEmail(email) as { email: SignInEmail }).email

/** Runs main() in this process with a password source that records whether it was asked. */
async function runMain(args: string[], env: Record<string, string>, password?: string) {
  const out: string[] = []
  const err: string[] = []
  let asked = false
  const code = await main(args, env, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readPassword: async () => {
      asked = true
      if (password === undefined) throw new Error('the password was asked for')
      return password
    },
  })
  return { code, out: out.join('\n'), err: err.join('\n'), asked }
}

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** The command as an operator runs it; `answer` types a line whenever the output ends with a prompt. */
function runCommand(
  args: string[],
  env: Record<string, string>,
  input: { pipe?: string; terminal?: string[] },
): Promise<Ran> {
  const fullEnv: Record<string, string> = { ...(process.env as Record<string, string>), ...env }
  for (const key of Object.keys(fullEnv)) if (key === 'NODE_OPTIONS' || key.startsWith('TAP')) delete fullEnv[key]
  if (!env.DATABASE_URL) delete fullEnv.DATABASE_URL
  const quoted = ['npm', 'run', '--silent', 'admin:create', '--', ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ')
  // `script` gives the command a terminal of its own, as an operator's shell would.
  const child = input.terminal
    ? spawn('script', ['-qec', quoted, '/dev/null'], { cwd: root, env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('npm', ['run', '--silent', 'admin:create', '--', ...args], {
        cwd: root,
        env: fullEnv,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
  let stdout = ''
  let stderr = ''
  const answers = [...(input.terminal ?? [])]
  let prompts = 0
  child.stdout.on('data', (chunk) => {
    stdout += chunk
    // Each prompt is answered once it is on the screen (typing earlier would be echoed by the terminal).
    const seen = (stdout.match(/\(not shown\): |again: /g) ?? []).length
    while (prompts < seen && answers.length) {
      prompts += 1
      child.stdin.write(`${answers.shift()}\r`)
    }
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  if (input.pipe !== undefined) child.stdin.end(input.pipe)
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

t.test('the command line: usage, and never a password in the arguments', async (t) => {
  const env = await commandEnv('usage')
  const none = await runMain([], env)
  t.equal(none.code, 64)
  t.equal(none.err, USAGE)
  const inArgs = await runMain(
    ['--company', 'Acme', '--email', 'ana@acme.example', '--password', PASSWORD],
    env,
    PASSWORD,
  )
  t.equal(inArgs.code, 64)
  t.match(inArgs.err, 'The password is never given on the command line')
  t.notMatch(inArgs.err, PASSWORD, 'and it is not repeated')
  t.notOk(inArgs.asked)
  const unknown = await runMain(['--company', 'Acme', '--email', 'ana@acme.example', '--role', 'x'], env, PASSWORD)
  t.equal(unknown.code, 64)
})

t.test('a weak password or a bad address is refused with a clear message, and nothing is created', async (t) => {
  const env = await commandEnv('weak')
  for (const [password, message] of [
    ['short', 'Not created: The password is too weak. Use at least 12 characters.'],
    ['aaaaaaaaaaaaaaaa', 'Not created: The password is too weak. Use at least 5 different characters.'],
  ]) {
    const result = await runMain(['--company', 'Weak Ltd', '--email', 'ana@weak.example'], env, password)
    t.equal(result.code, 1)
    t.equal(result.err, message)
  }
  const address = await runMain(['--company', 'Weak Ltd', '--email', 'not an address'], env, PASSWORD)
  t.equal(address.code, 1)
  t.equal(address.err, 'Not created: Enter an email address such as name@company.com.')
  t.same(await withDatabase(env, (db) => db.select().from(companies)), [], 'no company was created')
})

t.test(
  'creates the company and its administrator, who then signs in; refuses a second company of that name or a taken address',
  async (t) => {
    const env = await commandEnv('main')
    const created = await runMain(
      ['--company', 'Acme Retail', '--email', ' Ana@Acme.example ', '--name', 'Ana Diaz'],
      env,
      PASSWORD,
    )
    t.equal(created.code, 0, created.err)
    t.match(created.out, 'Created Acme Retail and its first administrator, Ana Diaz <ana@acme.example>')
    t.notMatch(created.out + created.err, PASSWORD, 'the password is never printed')
    await withDatabase(env, async (db) => {
      const actor = await authenticate(db, signInEmail('ana@acme.example'), PASSWORD)
      t.match(actor, { name: 'Ana Diaz', role: 'administrator', email: 'ana@acme.example' })
      const [event] = await db.select().from(auditEvents).where(eq(auditEvents.actorId, actor!.id))
      t.match(
        event?.summary,
        'created Acme Retail with Ana Diaz (ana@acme.example) as its first administrator (npm run admin:create)',
      )
    })
    const again = await runMain(['--company', 'acme retail', '--email', 'ben@acme.example'], env, PASSWORD)
    t.equal(again.code, 1)
    t.equal(again.err, 'Not created: A company named "acme retail" already exists.')
    const taken = await runMain(['--company', 'Other Ltd', '--email', 'ANA@acme.example'], env, PASSWORD)
    t.equal(taken.code, 1)
    t.equal(taken.err, 'Not created: ANA@acme.example already signs in to the dashboard.')
    const fromEnvironment = await runMain(['--company', 'Env Ltd', '--email', 'eve@env.example'], {
      ...env,
      ADMIN_PASSWORD: PASSWORD,
    })
    t.equal(fromEnvironment.code, 0, fromEnvironment.err)
    t.notOk(fromEnvironment.asked, 'ADMIN_PASSWORD is used without asking')
    t.match(
      fromEnvironment.out,
      'Env Ltd and its first administrator, eve <eve@env.example>',
      "the name defaults to the address's local part",
    )
  },
)

t.test('npm run admin:create reads one line from a pipe', async (t) => {
  const env = await commandEnv('pipe')
  const result = await runCommand(['--company', 'Piped Ltd', '--email', 'pia@piped.example', '--name', 'Pia'], env, {
    pipe: `${PASSWORD}\nignored second line\n`,
  })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, 'Created Piped Ltd and its first administrator, Pia <pia@piped.example>')
  t.notMatch(result.stdout + result.stderr, PASSWORD)
  t.ok(
    await withDatabase(env, (db) => authenticate(db, signInEmail('pia@piped.example'), PASSWORD)),
    'the piped line is the password',
  )
})

t.test('on a terminal the password is asked twice and never echoed', async (t) => {
  const env = await commandEnv('terminal')
  const typed = await runCommand(['--company', 'Typed Ltd', '--email', 'tia@typed.example'], env, {
    terminal: [PASSWORD, PASSWORD],
  })
  t.equal(typed.code, 0, typed.stdout)
  t.match(typed.stdout, 'Password for the administrator (not shown): ')
  t.match(typed.stdout, 'The same password again: ')
  t.notMatch(typed.stdout, PASSWORD, 'what was typed does not appear on the terminal')
  t.ok(await withDatabase(env, (db) => authenticate(db, signInEmail('tia@typed.example'), PASSWORD)))
  const mismatch = await runCommand(['--company', 'Typo Ltd', '--email', 'tom@typo.example'], env, {
    terminal: [PASSWORD, `${PASSWORD}!`],
  })
  t.equal(mismatch.code, 1)
  t.match(mismatch.stdout, 'Not created: the two passwords are not the same.')
})

t.test(
  'production on an empty embedded database: no demo, how to create the administrator, then that administrator signs in',
  async (t) => {
    const env = await commandEnv('embedded')
    const first = await startServer(t, env)
    t.ok(
      first
        .messages()
        .includes(
          'Nobody can sign in yet: there is no company. Create the first administrator with: npm run admin:create -- --company "Your company" --email you@example.com (the password is read from standard input, or from ADMIN_PASSWORD)',
        ),
      'says how to create the first administrator',
    )
    t.notMatch(first.output, 'Demo company created')
    await first.stop()
    t.same(await withDatabase(env, (db) => db.select().from(users)), [], 'no demo users')

    const created = await runCommand(['--company', 'Prod Ltd', '--email', 'root@prod.example'], env, {
      pipe: `${PASSWORD}\n`,
    })
    t.equal(created.code, 0, created.stderr)

    const second = await startServer(t, env)
    t.notMatch(second.output, 'Nobody can sign in yet')
    const page = await fetch(`${second.url}/login`)
    const cookies = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
    const signIn = await fetch(`${second.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token, email: 'root@prod.example', password: PASSWORD }),
    })
    t.equal(signIn.status, 303, 'the administrator signs in')
    await second.stop()
  },
)

/** `npm start` as in production, until it listens; returns what it logged and its URL. */
async function startServer(t: { teardown(fn: () => unknown): void }, env: Record<string, string>) {
  const fullEnv: Record<string, string> = { ...(process.env as Record<string, string>), ...env, PORT: '0' }
  for (const key of Object.keys(fullEnv)) if (key === 'NODE_OPTIONS' || key.startsWith('TAP')) delete fullEnv[key]
  if (!env.DATABASE_URL) delete fullEnv.DATABASE_URL
  const server = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], {
    cwd: root,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    server.kill('SIGKILL')
  })
  let output = ''
  server.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<void>((resolve) => server.on('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 180_000)
    server.stdout.on('data', (chunk) => {
      output += chunk
      const match = /listening on (http:\/\/\S+) /.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
  })
  // A request answered: the lines logged while starting are all in by then.
  await fetch(`${url}/login`)
  return {
    url,
    get output() {
      return output
    },
    /** The messages of the JSON log lines. */
    messages: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => String(JSON.parse(line).msg)),
    async stop() {
      server.kill('SIGTERM')
      await exited
    },
  }
}
