/**
 * (d) History of the generated board at each size (10k and 100k by default;
 * 1M with `--sizes=1000000`, npm run bench:1m), every figure a median of
 * rounds; per round on fresh copies of the fixture's store (its versions and
 * materialised history already built, bench/lib/fixtures.ts):
 *
 *   - in-process (its own process, a fresh VersionIndex and HistoryQueries as
 *     a restarted server has them): the board at a random seq
 *     (`HistoryQueries.boardAt`, from the materialised history), and `docAt`
 *     (a Y.Doc rebuilt from checkpoint and log) as a reference;
 *   - through the HTTP API of a Parley just started on the store: the first
 *     history request after the start, alone (GET …/versions/:n), against the
 *     same request warm; the first page of the version list; a random
 *     version; the redline of a random pair of versions; the version count;
 *   - through a second fresh Parley: the first request on the big negotiation
 *     after warming the code on the small one (what the data costs, without
 *     the code's own warm-up), then its first version list (which waits for
 *     the version index to open the board: what the History panel asks first).
 *
 * No peer keeps history: Hocuspocus stores one merged state, the stock server
 * nothing, so there is no ratio; the targets are absolute (issue 12, printed
 * by bench/lib/targets.ts).
 */
import { join } from 'node:path'
import type { HistoryConfig, HistoryResult } from '../load/history'
import { copyOf, historyFixture, removeCopy } from '../lib/fixtures'
import { sizeLabel, type BenchOptions } from '../lib/options'
import { loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { runWorker, startServer } from '../lib/servers'
import { benchSizes } from './coldload'
import { log } from './fanout'

const METRICS: Metric[] = [
  { key: 'boardAtP50', label: 'board at a random seq (`HistoryQueries.boardAt`) p50', format: 'ms', better: 'lower' },
  { key: 'boardAtP99', label: 'board at a random seq (`HistoryQueries.boardAt`) p99', format: 'ms', better: 'lower' },
  { key: 'boardAtFirst', label: 'first `boardAt` of a fresh index (restart, in-process)', format: 'ms', better: 'lower' },
  { key: 'docAtP50', label: 'reference: `docAt` (Y.Doc from checkpoint + log) p50', format: 'ms', better: 'lower' },
  { key: 'docAtP99', label: 'reference: `docAt` (Y.Doc from checkpoint + log) p99', format: 'ms', better: 'lower' },
  { key: 'firstVersionMs', label: 'first history request after start: GET versions/:n', format: 'ms', better: 'lower' },
  { key: 'firstRatio', label: 'first request / warm GET versions/:n p50', format: 'ratio', better: 'lower' },
  {
    key: 'firstAfterWarmMs',
    label: 'first GET versions/:n of this board, code warmed on another board',
    format: 'ms',
    better: 'lower',
  },
  { key: 'firstListMs', label: 'then its first GET versions?limit=500 (the index opens)', format: 'ms', better: 'lower' },
  { key: 'firstListRatio', label: 'first version list / warm p50', format: 'ratio', better: 'lower' },
  { key: 'listP50', label: 'GET versions?limit=500 (first page) p50', format: 'ms', better: 'lower' },
  { key: 'listP99', label: 'GET versions?limit=500 (first page) p99', format: 'ms', better: 'lower' },
  { key: 'versionP50', label: 'GET versions/:n (random) p50', format: 'ms', better: 'lower' },
  { key: 'versionP99', label: 'GET versions/:n (random) p99', format: 'ms', better: 'lower' },
  { key: 'redlineP50', label: 'GET diff (random pair) p50', format: 'ms', better: 'lower' },
  { key: 'redlineP99', label: 'GET diff (random pair) p99', format: 'ms', better: 'lower' },
  { key: 'versions', label: 'versions (GET versions/density total)', format: 'int', better: 'lower' },
]

export async function runHistory(opts: BenchOptions): Promise<CaseResult[]> {
  if (!opts.targets.includes('parley')) return []
  const samples = opts.quick ? 10 : 50
  const results: CaseResult[] = []
  for (const count of benchSizes(opts, 'd')) {
    const id = `d-${sizeLabel(count)}`
    log(`\n[${id}] history of a doc with ${count} stored updates — load average ${loadAverage().join(' ')}`)
    const fixture = await historyFixture(count, ['parley'])
    const f = fixture.targets.parley!
    const c: CaseResult = {
      scenario: 'history',
      case: id,
      title: `(d) history of a board with ${count.toLocaleString('en-US')} stored updates (Parley only; ${samples} samples per round)`,
      metrics: METRICS,
      rounds: {},
      notes: [
        'No peer keeps a history to reconstruct: Hocuspocus stores one merged state per doc, the stock server nothing.',
        `Versions and materialised history built before timing (${f.materialiseSeconds?.toFixed(0) ?? '?'} s of indexing after the fill); every round on fresh copies of that store, each server freshly started.`,
      ],
    }
    let docAtSamples = 0
    for (let round = 0; round < opts.rounds; round++) {
      const storeDir = copyOf(f.dir)
      const storeRun = await runWorker<HistoryConfig, HistoryResult>('bench/load/history.ts', {
        mode: 'store',
        file: join(storeDir, 'parley.db'),
        negotiationId: f.negotiationId!,
        docName: f.docName,
        samples,
        docAtSamples: samples,
        docAtBudgetMs: opts.quick ? 5_000 : 30_000,
        seed: round + 1,
      })
      removeCopy(storeDir)
      docAtSamples = storeRun.docAtSamples ?? 0

      const apiRun = await onFreshServer(f.dir, (url) =>
        runWorker<HistoryConfig, HistoryResult>('bench/load/history.ts', {
          mode: 'api',
          url,
          negotiationId: f.negotiationId!,
          token: f.reviewerToken!,
          versions: f.versions!,
          samples,
          seed: round + 1,
        }),
      )
      const firstRun = await onFreshServer(f.dir, (url) =>
        runWorker<HistoryConfig, HistoryResult>('bench/load/history.ts', {
          mode: 'first',
          url,
          negotiationId: f.negotiationId!,
          token: f.reviewerToken!,
          versions: f.versions!,
          warm: { negotiationId: f.warmNegotiationId!, token: f.warmReviewerToken! },
          seed: round + 1,
        }),
      )
      const r = { ...storeRun, ...apiRun, ...firstRun }
      const record = {
        boardAtP50: r.boardAtP50!,
        boardAtP99: r.boardAtP99!,
        boardAtFirst: r.boardAtFirst!,
        docAtP50: r.docAtP50!,
        docAtP99: r.docAtP99!,
        firstVersionMs: r.firstVersionMs!,
        firstRatio: r.firstVersionMs! / r.versionP50!,
        firstAfterWarmMs: r.firstAfterWarmMs!,
        firstListMs: r.firstListMs!,
        firstListRatio: r.firstListMs! / r.listP50!,
        listP50: r.listP50!,
        listP99: r.listP99!,
        versionP50: r.versionP50!,
        versionP99: r.versionP99!,
        redlineP50: r.redlineP50!,
        redlineP99: r.redlineP99!,
        versions: r.versions!,
      }
      ;(c.rounds.parley ??= []).push(record)
      const ms = (v: number) => v.toFixed(2)
      log(
        `  round ${round + 1}/${opts.rounds} parley  boardAt p50 ${ms(r.boardAtP50!)} p99 ${ms(r.boardAtP99!)} (first ${ms(r.boardAtFirst!)}) ms, ` +
          `docAt p50 ${ms(r.docAtP50!)} p99 ${ms(r.docAtP99!)} ms (${r.docAtSamples} samples, head ${r.head}); ` +
          `first request ${ms(r.firstVersionMs!)} ms (${record.firstRatio.toFixed(2)}× warm; ${ms(r.firstAfterWarmMs!)} ms after warming on another board, ` +
          `then the first list ${ms(r.firstListMs!)} ms), ` +
          `list p50 ${ms(r.listP50!)} p99 ${ms(r.listP99!)}, version p50 ${ms(r.versionP50!)} p99 ${ms(r.versionP99!)}, ` +
          `redline p50 ${ms(r.redlineP50!)} p99 ${ms(r.redlineP99!)} ms (${r.versions} versions)`,
      )
    }
    if (docAtSamples < samples)
      c.notes.push(`\`docAt\` is a reference line, sampled within 30 s a round: ${docAtSamples} samples in the last round.`)
    results.push(c)
  }
  return results
}

/** A Parley started on a fresh copy of `dir`, stopped (and the copy removed) after `fn`. */
async function onFreshServer<T>(dir: string, fn: (url: string) => Promise<T>): Promise<T> {
  const copy = copyOf(dir)
  const server = await startServer('parley', { dataDir: copy })
  try {
    return await fn(server.url)
  } finally {
    await server.stop()
    removeCopy(copy)
  }
}
