/**
 * (c) Cold load: a server process started on a store holding a doc with 10k
 * (100k) stored updates; after a warm-up client on another doc, the time from
 * a new websocket to the first client having the big doc's state (sync step
 * 2 received), and the store's bytes on disk. Only servers that persist
 * compete: Parley and Hocuspocus with its SQLite extension. The stock
 * y-websocket server keeps docs in memory only (its LevelDB option needs
 * leveldown, whose native build this project does not allow), so it has
 * nothing to load.
 */
import type { ColdLoadConfig, MeasureResult } from '../load/coldload'
import { copyOf, endpointFor, historyFixture, type PersistingTarget } from '../lib/fixtures'
import type { BenchOptions } from '../lib/options'
import { memory, loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { protocolOf, runWorker, startServer } from '../lib/servers'
import { log } from './fanout'

const METRICS: Metric[] = [
  { key: 'ms', label: 'connect → synced (cold room)', format: 'ms', better: 'lower' },
  { key: 'storeBytes', label: 'store bytes on disk', format: 'bytes', better: 'lower' },
  { key: 'rss', label: 'server RSS after load', format: 'mib', better: 'lower' },
]

export function coldLoadSizes(opts: BenchOptions): number[] {
  const all = opts.quick ? [2_000, 10_000] : [10_000, 100_000]
  const ids = all.map((n) => `c-${n / 1000}k`)
  return all.filter((_, i) => !opts.cases || opts.cases.includes(ids[i]!))
}

export async function runColdLoad(opts: BenchOptions): Promise<CaseResult[]> {
  const targets = opts.targets.filter((t): t is PersistingTarget => t === 'parley' || t === 'hocuspocus-sqlite')
  const results: CaseResult[] = []
  for (const count of coldLoadSizes(opts)) {
    log(`\n[c-${count / 1000}k] cold load of a doc with ${count} stored updates — load average ${loadAverage().join(' ')}`)
    const fixture = await historyFixture(count, targets)
    const c: CaseResult = {
      scenario: 'coldload',
      case: `c-${count / 1000}k`,
      title: `(c) cold load of a doc with ${count.toLocaleString('en-US')} stored updates (state ${(fixture.stateBytes / 1024).toFixed(0)} KiB, updates ${(fixture.updateBytes / 1024).toFixed(0)} KiB)`,
      metrics: METRICS,
      rounds: {},
      notes: [
        'The stock y-websocket server is not in this table: it keeps docs in memory only, so there is nothing to load.',
        'Hocuspocus-sqlite stores one merged state per doc (no history); Parley stores every update with its author, a hash chain and checkpoints.',
      ],
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (const target of targets) {
        const f = fixture.targets[target]!
        const dir = copyOf(f.dir)
        const server = await startServer(target, { dataDir: dir })
        try {
          const config: ColdLoadConfig = {
            mode: 'measure',
            protocol: protocolOf(target),
            docName: f.docName,
            endpoint: endpointFor(server, f.reader, target),
            warm: { docName: f.warm.docName, endpoint: endpointFor(server, f.warm.reader, target) },
            digest: fixture.digest,
          }
          const r = await runWorker<ColdLoadConfig, MeasureResult>('bench/load/coldload.ts', config, 5 * 60_000)
          if (!r.matches) throw new Error(`${target}: the loaded doc differs from the history that was sent`)
          const rss = memory(server.pid).rss
          ;(c.rounds[target] ??= []).push({ ms: r.ms, storeBytes: f.storeBytes, rss })
          log(
            `  round ${round + 1}/${opts.rounds} ${target.padEnd(17)} ${r.ms.toFixed(1)} ms to synced, store ${(f.storeBytes / 1024).toFixed(0)} KiB, rss ${(rss / 2 ** 20).toFixed(0)} MiB`,
          )
        } finally {
          await server.stop()
        }
      }
    }
    results.push(c)
  }
  return results
}
