/**
 * (d) History at 10k and 100k stored updates: reconstruction of a random past
 * state (`docAt`, in its own process on a copy of the store), a random
 * version through the API (board and ledger at version n, as a sheet), and a
 * redline of two random versions through the API. No peer keeps history:
 * Hocuspocus stores one merged state, the stock server nothing, so there is
 * no ratio — the target is absolute (under 20 ms at 100k).
 */
import { join } from 'node:path'
import type { HistoryConfig, HistoryResult } from '../load/history'
import { copyOf, historyFixture } from '../lib/fixtures'
import type { BenchOptions } from '../lib/options'
import { loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { runWorker, startServer } from '../lib/servers'
import { coldLoadSizes } from './coldload'
import { log } from './fanout'

const METRICS: Metric[] = [
  { key: 'docAtP50', label: 'docAt(random seq) p50', format: 'ms', better: 'lower' },
  { key: 'docAtP99', label: 'docAt(random seq) p99', format: 'ms', better: 'lower' },
  { key: 'versionP50', label: 'GET versions/:n (random) p50', format: 'ms', better: 'lower' },
  { key: 'versionP99', label: 'GET versions/:n (random) p99', format: 'ms', better: 'lower' },
  { key: 'redlineP50', label: 'GET diff (random pair) p50', format: 'ms', better: 'lower' },
  { key: 'redlineP99', label: 'GET diff (random pair) p99', format: 'ms', better: 'lower' },
]

export async function runHistory(opts: BenchOptions): Promise<CaseResult[]> {
  if (!opts.targets.includes('parley')) return []
  const samples = opts.quick ? 10 : 50
  const results: CaseResult[] = []
  for (const count of coldLoadSizes(opts)) {
    log(`\n[d-${count / 1000}k] history of a doc with ${count} stored updates — load average ${loadAverage().join(' ')}`)
    const fixture = await historyFixture(count, ['parley'])
    const f = fixture.targets.parley!
    const c: CaseResult = {
      scenario: 'history',
      case: `d-${count / 1000}k`,
      title: `(d) history of a board with ${count.toLocaleString('en-US')} stored updates (Parley only; ${samples} samples per round)`,
      metrics: METRICS,
      rounds: {},
      notes: ['No peer keeps a history to reconstruct: Hocuspocus stores one merged state per doc, the stock server nothing.'],
    }
    let unavailable: string | undefined
    for (let round = 0; round < opts.rounds; round++) {
      const dir = copyOf(f.dir)
      const storeRun = await runWorker<HistoryConfig, HistoryResult>('bench/load/history.ts', {
        mode: 'store',
        file: join(dir, 'parley.db'),
        docName: f.docName,
        samples,
        seed: round + 1,
      })
      const server = await startServer('parley', { dataDir: dir })
      let apiRun: HistoryResult
      try {
        apiRun = await runWorker<HistoryConfig, HistoryResult>('bench/load/history.ts', {
          mode: 'api',
          url: server.url,
          negotiationId: f.negotiationId!,
          token: f.reviewerToken!,
          samples,
          seed: round + 1,
        })
      } finally {
        await server.stop()
      }
      unavailable = apiRun.redlineUnavailable
      const r = { ...storeRun, ...apiRun }
      ;(c.rounds.parley ??= []).push({
        docAtP50: r.docAtP50!,
        docAtP99: r.docAtP99!,
        versionP50: r.versionP50!,
        versionP99: r.versionP99!,
        redlineP50: r.redlineP50 ?? NaN,
        redlineP99: r.redlineP99 ?? NaN,
      })
      log(
        `  round ${round + 1}/${opts.rounds} parley  docAt p50 ${r.docAtP50!.toFixed(2)} p99 ${r.docAtP99!.toFixed(2)} ms (head ${r.head})  ` +
          `version p50 ${r.versionP50!.toFixed(2)} p99 ${r.versionP99!.toFixed(2)} ms (${r.versions} versions)  ` +
          (r.redlineP50 !== undefined
            ? `redline p50 ${r.redlineP50.toFixed(2)} p99 ${r.redlineP99!.toFixed(2)} ms`
            : `redline: ${unavailable}`),
      )
    }
    if (unavailable) c.notes.push(`Redline not measured: ${unavailable} (the diff route is not there yet).`)
    results.push(c)
  }
  return results
}
