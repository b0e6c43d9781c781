/**
 * (e) Memory of 10,000 idle connections: observers spread over 100
 * negotiations' boards (100 each), all synced, nothing typed. The server's
 * resident set after they settled, its peak, and the growth per connection
 * over the server's resident set before the first one.
 */
import type { IdleConfig, IdleResult } from '../load/idle'
import type { BenchOptions } from '../lib/options'
import { loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { prepareRooms } from '../lib/rooms'
import { protocolOf, runWorker, startServer } from '../lib/servers'
import { log } from './fanout'

const METRICS: Metric[] = [
  { key: 'rss', label: 'server RSS with all connected', format: 'mib', better: 'lower' },
  { key: 'peakRss', label: 'server peak RSS', format: 'mib', better: 'lower' },
  { key: 'perConnection', label: 'RSS growth per connection', format: 'kib', better: 'lower' },
  { key: 'connectSeconds', label: 'time to connect and sync all (s)', format: 'cpu', better: 'lower' },
]

export async function runIdle(opts: BenchOptions): Promise<CaseResult[]> {
  const connections = opts.quick ? 1000 : 10_000
  const roomCount = opts.quick ? 10 : 100
  if (opts.cases && !opts.cases.includes('e-10k')) return []
  const targets = opts.targets.filter((t) => t !== 'hocuspocus-sqlite')
  const c: CaseResult = {
    scenario: 'idle',
    case: 'e-10k',
    title: `(e) ${connections.toLocaleString('en-US')} idle connections over ${roomCount} negotiations`,
    metrics: METRICS,
    rounds: {},
    notes: [
      'Hocuspocus with SQLite is left out: with no writes its memory is that of Hocuspocus in memory.',
      "Parley loads each board's ledger doc too (a board pins its ledger), so it holds 2 docs per negotiation.",
    ],
  }
  log(`\n[e-10k] ${connections} idle connections — load average ${loadAverage().join(' ')}`)
  // Memory barely moves between rounds; two keep a full run near 15 minutes.
  const rounds = Math.min(opts.rounds, 2)
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const server = await startServer(target)
      try {
        const rooms = await prepareRooms(server, roomCount)
        const r = await runWorker<IdleConfig, IdleResult>('bench/load/idle.ts', {
          protocol: protocolOf(target),
          rooms,
          connections,
          settleMs: 3000,
          serverPid: server.pid,
        })
        if (r.open < connections) throw new Error(`${target}: only ${r.open} of ${connections} connections stayed open`)
        ;(c.rounds[target] ??= []).push({
          rss: r.rss,
          peakRss: r.peakRss,
          perConnection: r.perConnectionBytes,
          connectSeconds: r.connectSeconds,
        })
        log(
          `  round ${round + 1}/${rounds} ${target.padEnd(17)} rss ${(r.rss / 2 ** 20).toFixed(0)} MiB (peak ${(r.peakRss / 2 ** 20).toFixed(0)}, ` +
            `before ${(r.baselineRss / 2 ** 20).toFixed(0)}), ${(r.perConnectionBytes / 1024).toFixed(1)} KiB/connection, connected in ${r.connectSeconds.toFixed(1)} s`,
        )
      } finally {
        await server.stop()
      }
    }
  }
  return [c]
}
