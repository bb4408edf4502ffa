// One process at a time opens an embedded database folder: PGlite does not lock it, and a second
// process's changes would be lost (each keeps its own copy in memory and overwrites the other's).
// As PostgreSQL does with postmaster.pid: a lock file created exclusively, naming the process that
// holds it; a lock whose process is gone (killed, crashed) is stale and taken over.
import { constants, copyFileSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'

export interface LockHolder {
  pid: number
  /** The process's start, as the kernel counts it (Linux), so a PID used again by another process is not taken for the holder. */
  processStart: string | null
  hostname: string
  /** When the holder took the lock (ISO 8601). */
  since: string
  /** What the holder runs, e.g. "npm start". */
  command: string
  /** Where the holder listens, once it does. */
  url: string | null
}

/** The folder is in use by another live process; the message says by whom and what to do. */
export class DataFolderInUse extends Error {
  override name = 'DataFolderInUse'
  constructor(
    readonly folder: string,
    readonly lockFile: string,
    readonly holder: LockHolder,
  ) {
    super(
      `The embedded database in ${folder} is in use by ${describeHolder(holder)}.\n` +
        'Two processes must never open one embedded database: the changes of one would be lost.\n' +
        `Stop that process first (Ctrl+C in its terminal, or \`kill ${holder.pid}\`), then try again.`,
    )
  }
}

export function describeHolder(holder: LockHolder): string {
  const since = new Date(holder.since)
  const at = Number.isNaN(since.getTime())
    ? holder.since
    : since.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' })
  return `${holder.command} (process ${holder.pid}${holder.hostname === hostname() ? '' : ` on ${holder.hostname}`}, running since ${at}${holder.url ? `, listening on ${holder.url}` : ''})`
}

/** The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat); null where there is no /proc. */
function processStartOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** Whether the process named in a lock still runs (a lock from another machine counts as live: nobody here can tell). */
export function holderAlive(holder: LockHolder): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false
  if (holder.hostname !== hostname()) return true
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  const start = processStartOf(holder.pid)
  return !(holder.processStart && start && start !== holder.processStart)
}

function readHolder(lockFile: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(lockFile, 'utf8')) as LockHolder
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    // Unreadable (the disk, or somebody's editor): nobody can be named as its holder.
    return { pid: -1, processStart: null, hostname: hostname(), since: '', command: 'unknown', url: null }
  }
}

/** Puts a copy of `from` at `to` unless `to` exists (EEXIST): a hard link, or where the file system has none, an exclusive copy. */
function placeExclusively(from: string, to: string): void {
  try {
    linkSync(from, to)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error
    copyFileSync(from, to, constants.COPYFILE_EXCL)
  }
}

export class DataFolderLock {
  private holder: LockHolder
  private released = false
  private readonly releaseOnExit = () => this.release()

  private constructor(
    readonly folder: string,
    readonly lockFile: string,
    command: string,
  ) {
    this.holder = {
      pid: process.pid,
      processStart: processStartOf(process.pid),
      hostname: hostname(),
      since: new Date().toISOString(),
      command,
      url: null,
    }
  }

  /** Takes the lock of `folder` (the file `lockFile`), or throws DataFolderInUse naming the live process that holds it. */
  static acquire(folder: string, lockFile: string, command: string): DataFolderLock {
    const lock = new DataFolderLock(folder, lockFile, command)
    // Written whole first, then linked into place: linking fails if the lock exists, so taking it is
    // atomic and nobody ever reads a half-written lock.
    const written = lock.writeAside()
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          placeExclusively(written, lockFile)
          process.once('exit', lock.releaseOnExit)
          return lock
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        }
        const holder = readHolder(lockFile)
        if (holder && holderAlive(holder)) throw new DataFolderInUse(folder, lockFile, holder)
        // Stale: its process is gone. Remove it and try again (if another starter wins that race, it holds the lock).
        try {
          unlinkSync(lockFile)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        }
      }
    } finally {
      unlinkSync(written)
    }
    throw new Error(
      `Could not take the lock ${lockFile}: it keeps reappearing. Is another process starting on ${folder}?`,
    )
  }

  /** Writes this holder to a file of this process's own beside the lock file; returns its name. */
  private writeAside(): string {
    const file = `${this.lockFile}.${process.pid}`
    writeFileSync(file, `${JSON.stringify(this.holder, null, 2)}\n`, { mode: 0o644 })
    return file
  }

  /** Adds details to the lock (e.g. the URL once the app listens), for the message a second process shows. */
  update(details: Partial<Pick<LockHolder, 'url' | 'command'>>): void {
    if (this.released) return
    this.holder = { ...this.holder, ...details }
    renameSync(this.writeAside(), this.lockFile)
  }

  /** Removes the lock file if it is still this process's. Safe to call more than once. */
  release(): void {
    if (this.released) return
    this.released = true
    process.removeListener('exit', this.releaseOnExit)
    const current = readHolder(this.lockFile)
    if (current && current.pid === this.holder.pid && current.since === this.holder.since) {
      try {
        unlinkSync(this.lockFile)
      } catch {
        /* already gone */
      }
    }
  }
}
