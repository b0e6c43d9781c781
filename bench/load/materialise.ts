/**
 * Part of the (c)/(d) fixtures, in its own process (config and result over
 * IPC): brings a filled store's version index and materialised history
 * (server/history/materialiser.ts) up to the end of its logs before anything
 * is timed on it. A VersionIndex and HistoryQueries are opened on the store
 * as a restarted server opens them; `settled` folds whatever the log holds
 * past the stored versions and history (everything, for a store filled with
 * rows directly; little or nothing after a graceful stop of the server that
 * wrote it) and stores it. Progress goes to stderr every few seconds.
 */
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { HistoryQueries } from '../../server/history/queries'
import { storedHistoryPosition } from '../../server/history/historyWriter'
import { VersionIndex } from '../../server/history/versionIndex'
import { SqliteStore } from '../../server/store/sqlite'

export interface MaterialiseConfig {
  file: string
  negotiationId: string
  /** e.g. "[fixture 1M]" */
  label: string
}

export interface MaterialiseResult {
  heads: { board: number; ledger: number }
  /** where the stored history and versions stood when the store was opened */
  before: { board: number; ledger: number; versions: number }
  /** versions of the negotiation (GET …/versions/density total) */
  versions: number
  seconds: number
}

async function materialise(cfg: MaterialiseConfig): Promise<MaterialiseResult> {
  const started = performance.now()
  const store = new SqliteStore(cfg.file)
  const id = cfg.negotiationId
  const say = (msg: string) => process.stderr.write(`  ${cfg.label} ${msg}\n`)
  const index = new VersionIndex({
    store,
    negotiation: (n) => store.getNegotiation(n),
    log: (level, msg, err) => say(`${level}: ${msg} ${err instanceof Error ? err.message : (err ?? '')}`),
  })
  const queries = new HistoryQueries(store, index, (n) => store.getNegotiation(n))
  let timer: NodeJS.Timeout | null = null
  try {
    const heads = { board: await store.headSeq(boardDocName(id)), ledger: await store.headSeq(ledgerDocName(id)) }
    const at0 = await storedHistoryPosition(store, id)
    const before = { ...at0, versions: (await store.lastVersion(id))?.n ?? 0 }
    say(
      `history stored to board ${before.board}/${heads.board}, ledger ${before.ledger}/${heads.ledger}; ${before.versions} versions — indexing the rest`,
    )
    const progress = async () => {
      const at = await storedHistoryPosition(store, id)
      const v = (await store.lastVersion(id))?.n ?? 0
      const done = heads.board + heads.ledger > 0 ? (100 * (at.board + at.ledger)) / (heads.board + heads.ledger) : 100
      say(
        `… ${((performance.now() - started) / 1000).toFixed(0)} s: board ${at.board}/${heads.board}, ledger ${at.ledger}/${heads.ledger} (${done.toFixed(1)} %), ${v} versions`,
      )
    }
    timer = setInterval(() => void progress(), 5000)
    // A restarted server's reads: the whole index settled, the history stored to the heads.
    await index.settled(id)
    await index.materialised(id, { boardSeq: heads.board, ledgerSeq: heads.ledger })
    clearInterval(timer)
    timer = null
    const at = await storedHistoryPosition(store, id)
    if (at.board < heads.board || at.ledger < heads.ledger)
      throw new Error(
        `the materialised history stops at board ${at.board}/${heads.board}, ledger ${at.ledger}/${heads.ledger} (see the index's errors above)`,
      )
    const versions = (await queries.density(id, 1)).total
    const seconds = (performance.now() - started) / 1000
    say(`history and ${versions} versions stored to the heads in ${seconds.toFixed(0)} s`)
    return { heads, before, versions, seconds }
  } finally {
    if (timer) clearInterval(timer)
    await index.close()
    await store.close()
  }
}

process.once('message', (cfg: MaterialiseConfig) => {
  materialise(cfg).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  )
})
