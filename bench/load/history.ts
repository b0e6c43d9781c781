/**
 * Client side of scenario (d), in its own process (config and result over IPC).
 *
 * store: opens a copy of Parley's SQLite store with a fresh VersionIndex and
 *   HistoryQueries, as a restarted server has them, and times
 *   `HistoryQueries.boardAt` (the board as plain attributed state, read from
 *   the materialised history) at random seqs: the first call alone, then
 *   `samples` more. As a reference, `docAt` (server/history/reconstruct.ts: a
 *   Y.Doc rebuilt from the nearest checkpoint and the log) at random seqs,
 *   within a time budget (at 1M it takes seconds a call).
 * api: against a Parley just started on a copy of the store: the first
 *   history request after the start, alone (GET …/versions/:n of a random n);
 *   the number of versions (GET …/versions/density?buckets=1); then, warm,
 *   the first page of the version list (GET …/versions?limit=500), random
 *   versions (GET …/versions/:n: board and ledger at version n, as a sheet)
 *   and redlines of random pairs (GET …/diff?from=N&to=M).
 * first: against another fresh Parley: a version of the small warm-up
 *   negotiation first (so the code is warm), then the big negotiation's first
 *   history request, alone — what is left of the first request's cost once
 *   the server's code is warm (i.e. what this negotiation's data costs) —,
 *   then its first version list (GET …/versions?limit=500), alone.
 */
import { SqliteStore } from '../../server/store/sqlite'
import { docAt } from '../../server/history/reconstruct'
import { HistoryQueries } from '../../server/history/queries'
import { VersionIndex } from '../../server/history/versionIndex'
import { prng } from '../../tests/helpers/prng'
import { percentile } from '../lib/stats'

export type HistoryConfig =
  | {
      mode: 'store'
      file: string
      negotiationId: string
      docName: string
      samples: number
      /** docAt: at most this many samples, and no more once `docAtBudgetMs` is spent (at least 3) */
      docAtSamples: number
      docAtBudgetMs: number
      seed: number
    }
  | { mode: 'api'; url: string; negotiationId: string; token: string; versions: number; samples: number; seed: number }
  | {
      mode: 'first'
      url: string
      negotiationId: string
      token: string
      versions: number
      warm: { negotiationId: string; token: string }
      seed: number
    }

export interface HistoryResult {
  /** store mode */
  boardAtFirst?: number
  boardAtP50?: number
  boardAtP99?: number
  docAtP50?: number
  docAtP99?: number
  docAtSamples?: number
  head?: number
  /** api mode */
  firstVersionMs?: number
  listP50?: number
  listP99?: number
  versionP50?: number
  versionP99?: number
  /** versions of the negotiation, from GET …/versions/density?buckets=1 */
  versions?: number
  redlineP50?: number
  redlineP99?: number
  /** why the redline was not measured */
  redlineUnavailable?: string
  /** first mode */
  firstAfterWarmMs?: number
  /** first mode: then the board's first version list (GET …/versions?limit=500) */
  firstListMs?: number
}

async function storeMode(cfg: Extract<HistoryConfig, { mode: 'store' }>): Promise<HistoryResult> {
  const store = new SqliteStore(cfg.file)
  const index = new VersionIndex({ store, negotiation: (id) => store.getNegotiation(id), log: () => {} })
  const queries = new HistoryQueries(store, index, (id) => store.getNegotiation(id))
  try {
    const head = await store.headSeq(cfg.docName)
    const rand = prng(cfg.seed)
    const seqAt = () => 1 + Math.floor(rand() * head)
    const timed = async (fn: () => Promise<unknown>) => {
      const t = performance.now()
      await fn()
      return performance.now() - t
    }
    // The first read of a fresh index and reader, alone: what a restarted server's first past board costs.
    const boardAtFirst = await timed(() => queries.boardAt(cfg.negotiationId, seqAt()))
    const boardTimes: number[] = []
    for (let i = 0; i < cfg.samples; i++) boardTimes.push(await timed(() => queries.boardAt(cfg.negotiationId, seqAt())))

    // One untimed call so the first sample does not pay for JIT and page cache.
    ;(await docAt(store, cfg.docName, head)).destroy()
    const docTimes: number[] = []
    const budgetEnds = performance.now() + cfg.docAtBudgetMs
    while (docTimes.length < cfg.docAtSamples && (docTimes.length < 3 || performance.now() < budgetEnds)) {
      const seq = seqAt()
      const t = performance.now()
      const doc = await docAt(store, cfg.docName, seq)
      docTimes.push(performance.now() - t)
      doc.destroy()
    }
    return {
      boardAtFirst,
      boardAtP50: percentile(boardTimes, 50),
      boardAtP99: percentile(boardTimes, 99),
      docAtP50: percentile(docTimes, 50),
      docAtP99: percentile(docTimes, 99),
      docAtSamples: docTimes.length,
      head,
    }
  } finally {
    await index.close()
    await store.close()
  }
}

