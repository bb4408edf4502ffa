// The operator's command for a new company and its first administrator, on the database `npm start`
// uses (how a production deployment, which never creates demo data, gets its first account):
//   npm run admin:create -- --company "Acme Retail" --email ana@acme.example [--name "Ana Diaz"]
// The password comes from ADMIN_PASSWORD or standard input (typed without echo on a terminal, one
// line when piped); never from the command line, where other users of the machine can read it,
// and it is never printed.
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { readConfig, ConfigError } from '../config.js'
import { openDatabase } from '../db/client.js'
import { DataFolderInUse } from '../db/data-folder-lock.js'
import { checkFirstAdministrator, createCompanyWithAdministrator } from '../domain/users.js'
import { Invalid } from '../domain/errors.js'

export const USAGE = [
  'Usage: npm run admin:create -- --company "Company name" --email admin@example.com [--name "Full name"]',
  'The password is read from standard input (or from the ADMIN_PASSWORD environment variable).',
].join('\n')

export interface Io {
  out(line: string): void
  err(line: string): void
  /** The password, asked for on a terminal (twice, not echoed) or read as one line from a pipe. */
  readPassword(): Promise<string>
}

/** Ctrl-C while typing the password. */
class Interrupted extends Error {}

/** Exit codes: 0 created, 1 refused, 64 usage, 78 configuration, 130 interrupted. */
export async function main(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  io: Io = terminal,
): Promise<number> {
  if (args.some((arg) => arg === '--password' || arg.startsWith('--password='))) {
    io.err(
      'The password is never given on the command line, where other users of this machine can read it. Type it when asked, pipe it in, or set ADMIN_PASSWORD.',
    )
    io.err(USAGE)
    return 64
  }
  let values: { company?: string; email?: string; name?: string }
  try {
    values = parseArgs({
      args,
      options: { company: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' } },
      strict: true,
    }).values
  } catch (error) {
    io.err((error as Error).message)
    io.err(USAGE)
    return 64
  }
  if (!values.company || !values.email) {
    io.err(USAGE)
    return 64
  }
  let config
  try {
    config = readConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.err(`Configuration error: ${error.message}`)
    return 78
  }
  let password: string
  try {
    password = env.ADMIN_PASSWORD ?? (await io.readPassword())
  } catch (error) {
    if (error instanceof Interrupted) return 130
    io.err(`Not created: ${(error as Error).message}`)
    return 1
  }
  const input = {
    company: values.company,
    email: values.email,
    name: values.name ?? values.email.trim().split('@')[0]!,
    password,
  }
  try {
    checkFirstAdministrator(input)
  } catch (error) {
    if (!(error instanceof Invalid)) throw error
    for (const message of Object.values(error.fields)) io.err(`Not created: ${message}`)
    return 1
  }
  // The one way the app opens its database (it migrates, and keeps out a second process on an embedded one).
  let database
  try {
    database = await openDatabase(config.databaseUrl, config.dataDir, { command: 'npm run admin:create' })
  } catch (error) {
    if (!(error instanceof DataFolderInUse)) throw error
    io.err(`Not created: ${error.message}`)
    return 75
  }
  try {
    const { company, administrator } = await createCompanyWithAdministrator(database.db, input)
    io.out(
      `Created ${company.name} and its first administrator, ${administrator.name} <${administrator.email}> (${database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL server'}).`,
    )
    io.out(
      'They sign in with that email address and the password given; settings > users adds the rest of the company.',
    )
    return 0
  } catch (error) {
    if (!(error instanceof Invalid)) throw error
    for (const message of Object.values(error.fields)) io.err(`Not created: ${message}`)
    return 1
  } finally {
    await database.close()
  }
}

/**
 * Asks for the password twice on the terminal, in raw mode from before the first prompt to after
 * the last answer, so nothing typed is ever echoed; backspace edits, Ctrl-C stops.
 */
async function askOnTerminal(): Promise<string> {
  const input = process.stdin
  const pending: string[] = []
  let wake: (() => void) | null = null
  const onData = (chunk: string) => {
    pending.push(...chunk)
    wake?.()
  }
  const nextCharacter = async (): Promise<string> => {
    while (!pending.length)
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    return pending.shift()!
  }
  const readLine = async (prompt: string): Promise<string> => {
    process.stderr.write(prompt)
    let typed = ''
    for (;;) {
      const character = await nextCharacter()
      if (character === '\r' || character === '\n' || character === '\u0004') break
      if (character === '\u0003') throw new Interrupted('interrupted')
      if (character === '\u007f' || character === '\b') typed = [...typed].slice(0, -1).join('')
      else typed += character
    }
    process.stderr.write('\n')
    return typed
  }
  input.setRawMode(true)
  input.setEncoding('utf8')
  input.on('data', onData)
  input.resume()
  try {
    const password = await readLine('Password for the administrator (not shown): ')
    const again = await readLine('The same password again: ')
    if (password !== again) throw new Error('the two passwords are not the same.')
    return password
  } finally {
    input.removeListener('data', onData)
    input.setRawMode(false)
    input.pause()
  }
}

/** The first line of a pipe (without its line ending); empty when there is none. */
async function readFirstLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  let first = ''
  for await (const line of lines) {
    first = line
    break
  }
  lines.close()
  // The rest of the pipe is not ours to wait for.
  process.stdin.destroy()
  return first
}

const terminal: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readPassword: () => (process.stdin.isTTY ? askOnTerminal() : readFirstLine()),
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2))
}
