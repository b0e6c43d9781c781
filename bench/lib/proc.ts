/**
 * What the kernel says about a process: CPU seconds (utime + stime from
 * /proc/<pid>/stat) and memory (VmRSS, and VmHWM — the peak resident set —
 * from /proc/<pid>/status). Linux only, which is where the bench runs.
 */
import { readFileSync } from 'node:fs'
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