function client(url: string) {
  return async (negotiationId: string, token: string, path: string) => {
    const t = performance.now()
    const res = await fetch(`${url}/api/negotiations/${negotiationId}${path}`, { headers: { authorization: `Bearer ${token}` } })
    const body = await res.text()
    const ms = performance.now() - t
    if (res.status !== 200) throw new Error(`GET …${path}: ${res.status} ${body.slice(0, 200)}`)
    return { ms, body }
  }
}

async function apiMode(cfg: Extract<HistoryConfig, { mode: 'api' }>): Promise<HistoryResult> {
  const http = client(cfg.url)
  const get = (path: string) => http(cfg.negotiationId, cfg.token, path)
  const rand = prng(cfg.seed)
  const pick = () => 1 + Math.floor(rand() * cfg.versions)

  // The server was just started: this is its first history request, timed alone.
  const firstVersionMs = (await get(`/versions/${pick()}`)).ms

  const total = (JSON.parse((await get('/versions/density?buckets=1')).body) as { total: number }).total
  if (total !== cfg.versions) throw new Error(`the server counts ${total} versions, the fixture ${cfg.versions}`)
  for (let i = 0; i < 3; i++) await get(`/versions/${pick()}`) // warm-up, untimed

  const listTimes: number[] = []
  const pageSize = Math.min(500, total)
  for (let i = 0; i < cfg.samples; i++) {
    const r = await get('/versions?limit=500')
    const got = (JSON.parse(r.body) as { versions: unknown[] }).versions.length
    if (got !== pageSize) throw new Error(`GET …/versions?limit=500 gave ${got} versions, expected ${pageSize}`)
    listTimes.push(r.ms)
  }

  const versionTimes: number[] = []
  for (let i = 0; i < cfg.samples; i++) versionTimes.push((await get(`/versions/${pick()}`)).ms)

  const redlineTimes: number[] = []
  for (let i = 0; i < cfg.samples; i++) {
    const a = pick()
    const b = pick()
    redlineTimes.push((await get(`/diff?from=${Math.min(a, b)}&to=${Math.max(a, b)}`)).ms)
  }
  return {
    firstVersionMs,
    versions: total,
    listP50: percentile(listTimes, 50),
    listP99: percentile(listTimes, 99),
    versionP50: percentile(versionTimes, 50),
    versionP99: percentile(versionTimes, 99),
    redlineP50: percentile(redlineTimes, 50),
    redlineP99: percentile(redlineTimes, 99),
  }
}

async function firstMode(cfg: Extract<HistoryConfig, { mode: 'first' }>): Promise<HistoryResult> {
  const http = client(cfg.url)
  // Warm the code on the small negotiation: its version list, a version and a redline.
  const warm = (path: string) => http(cfg.warm.negotiationId, cfg.warm.token, path)
  const list = JSON.parse((await warm('/versions?limit=1')).body) as { versions: Array<{ n: number }> }
  const n = list.versions[0]?.n
  if (n !== undefined) {
    await warm(`/versions/${n}`)
    await warm(`/diff?from=0&to=${n}`)
  }
  const rand = prng(cfg.seed)
  const pick = 1 + Math.floor(rand() * cfg.versions)
  const firstAfterWarmMs = (await http(cfg.negotiationId, cfg.token, `/versions/${pick}`)).ms
  // The version list is what the History panel asks for first; on a board the server has not indexed since
  // its start it waits for the index to open (catch up from the stored versions and history).
  const firstListMs = (await http(cfg.negotiationId, cfg.token, '/versions?limit=500')).ms
  return { firstAfterWarmMs, firstListMs }
}

process.once('message', (cfg: HistoryConfig) => {
  ;(cfg.mode === 'store' ? storeMode(cfg) : cfg.mode === 'api' ? apiMode(cfg) : firstMode(cfg)).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  )
})
