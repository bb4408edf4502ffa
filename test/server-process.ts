// The app as its own process, started as `npm start` starts it (src/server.ts), for tests that need
// a real process: one that can die, be killed, or hold a data folder.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

export const ROOT = path.join(import.meta.dirname, '..')

export interface ServerProcess {
  child: ChildProcess
  /** What the process printed so far (stdout and stderr). */
  output(): string
  /** Resolves with "code N signal S" when the process has exited and its output is read. */
  exited: Promise<string>
  /** Whether the process has exited. */
  dead(): boolean
}

/** The environment of a user's shell: no test runner's hooks, no database unless `env` gives one. */
export function shellEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = { ...(process.env as Record<string, string>) }
  for (const key of Object.keys(base)) {
    if (key === 'DATABASE_URL' || key === 'NODE_ENV' || key === 'NODE_OPTIONS' || key.startsWith('TAP'))
      delete base[key]
  }
  return { ...base, PORT: '0', LOG_FORMAT: 'json', ...env }
}

/** Starts `src/server.ts` (or another script of the project) with `env` added to a user's shell environment. */
export function spawnScript(script: string, args: string[], env: Record<string, string>): ServerProcess {
  return spawnNode(['--import=tsx', script, ...args], env)
}

/** Starts `node` with `nodeArgs` (e.g. the built `dist/server.js`, no TypeScript loader) in a user's shell environment plus `env`. */
export function spawnNode(nodeArgs: string[], env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, env: shellEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let exited = false
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  // Even if the test runner gives up on the file (a timeout: SIGALRM, then SIGKILL), the process does not outlive it.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit).once('SIGALRM', killOnExit)
  const done = new Promise<string>((resolve) =>
    child.on('close', (code, signal) => {
      exited = true
      process.removeListener('exit', killOnExit).removeListener('SIGALRM', killOnExit)
      resolve(`code ${code} signal ${signal}`)
    }),
  )
  return { child, output: () => output, exited: done, dead: () => exited }
}

/** Resolves with the first match of `pattern` in the process's output; rejects if it exits first or after `ms`. */
export async function waitForOutput(server: ServerProcess, pattern: RegExp, ms = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms
  for (;;) {
    const match = pattern.exec(server.output())
    if (match) return match
    if (server.dead())
      throw new Error(`the process exited (${await server.exited}) before printing ${pattern}:\n${server.output()}`)
    if (Date.now() > deadline) throw new Error(`${pattern} not printed within ${ms} ms:\n${server.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export interface StartedServer extends ServerProcess {
  url: string
  /** The demo sign-in printed on a fresh database, if it was. */
  demo: { email: string; password: string } | null
}

/** Starts the app and waits until it listens (and, on a fresh database, has printed the demo sign-in). */
export async function startServer(
  env: Record<string, string>,
  nodeArgs = ['--import=tsx', 'src/server.ts'],
): Promise<StartedServer> {
  const server = spawnNode(nodeArgs, env)
  const [, url] = await waitForOutput(server, /listening on (http:\/\/\S+?)[ "]/)
  // The demo sign-in is the next line, written right after: on a busy machine it can arrive a moment later.
  await waitForOutput(server, /Sign in at |Nobody can sign in/, 500).catch(() => {})
  const demo = /Sign in at \S+\/login with email (\S+) and password (\S+?)"/.exec(server.output())
  return { ...server, url: url!, demo: demo ? { email: demo[1]!, password: demo[2]! } : null }
}

/** A user's browser over fetch: keeps cookies and the CSRF token of the last page. */
export class BrowserSession {
  private cookies = new Map<string, string>()
  csrfToken = ''

  constructor(readonly baseUrl: string) {}

  async request(
    method: 'GET' | 'POST',
    url: string,
    options: { form?: Record<string, string>; headers?: Record<string, string>; timeout?: number } = {},
  ): Promise<{ status: number; body: string; headers: Headers }> {
    const headers: Record<string, string> = {
      cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      ...options.headers,
    }
    let body: string | undefined
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams({ _csrf: this.csrfToken, ...options.form }).toString()
    }
    const response = await fetch(`${this.baseUrl}${url}`, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeout ?? 30_000),
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';')
      const at = pair!.indexOf('=')
      const name = pair!.slice(0, at)
      const value = pair!.slice(at + 1)
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    const text = await response.text()
    const token = /name="_csrf" value="([^"]+)"/.exec(text)
    if (token) this.csrfToken = token[1]!
    return { status: response.status, body: text, headers: response.headers }
  }

  async signIn(email: string, password: string): Promise<void> {
    await this.request('GET', '/login')
    const response = await this.request('POST', '/login', { form: { email, password } })
    if (response.status !== 303) throw new Error(`sign-in as ${email} answered ${response.status}`)
  }
}
