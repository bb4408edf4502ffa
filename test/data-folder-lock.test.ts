// One process at a time opens an embedded database folder: the lock is held while it is open,
// refused to anyone else with the holder named, released on close, and a lock whose process is
// gone (killed, crashed, or its PID now used by another program) does not block.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import path from 'node:path'
import { openPglite } from '../src/db/client.js'
import { DataFolderInUse, DataFolderLock, type LockHolder } from '../src/db/data-folder-lock.js'
import { BrowserSession, startServer } from './server-process.js'

const dir = await mkdtemp(path.join(tmpdir(), 'data-lock-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

function staleLock(folder: string, holder: Partial<LockHolder>) {
  mkdirSync(path.dirname(folder), { recursive: true })
  const lock: LockHolder = {
    pid: 1,
    processStart: null,
    hostname: hostname(),
    since: '2026-01-01T00:00:00.000Z',
    command: 'npm start',
    url: null,
    ...holder,
  }
  writeFileSync(`${folder}.lock`, JSON.stringify(lock))
}

/** The PID of a process that has exited. */
function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
  )
}

t.test('a lock left by a process that is gone does not block', async (t) => {
  const folder = path.join(dir, 'stale', 'pglite')
  staleLock(folder, { pid: deadPid() })
  const lock = DataFolderLock.acquire(folder, `${folder}.lock`, 'npm start')
  t.teardown(() => lock.release())
  const holder = JSON.parse(readFileSync(`${folder}.lock`, 'utf8')) as LockHolder
  t.equal(holder.pid, process.pid, 'the lock now names this process')
})

t.test(
  'a lock naming a PID that another program now uses (it started at another time) does not block',
  { skip: !existsSync('/proc/self/stat') && 'needs /proc to tell when a process started' },
  async (t) => {
    const folder = path.join(dir, 'reused', 'pglite')
    staleLock(folder, { pid: process.pid, processStart: '1' })
    DataFolderLock.acquire(folder, `${folder}.lock`, 'npm start').release()
    t.pass('taken over')
  },
)

t.test(
  'a lock held on another machine (a shared folder) blocks: nobody here can tell whether it still runs',
  async (t) => {
    const folder = path.join(dir, 'elsewhere', 'pglite')
    staleLock(folder, { pid: 4242, hostname: 'another-machine.example' })
    const refusal = (() => {
      try {
        DataFolderLock.acquire(folder, `${folder}.lock`, 'npm start')
      } catch (error) {
        return error
      }
    })()
    t.type(refusal, DataFolderInUse)
    t.match((refusal as Error).message, 'in use by npm start (process 4242 on another-machine.example, running since ')
  },
)

t.test(
  'while the app runs, any other opener of its data folder is refused, naming it; killed without a chance to clean up, its lock does not block the next start',
  async (t) => {
    const dataDir = path.join(dir, 'app')
    const folder = path.join(dataDir, 'pglite')
    const first = await startServer({ DATA_DIR: dataDir })
    t.teardown(() => {
      first.child.kill('SIGKILL')
    })
    const refusal = await openPglite(folder, { command: 'npm run marketplace:publish' }).catch(
      (error: unknown) => error,
    )
    t.type(refusal, DataFolderInUse)
    t.match(
      (refusal as Error).message,
      `The embedded database in ${folder} is in use by npm start (process ${first.child.pid}, running since `,
    )
    t.match((refusal as Error).message, `listening on ${first.url}).`)
    t.match(
      (refusal as Error).message,
      `Stop that process first (Ctrl+C in its terminal, or \`kill ${first.child.pid}\`), then try again.`,
    )

    first.child.kill('SIGKILL')
    await first.exited
    t.ok(existsSync(`${folder}.lock`), 'the killed app left its lock behind')
    const next = await startServer({ DATA_DIR: dataDir })
    t.teardown(() => {
      next.child.kill('SIGKILL')
    })
    const session = new BrowserSession(next.url)
    await session.signIn(first.demo!.email, first.demo!.password)
    t.equal((await session.request('GET', '/connectors')).status, 200, 'the next start serves the same data')
    next.child.kill('SIGTERM')
    t.equal(await next.exited, 'code 0 signal null')
    t.notOk(existsSync(`${folder}.lock`), 'a clean stop removes the lock')
  },
)
