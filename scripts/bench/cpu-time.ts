// CPU time of a process from /proc (Linux), in milliseconds: what the benchmarks compare.
import { readFileSync } from 'node:fs'

const CLOCK_TICK_MS = 10

/** User + system time of one process so far; 0 if it is gone (or not on Linux). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS
  } catch {
    return 0 // gone, or not Linux
  }
}

/** The busy time of the whole machine so far, all cores. */
export function machineCpuMs(): number {
  try {
    const [, ...times] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number)
    const idle = times[3]! + times[4]!
    return (times.slice(0, 8).reduce((a, b) => a + b, 0) - idle) * CLOCK_TICK_MS
  } catch {
    return 0
  }
}
