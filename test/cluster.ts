// A PostgreSQL cluster of a test's own (initdb in a temporary folder, a free port, trust sign-in),
// so the test can stop and start the server without touching the one other test files share.
// Uses the Debian binaries (/usr/lib/postgresql/<version>/bin) or PG_BIN; as root (CI) it runs
// them as the `postgres` user, since PostgreSQL refuses to run as root.
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The folder of initdb and pg_ctl: PG_BIN, else the newest Debian install; undefined when there is none. */
export function postgresBinaries(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.PG_BIN) return env.PG_BIN
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const PREFIX = 'pg-cluster-'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class Cluster {
  /**
   * Drops the cluster even when the test runner gives up on the file: on a timeout it sends SIGALRM,
   * then SIGKILL half a second later, too soon for an asynchronous teardown.
   */
  private readonly dropNow = () => {
    try {
      this.pgSync('pg_ctl', ['stop', '-D', this.data, '-m', 'immediate'])
    } catch {
      /* not running */
    }
    rmSync(this.dir, { recursive: true, force: true })
  }

  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Creates the cluster (not yet started), after dropping any left by a test process that was killed. */
  static async create(bin: string): Promise<Cluster> {
    for (const name of readdirSync(tmpdir()).filter((entry) => entry.startsWith(PREFIX))) {
      const dir = path.join(tmpdir(), name)
      const owner = Number(existsSync(path.join(dir, 'owner')) ? readFileSync(path.join(dir, 'owner'), 'utf8') : NaN)
      if (Number.isInteger(owner) && !alive(owner)) new Cluster(bin, dir, 0).dropNow()
    }
    const dir = await mkdtemp(path.join(tmpdir(), PREFIX))
    writeFileSync(path.join(dir, 'owner'), String(process.pid))
    const cluster = new Cluster(bin, dir, await freePort())
    process.once('exit', cluster.dropNow).once('SIGALRM', cluster.dropNow)
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres'])
      const { stdout: group } = await run('id', ['-g', 'postgres'])
      chownSync(dir, Number(stdout.trim()), Number(group.trim()))
    }
    await cluster.pg('initdb', [
      '-D',
      cluster.data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ])
    return cluster
  }

  get data(): string {
    return path.join(this.dir, 'data')
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  private async pg(program: string, args: string[]): Promise<string> {
    const file = path.join(this.bin, program)
    const asRoot = process.getuid?.() === 0
    const { stdout } = asRoot ? await run('runuser', ['-u', 'postgres', '--', file, ...args]) : await run(file, args)
    return stdout
  }

  private pgSync(program: string, args: string[]): void {
    const file = path.join(this.bin, program)
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', file, ...args], { stdio: 'ignore' })
    else execFileSync(file, args, { stdio: 'ignore' })
  }

  async start(): Promise<void> {
    // The socket goes in the cluster's folder: the default one (/var/run/postgresql) may not exist.
    // fsync off makes starts and stops quicker; stopping the server (even `-m immediate`) kills its
    // processes, not the machine, so what it wrote stays in the operating system's cache either way.
    await this.pg('pg_ctl', [
      'start',
      '-w',
      '-D',
      this.data,
      '-l',
      path.join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ])
  }

  /** `immediate` is a crash (no checkpoint, recovery on the next start); `fast` rolls back and shuts down cleanly. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pg('pg_ctl', ['stop', '-w', '-D', this.data, '-m', mode])
  }

  async running(): Promise<boolean> {
    try {
      await this.pg('pg_ctl', ['status', '-D', this.data])
      return true
    } catch {
      return false
    }
  }

  /** Stops the server if it runs and removes the cluster's folder. */
  async drop(): Promise<void> {
    process.removeListener('exit', this.dropNow).removeListener('SIGALRM', this.dropNow)
    if (await this.running()) await this.stop('immediate').catch(() => {})
    await rm(this.dir, { recursive: true, force: true })
  }
}
