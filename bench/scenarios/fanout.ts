/**
 * (a) one negotiation, 2 writers at 20 edits/s, 10 / 100 / 500 observers, and
 *     500 with every client announcing awareness;
 * (b) 50 negotiations × (2 writers + 4 observers).
 * Each case runs every target once per round (A B C D, A B C D, …), each time
 * on a fresh server process; the generator is a separate process.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FanoutConfig, FanoutResult } from '../load/fanout'
import type { BenchOptions } from '../lib/options'
import { loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { prepareRooms } from '../lib/rooms'
import { ROOT, protocolOf, runWorker, startServer, type TargetName } from '../lib/servers'

export interface FanoutCase {
  id: string
  title: string
  rooms: number
  observersPerRoom: number
  awareness: boolean
  targets: TargetName[]
}

const METRICS: Metric[] = [
  { key: 'p50', label: 'edit→observer p50', format: 'ms', better: 'lower' },
  { key: 'p99', label: 'edit→observer p99', format: 'ms', better: 'lower' },
  { key: 'deliveriesPerSec', label: 'deliveries/s', format: 'int', better: 'higher' },
  { key: 'cpuPer1000', label: 'server CPU s / 1,000 deliveries', format: 'cpu', better: 'lower' },
  { key: 'peakRss', label: 'server peak RSS', format: 'mib', better: 'lower' },
  { key: 'missing', label: 'deliveries missing after drain', format: 'int', better: 'lower' },
]

export function fanoutCases(opts: BenchOptions): FanoutCase[] {
  // Every target in every case: Parley's CPU is held against Hocuspocus with SQLite (the peer that persists)
  // and against the floor in each of them (issue 19).
  const small = opts.targets
  const all: FanoutCase[] = [
    {
      id: 'a-10',
      title: '(a) 1 negotiation, 2 writers × 20 edits/s, 10 observers',
      rooms: 1,
      observersPerRoom: 10,
      awareness: false,
      targets: small,
    },
    {
      id: 'a-100',
      title: '(a) 1 negotiation, 2 writers × 20 edits/s, 100 observers',
      rooms: 1,
      observersPerRoom: 100,
      awareness: false,
      targets: small,
    },
    {
      id: 'a-500',
      title: '(a) 1 negotiation, 2 writers × 20 edits/s, 500 observers',
      rooms: 1,
      observersPerRoom: opts.quick ? 100 : 500,
      awareness: false,
      targets: opts.targets,
    },
    {
      id: 'a-500-awareness',
      title: '(a) 500 observers, every client announcing awareness (writers move their cursor with each edit)',
      rooms: 1,
      observersPerRoom: opts.quick ? 100 : 500,
      awareness: true,
      targets: opts.targets,
    },
  ]
  return all.filter((c) => !opts.cases || opts.cases.includes(c.id))
}

export function roomsCases(opts: BenchOptions): FanoutCase[] {
  const all: FanoutCase[] = [
    {
      id: 'b-50',
      title: '(b) 50 negotiations × (2 writers × 20 edits/s + 4 observers)',
      rooms: opts.quick ? 10 : 50,
      observersPerRoom: 4,
      awareness: false,
      targets: opts.targets,
    },
  ]
  return all.filter((c) => !opts.cases || opts.cases.includes(c.id))
}

export async function runFanoutCase(c: FanoutCase, opts: BenchOptions): Promise<CaseResult> {
  const result: CaseResult = {
    scenario: c.id.startsWith('b') ? 'rooms' : 'fanout',
    case: c.id,
    title: c.title,
    metrics: METRICS,
    rounds: {},
    notes: [],
  }
  log(`\n[${c.id}] ${c.title} — load average ${loadAverage().join(' ')}`)
  for (let round = 0; round < opts.rounds; round++) {
    for (const target of c.targets) {
      const r = await runOnce(target, c, opts, opts.profile && target === 'parley' && round === opts.rounds - 1)
      ;(result.rounds[target] ??= []).push({
        p50: r.p50,
        p99: r.p99IsLowerBound ? Infinity : r.p99,
        deliveriesPerSec: r.deliveriesPerSec,
        cpuPer1000: r.cpuPer1000,
        peakRss: r.serverPeakRss,
        missing: r.missing,
      })
      const closes = Object.entries(r.unexpectedCloses)
        .map(([code, n]) => `${n}×${code}`)
        .join(' ')
      log(
        `  round ${round + 1}/${opts.rounds} ${target.padEnd(17)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99IsLowerBound ? '≥' : ''}${r.p99.toFixed(2)} ms  ` +
          `${Math.round(r.deliveriesPerSec)} deliveries/s  cpu ${r.serverCpuSeconds.toFixed(2)} s (${r.cpuPer1000.toFixed(3)}/1k)  ` +
          `rss ${(r.serverPeakRss / 2 ** 20).toFixed(0)} MiB  gen cpu ${(r.generatorCpuSeconds / r.windowSeconds).toFixed(2)}/s` +
          (r.missing ? `  missing ${r.missing}/${r.expected}` : '') +
          (closes ? `  closes ${closes}` : '') +
          (r.denied ? `  denied ${r.denied}` : ''),
      )
      if (opts.profile || process.env.BENCH_THREADS)
        log(
          `    threads: ${Object.entries(r.serverThreads)
            .map(([name, t]) => `${name} ${t.user.toFixed(2)}u+${t.system.toFixed(2)}s`)
            .join(', ')}`,
        )
    }
  }
  if (c.awareness) {
    result.notes.push(
      'Clients of y-websocket servers (Parley, stock) echo every awareness update new to them, as the stock WebsocketProvider does; Hocuspocus clients do not, as HocuspocusProvider does not.',
      "Parley does not relay watchers' awareness (CONTRACT.md); the peers relay everyone's.",
    )
  }
  result.notes.push("∞ p99: more than 1 % of the window's deliveries had not arrived by the end of the drain.")
  return result
}

export async function runOnce(target: TargetName, c: FanoutCase, opts: BenchOptions, profile: boolean): Promise<FanoutResult> {
  const server = await startServer(target, { inspect: profile })
  let profileFile: string | undefined
  if (profile) {
    const dir = join(ROOT, 'bench', 'results', 'profiles')
    mkdirSync(dir, { recursive: true })
    profileFile = join(dir, `${c.id}-${target}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`)
  }
  try {
    const rooms = await prepareRooms(server, c.rooms)
    const config: FanoutConfig = {
      protocol: protocolOf(target),
      rooms,
      observersPerRoom: c.observersPerRoom,
      editsPerSecond: 20,
      awareness: c.awareness,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      drainMs: Math.max(2000, opts.durationMs / 2),
      serverPid: server.pid,
      ...(profileFile ? { profile: { inspectPort: server.inspectPort!, file: profileFile } } : {}),
    }
    if (profileFile) log(`  profile of the window: ${profileFile}`)
    return await runWorker<FanoutConfig, FanoutResult>('bench/load/fanout.ts', config, 5 * 60_000)
  } finally {
    await server.stop()
  }
}

export const log = (line: string) => process.stderr.write(line + '\n')
