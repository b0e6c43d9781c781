/**
 * What the kernel says about a process: CPU seconds (utime + stime from
 * /proc/<pid>/stat) and memory (VmRSS, and VmHWM — the peak resident set —
 * from /proc/<pid>/status). Linux only, which is where the bench runs.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

let ticksPerSecond: number | null = null
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** User + system CPU seconds the process has used so far (10 ms resolution). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may contain spaces; the fields after it start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks()
}

/**
 * CPU seconds the process's threads have spent on a CPU so far, user and system alike, in
 * nanoseconds' resolution: the sum of /proc/<pid>/task/<tid>/schedstat (its first field, the
 * scheduler's run time). `cpuSeconds` counts clock ticks (10 ms), too coarse for a window of a
 * few hundred keystrokes at tens of µs each. Threads that ended are lost, as in `threadCpu`;
 * falls back to `cpuSeconds` where the kernel keeps no schedstat.
 */
export function cpuSecondsFine(pid: number): number {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return cpuSeconds(pid)
  }
  let ns = 0
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return cpuSeconds(pid)
      // otherwise the thread ended meanwhile
    }
  }
  return ns / 1e9
}

/**
 * CPU seconds (user, system) per thread of a process, by thread name (comm; several threads of one
 * name, e.g. libuv's pool "node" workers, are summed). Shows what runs off the main thread.
 */
export function threadCpu(pid: number): Record<string, { user: number; system: number }> {
  const out: Record<string, { user: number; system: number }> = {}
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread ended meanwhile
    }
    const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const e = (out[name] ??= { user: 0, system: 0 })
    e.user += Number(fields[11]) / clockTicks()
    e.system += Number(fields[12]) / clockTicks()
  }
  return out
}

/** b − a per thread name (threads that ended in between are lost). */
export function threadCpuDelta(
  a: Record<string, { user: number; system: number }>,
  b: Record<string, { user: number; system: number }>,
): Record<string, { user: number; system: number }> {
  const out: Record<string, { user: number; system: number }> = {}
  for (const [name, v] of Object.entries(b)) {
    const before = a[name] ?? { user: 0, system: 0 }
    const d = { user: +(v.user - before.user).toFixed(2), system: +(v.system - before.system).toFixed(2) }
    if (d.user > 0 || d.system > 0) out[name] = d
  }
  return out
}

export interface MemoryInfo {
  /** resident set now, bytes */
  rss: number
  /** peak resident set since the process started, bytes */
  peakRss: number
}

export function memory(pid: number): MemoryInfo {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)
    return m ? Number(m[1]) * 1024 : 0
  }
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') }
}

/** The 1-minute load average, to report how quiet the machine was. */
export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
}
