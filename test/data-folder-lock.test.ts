// One process at a time opens an embedded database folder: the lock is held while it is open,
// refused to anyone else with the holder named, released on close, and a lock whose process is
// gone (killed, crashed, or its PID now used by another program) does not block.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import path from 'node:path'
import { openDatabase, openPglite } from '../src/db/client.js'
import { DataFolderInUse, DataFolderLock, type LockHolder } from '../src/db/data-folder-lock.js'
import { BrowserSession, startServer } from './server-process.js'

const dir = await mkdtemp(path.join(tmpdir(), 'data-lock-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

function staleLock(folder: string, holder: Partial<LockHolder>) {
  mkdirSync(path.dirname(folder), { recursive: true })
  const lock: LockHolder = { pid: 1, processStart: null, hostname: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'npm start', url: null, ...holder }
  writeFileSync(`${folder}.lock`, JSON.stringify(lock))
}

/** The PID of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout)
}

t.test('an open data folder is refused to a second opener, naming the holder; closing frees it', async (t) => {
  const folder = path.join(dir, 'held', 'pglite')
  const first = await openDatabase(undefined, path.dirname(folder), { command: 'npm start' })
  t.ok(existsSync(`${folder}.lock`), 'the lock file is beside the database folder')
  first.lock!.update({ url: 'http://127.0.0.1:3999' })
  const refusal = await openPglite(folder, { command: 'npm run marketplace:publish' }).catch((error: unknown) => error)
  t.type(refusal, DataFolderInUse)
  t.match((refusal as Error).message, `The embedded database in ${folder} is in use by npm start (process ${process.pid}, running since `)
  t.match((refusal as Error).message, 'listening on http://127.0.0.1:3999).')
  t.match((refusal as Error).message, `Stop that process first (Ctrl+C in its terminal, or \`kill ${process.pid}\`), then try again.`)
  await first.close()
  t.notOk(existsSync(`${folder}.lock`), 'closing removes the lock')
  DataFolderLock.acquire(folder, `${folder}.lock`, 'npm run marketplace:publish').release()
  t.pass('the next opener gets it')
})

t.test('a lock left by a process that is gone does not block', async (t) => {
  const folder = path.join(dir, 'stale', 'pglite')
  staleLock(folder, { pid: deadPid() })
  const lock = DataFolderLock.acquire(folder, `${folder}.lock`, 'npm start')
  t.teardown(() => lock.release())
  const holder = JSON.parse(readFileSync(`${folder}.lock`, 'utf8')) as LockHolder
  t.equal(holder.pid, process.pid, 'the lock now names this process')
})

t.test('a lock naming a PID that another program now uses (it started at another time) does not block', { skip: !existsSync('/proc/self/stat') && 'needs /proc to tell when a process started' }, async (t) => {
  const folder = path.join(dir, 'reused', 'pglite')
  staleLock(folder, { pid: process.pid, processStart: '1' })
  DataFolderLock.acquire(folder, `${folder}.lock`, 'npm start').release()
  t.pass('taken over')
})

t.test('a lock held on another machine (a shared folder) blocks: nobody here can tell whether it still runs', async (t) => {
  const folder = path.join(dir, 'elsewhere', 'pglite')
  staleLock(folder, { pid: 4242, hostname: 'another-machine.example' })
  const refusal = (() => { try { DataFolderLock.acquire(folder, `${folder}.lock`, 'npm start') } catch (error) { return error } })()
  t.type(refusal, DataFolderInUse)
  t.match((refusal as Error).message, 'in use by npm start (process 4242 on another-machine.example, running since ')
})

t.test('an app killed without a chance to clean up leaves a lock that does not block the next start', async (t) => {
  const dataDir = path.join(dir, 'killed')
  const killed = await startServer({ DATA_DIR: dataDir })
  t.teardown(() => { killed.child.kill('SIGKILL') })
  killed.child.kill('SIGKILL')
  await killed.exited
  t.ok(existsSync(path.join(dataDir, 'pglite.lock')), 'the killed app left its lock behind')
  const next = await startServer({ DATA_DIR: dataDir })
  t.teardown(() => { next.child.kill('SIGKILL') })
  const session = new BrowserSession(next.url)
  await session.signIn(killed.demo!.email, killed.demo!.password)
  t.equal((await session.request('GET', '/connectors')).status, 200, 'the next start serves the same data')
  next.child.kill('SIGTERM')
  t.equal(await next.exited, 'code 0 signal null')
  t.notOk(existsSync(path.join(dataDir, 'pglite.lock')), 'a clean stop removes the lock')
})
