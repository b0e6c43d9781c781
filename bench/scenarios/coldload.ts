/**
 * (c) Cold load: a server process started on a store holding a doc with 10k
 * and 100k stored updates (1M with `--sizes=1000000`, npm run bench:1m);
 * after a warm-up client on another doc, the time from a new websocket to
 * the first client having the big doc's state (sync step 2 received), and
 * the store's bytes on disk: the database files, the whole data dir, and (Parley) the
 * materialised history's tables. Only servers that persist compete: Parley and
 * Hocuspocus with its SQLite extension. The stock y-websocket server keeps
 * docs in memory only (its LevelDB option needs leveldown, whose native build
 * this project does not allow), so it has nothing to load.
 *
 * With --profile: a CPU profile of Parley over the last round's load (warm-up
 * client and cold load), in bench/results/profiles/.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { ColdLoadConfig, MeasureResult } from '../load/coldload'
import { copyOf, endpointFor, historyFixture, removeCopy, type PersistingTarget, type TargetFixture } from '../lib/fixtures'
import { WindowProfiler } from '../lib/inspector'
import { sizeLabel, type BenchOptions } from '../lib/options'
import { memory, loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { protocolOf, ROOT, runWorker, startServer } from '../lib/servers'
import { HISTORY_TABLES } from '../lib/storeStats'
import { log } from './fanout'

const METRICS: Metric[] = [
  { key: 'ms', label: 'connect → synced (cold room)', format: 'ms', better: 'lower' },
  { key: 'storeBytes', label: 'store bytes on disk (database files)', format: 'bytes', better: 'lower' },
  { key: 'dataDirBytes', label: 'whole data dir', format: 'bytes', better: 'lower' },
  { key: 'historyBytes', label: 'of which materialised history (history_* tables)', format: 'bytes', better: 'lower' },
  { key: 'rss', label: 'server RSS after load', format: 'mib', better: 'lower' },
]

/**
 * Sizes of the (c) and (d) boards: --sizes, else 10k and 100k (--quick: 2k and 10k); --cases filters them
 * by id (c-100k, d-1M; either prefix selects the size for both scenarios).
 */
export function benchSizes(opts: BenchOptions, prefix: 'c' | 'd'): number[] {
  const all = opts.sizes ?? (opts.quick ? [2_000, 10_000] : [10_000, 100_000])
  if (!opts.cases) return all
  const cases = opts.cases
  return all.filter((n) => cases.includes(`${prefix}-${sizeLabel(n)}`) || cases.includes(`c-${sizeLabel(n)}`))
}

const MiB = 2 ** 20
const KiB = 1024

/** Where a Parley store's bytes are, table by table (dbstat), for the case's notes. */
function tableNote(f: TargetFixture): string {
  const tables = f.tables ?? []
  const total = tables.reduce((n, t) => n + t.bytes, 0)
  const fmt = (b: number) => (b >= MiB ? `${(b / MiB).toFixed(2)} MiB` : `${(b / KiB).toFixed(0)} KiB`)
  const big = tables.filter((t) => t.bytes >= total / 100 && !(HISTORY_TABLES as readonly string[]).includes(t.name))
  const history = HISTORY_TABLES.map((t) => `${t} ${fmt(f.historyBytes?.[t] ?? 0)}`)
  return (
    `Parley's store by table (SQLite dbstat, pages incl. free space in them): ${big.map((t) => `${t.name} ${fmt(t.bytes)}`).join(', ')}; ` +
    `materialised history: ${history.join(', ')}; ${f.versions?.toLocaleString('en-US') ?? '?'} versions.`
  )
}

export async function runColdLoad(opts: BenchOptions): Promise<CaseResult[]> {
  const targets = opts.targets.filter((t): t is PersistingTarget => t === 'parley' || t === 'hocuspocus-sqlite')
  const results: CaseResult[] = []
  for (const count of benchSizes(opts, 'c')) {
    const id = `c-${sizeLabel(count)}`
    log(`\n[${id}] cold load of a doc with ${count} stored updates — load average ${loadAverage().join(' ')}`)
    const fixture = await historyFixture(count, targets)
    const c: CaseResult = {
      scenario: 'coldload',
      case: id,
      title: `(c) cold load of a doc with ${count.toLocaleString('en-US')} stored updates (state ${(fixture.stateBytes / 1024).toFixed(0)} KiB, updates ${(fixture.updateBytes / 1024).toFixed(0)} KiB)`,
      metrics: METRICS,
      rounds: {},
      notes: [
        'The stock y-websocket server is not in this table: it keeps docs in memory only, so there is nothing to load.',
        'Hocuspocus-sqlite stores one merged state per doc (no history); Parley stores every update with its author, a hash chain, checkpoints, the version index and the materialised history.',
        ...(fixture.targets.parley ? [tableNote(fixture.targets.parley)] : []),
      ],
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (const target of targets) {
        const f = fixture.targets[target]!
        const dir = copyOf(f.dir)
        const profile = opts.profile && target === 'parley' && round === opts.rounds - 1
        const server = await startServer(target, { dataDir: dir, inspect: profile })
        try {
          const config: ColdLoadConfig = {
            mode: 'measure',
            protocol: protocolOf(target),
            docName: f.docName,
            endpoint: endpointFor(server, f.reader, target),
            warm: { docName: f.warm.docName, endpoint: endpointFor(server, f.warm.reader, target) },
            digest: fixture.digest,
          }
          let profiler: WindowProfiler | null = null
          if (profile) {
            profiler = await WindowProfiler.attach(server.inspectPort!)
            await profiler.start()
          }
          const r = await runWorker<ColdLoadConfig, MeasureResult>('bench/load/coldload.ts', config, 5 * 60_000)
          if (profiler) {
            const profiles = join(ROOT, 'bench', 'results', 'profiles')
            mkdirSync(profiles, { recursive: true })
            const file = join(profiles, `${id}-${target}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`)
            await profiler.stopTo(file)
            log(`  profile of the cold load (warm-up client included): ${file}`)
          }
          if (!r.matches) throw new Error(`${target}: the loaded doc differs from the history that was sent`)
          const rss = memory(server.pid).rss
          const historyBytes = f.historyBytes ? Object.values(f.historyBytes).reduce((a, b) => a + b, 0) : NaN
          ;(c.rounds[target] ??= []).push({ ms: r.ms, storeBytes: f.storeBytes, dataDirBytes: f.dataDirBytes, historyBytes, rss })
          log(
            `  round ${round + 1}/${opts.rounds} ${target.padEnd(17)} ${r.ms.toFixed(1)} ms to synced, store ${(f.storeBytes / 1024).toFixed(0)} KiB ` +
              `(data dir ${(f.dataDirBytes / 1024).toFixed(0)} KiB), rss ${(rss / 2 ** 20).toFixed(0)} MiB`,
          )
        } finally {
          await server.stop()
          removeCopy(dir)
        }
      }
    }
    results.push(c)
  }
  return results
}
