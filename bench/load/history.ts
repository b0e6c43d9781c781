/**
 * Client side of scenario (d), in its own process (config and result over IPC).
 *
 * store: opens a copy of Parley's SQLite store and times `docAt` (server/history/
 *   reconstruct.ts) of the board at random past seqs — the reconstruction
 *   itself, without HTTP.
 * api: against a Parley started on a copy of the store, times
 *   GET /api/negotiations/:id/versions/:n (board and ledger at version n, as a
 *   sheet) for random n, and GET …/diff?from=N&to=M (the redline) for random
 *   pairs when the server has that route.
 */
import { SqliteStore } from '../../server/store/sqlite'
import { docAt } from '../../server/history/reconstruct'
import { prng } from '../../tests/helpers/prng'
import { percentile } from '../lib/stats'

export type HistoryConfig =
  | { mode: 'store'; file: string; docName: string; samples: number; seed: number }
  | { mode: 'api'; url: string; negotiationId: string; token: string; samples: number; seed: number }

export interface HistoryResult {
  /** store mode */
  docAtP50?: number
  docAtP99?: number
  head?: number
  /** api mode */
  versionP50?: number
  versionP99?: number
  versions?: number
  redlineP50?: number
  redlineP99?: number
  /** why the redline was not measured */
  redlineUnavailable?: string
}

async function storeMode(cfg: Extract<HistoryConfig, { mode: 'store' }>): Promise<HistoryResult> {
  const store = new SqliteStore(cfg.file)
  try {
    const head = await store.headSeq(cfg.docName)
    const rand = prng(cfg.seed)
    const times: number[] = []
    // One untimed call so the first sample does not pay for JIT and page cache.
    ;(await docAt(store, cfg.docName, head)).destroy()
    for (let i = 0; i < cfg.samples; i++) {
      const seq = 1 + Math.floor(rand() * head)
      const t = performance.now()
      const doc = await docAt(store, cfg.docName, seq)
      times.push(performance.now() - t)
      doc.destroy()
    }
    return { docAtP50: percentile(times, 50), docAtP99: percentile(times, 99), head }
  } finally {
    await store.close()
  }
}

async function apiMode(cfg: Extract<HistoryConfig, { mode: 'api' }>): Promise<HistoryResult> {
  const get = async (path: string) => {
    const t = performance.now()
    const res = await fetch(`${cfg.url}/api/negotiations/${cfg.negotiationId}${path}`, {
      headers: { authorization: `Bearer ${cfg.token}` },
    })
    const body = await res.text()
    return { ms: performance.now() - t, status: res.status, body }
  }
  const list = await get('/versions')
  if (list.status !== 200) throw new Error(`GET versions: ${list.status} ${list.body.slice(0, 200)}`)
  const versions = (JSON.parse(list.body) as { versions: Array<{ n: number }> }).versions
  const last = versions[versions.length - 1]?.n ?? 0
  if (last === 0) throw new Error('the negotiation has no versions')
  const rand = prng(cfg.seed)
  const pick = () => 1 + Math.floor(rand() * last)
  await get(`/versions/${last}`) // warm-up, untimed

  const versionTimes: number[] = []
  for (let i = 0; i < cfg.samples; i++) {
    const r = await get(`/versions/${pick()}`)
    if (r.status !== 200) throw new Error(`GET version: ${r.status} ${r.body.slice(0, 200)}`)
    versionTimes.push(r.ms)
  }
  const result: HistoryResult = {
    versionP50: percentile(versionTimes, 50),
    versionP99: percentile(versionTimes, 99),
    versions: last,
  }

  const probe = await get(`/diff?from=${Math.max(1, last - 1)}&to=${last}`)
  if (probe.status !== 200) {
    result.redlineUnavailable = `GET …/diff answered ${probe.status}`
    return result
  }
  const redlineTimes: number[] = []
  for (let i = 0; i < cfg.samples; i++) {
    const a = pick()
    const b = pick()
    const r = await get(`/diff?from=${Math.min(a, b)}&to=${Math.max(a, b)}`)
    if (r.status !== 200) throw new Error(`GET diff: ${r.status} ${r.body.slice(0, 200)}`)
    redlineTimes.push(r.ms)
  }
  result.redlineP50 = percentile(redlineTimes, 50)
  result.redlineP99 = percentile(redlineTimes, 99)
  return result
}

process.once('message', (cfg: HistoryConfig) => {
  ;(cfg.mode === 'store' ? storeMode(cfg) : apiMode(cfg)).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  )
})
