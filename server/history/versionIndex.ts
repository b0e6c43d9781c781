/**
 * The version index, maintained as board and ledger updates commit (never
 * recomputed per request). Per negotiation it holds a HistoryFold (fold.ts)
 * and feeds it the committed rows; the versions it yields are written to the
 * store's versions table, chained by hash, and announced as `version` events.
 *
 * Crash safety: the fold's input is the log, not in-memory state of the live
 * path. On first use of a negotiation (after a restart, or after any error)
 * the index starts from the newest stored version's board and ledger seqs and
 * folds every row committed after them, so no committed update is ever
 * missed; live rows that arrive meanwhile are de-duplicated by seq, and a gap
 * in seqs is filled from the store. Before answering a read it also pulls
 * whatever the store has beyond what it has folded.
 *
 * Per negotiation, all work runs through one promise queue, in commit order.
 *
 * Several instances (`lock` given, REDIS_URL): the index is single-writer
 * per negotiation across instances. Each step that may write runs under the
 * negotiation's history lock (Store.withLock), first checks that the stored
 * versions end where this fold last wrote or loaded them — otherwise another
 * instance advanced the index, and the fold is rebuilt from the store — and
 * then folds everything the store's logs hold (not only this instance's
 * commits). Any instance may advance the index; none writes over another.
 * Steps follow local commits after a short delay, so a burst is one step.
 */
import * as Y from 'yjs'
import { boardDocName, ledgerDocName, parseDocName } from '../../shared/docNames'
import { board as boardOf } from '../../shared/docLayout'
import type { Version, VersionKind } from '../../shared/schemas'
import type { NegotiationRecord, Store, VersionPage, VersionRecord } from '../store/types'
import type { CommittedUpdate, Room } from '../sync/room'
import { HistoryFold, RowQueue, nextRow, runTextOf, type FoldEvent, type RunText } from './fold'
import { fromCommitted, fromStored, type LogDoc, type LogRow } from './logRows'
import { HistoryWriter, storedHistoryPosition } from './historyWriter'
import { docAt } from './reconstruct'

/** How often a growing edit version is written and announced. */
const GROW_FLUSH_MS = 1000
/** Rows folded between two yields to the event loop during a catch-up. */
const CATCH_UP_SLICE = 2000
/** A negotiation nobody touched for this long gives its fold's memory back (it is rebuilt from the log on next use). */
const IDLE_MS = 5 * 60_000
/**
 * With several instances: a local ledger commit (a move: a version of its own) is indexed this long
 * after it, a board commit (which mostly grows an edit version, written at most every GROW_FLUSH_MS
 * anyway) GROW_FLUSH_MS after it; whatever commits meanwhile joins that step. Each step is a lock
 * round, and a fold another instance moved on must be rebuilt, so steps are kept few.
 */
const SHARED_STEP_DELAY_MS = 50
/**
 * A single instance starts folding this long after a quiet spell's first commit; then negotiations
 * with rows waiting take turns, one step each per event-loop turn (`foldNextDue`). With two
 * delegations typing, a step per commit cost a promise-queue round, a version write and a history
 * check each time (issue 19's A/B in BENCHMARKS.md). Readers never wait for it: `settled` folds
 * whatever is queued at once. 0: a step per commit, as soon as it is delivered.
 */
const LOCAL_STEP_DELAY_MS = 100

export interface VersionIndexDeps {
  store: Store
  negotiation: (id: string) => Promise<NegotiationRecord | null>
  emit?: (negotiationId: string, version: Version) => void
  log: (level: 'warn' | 'error', msg: string, err?: unknown) => void
  /**
   * false: fold in memory and write nothing. For tools that read the store
   * next to a running server (export CLI), which must not be a second writer.
   */
  persist?: boolean
  growFlushMs?: number
  /**
   * Present when several instances index the same negotiations: runs `fn`
   * under the negotiation's history lock (Store.withLock). Absent: this
   * process is the only writer, and steps run without any lock.
   */
  lock?: <T>(negotiationId: string, fn: () => Promise<T>) => Promise<T>
  /** with `lock`: ms between a local commit and the step that indexes it (commits meanwhile join it) */
  sharedStepDelayMs?: number
  /** without `lock`: ms between a commit and the step that folds it (commits meanwhile join it); 0: at once */
  localStepDelayMs?: number
}

interface Tracked {
  fold: HistoryFold
  /** rows taken from the log, not yet folded */
  board: RowQueue
  ledger: RowQueue
  /** highest seq of each doc queued or folded */
  queued: Record<LogDoc, number>
  /** the newest version grew since it was last written */
  dirty: boolean
  /** that version (it stays the same object while it grows) */
  open: VersionRecord | null
  /** versions up to this n are written in their final form (each is followed by another) */
  finalUpTo: number
  flushTimer: NodeJS.Timeout | null
  idleTimer: NodeJS.Timeout | null
  /** versions made by a non-persisting index */
  overlay: Map<number, VersionRecord>
  /** the newest version as this fold last wrote or loaded it: with `lock`, the store must still end there */
  synced: { n: number; hash: string }
  /** the materialised history (persisting index only): fed the same rows, stored when versions are */
  history: HistoryWriter | null
}

export const toVersion = (v: VersionRecord): Version => ({
  n: v.n,
  at: new Date(v.at).toISOString(),
  ...(v.lastAt > v.at ? { lastAt: new Date(v.lastAt).toISOString() } : {}),
  party: v.party,
  user: v.user,
  kind: v.kind as VersionKind,
  termIds: v.termIds,
  summary: v.summary,
  ...(v.name !== undefined ? { name: v.name } : {}),
  ...(v.layoutOnly ? { layoutOnly: true } : {}),
})

const copy = (v: VersionRecord): VersionRecord => ({ ...v, termIds: [...v.termIds] })
const docName = (negotiationId: string, doc: LogDoc) =>
  doc === 'board' ? boardDocName(negotiationId) : ledgerDocName(negotiationId)

export class VersionIndex {
  private states = new Map<string, Tracked>()
  private inbox = new Map<string, LogRow[]>()
  private queues = new Map<string, Promise<void>>()
  /** with `lock`: negotiations with a step scheduled, and when it is due */
  private stepping = new Map<string, { timer: NodeJS.Timeout; due: number }>()
  /** without `lock`: negotiations whose next step must read the store (a row came without its gseq) */
  private fromStore = new Set<string>()
  /** without `lock`: negotiations with committed rows not folded yet → when their step is due, the earliest first */
  private due = new Map<string, number>()
  /** without `lock`: `foldNextDue` is scheduled or running */
  private draining = false
  /** negotiations someone is waiting to read (settled), with how many readers */
  private readers = new Map<string, number>()
  private closed = false

  constructor(private readonly deps: VersionIndexDeps) {}

  private get persist(): boolean {
    return this.deps.persist !== false
  }

  /** Registry onCreate hook: index the board and the ledger of every negotiation (never caucus docs). */
  attach(room: Room): void {
    const ref = parseDocName(room.name)
    if (ref?.kind !== 'board' && ref?.kind !== 'ledger') return
    const doc: LogDoc = ref.kind
    room.addListener({ onCommitted: (_r, updates) => this.committed(ref.negotiationId, doc, updates) })
  }

  /** Live rows: queued now, folded by the negotiation's queue right after this commit's deliveries. */
  committed(negotiationId: string, doc: LogDoc, updates: CommittedUpdate[]): void {
    if (this.closed) return
    let box = this.inbox.get(negotiationId)
    if (!box) this.inbox.set(negotiationId, (box = []))
    let complete = true
    for (const u of updates) {
      const row = fromCommitted(doc, u)
      if (row) box.push(row)
      else complete = false
    }
    // A row without its gseq is read back from the store instead (the step reads to the heads).
    if (!this.deps.lock) {
      if (!complete) this.fromStore.add(negotiationId)
      const lag = this.deps.localStepDelayMs ?? LOCAL_STEP_DELAY_MS
      if (lag <= 0) return void this.enqueue(negotiationId, (t) => this.pump(negotiationId, t, this.fromStore.delete(negotiationId)))
      if (!this.due.has(negotiationId)) this.due.set(negotiationId, Date.now() + lag)
      if (!this.draining) {
        this.draining = true
        setTimeout(() => this.foldNextDue(), lag).unref()
      }
      return
    }
    // Shared: one step (one lock round) for a burst of commits; it reads the logs to their heads.
    const delay =
      doc === 'ledger' ? (this.deps.sharedStepDelayMs ?? SHARED_STEP_DELAY_MS) : (this.deps.growFlushMs ?? GROW_FLUSH_MS)
    const due = Date.now() + delay
    const scheduled = this.stepping.get(negotiationId)
    if (scheduled && scheduled.due <= due) return
    if (scheduled) clearTimeout(scheduled.timer)
    const timer = setTimeout(() => {
      this.stepping.delete(negotiationId)
      if (!this.closed) void this.enqueue(negotiationId, (t) => this.pump(negotiationId, t, true))
    }, delay)
    timer.unref()
    this.stepping.set(negotiationId, { timer, due })
  }

  /** Versions with n > page.after, at most page.limit (default: all), oldest first. */
  async list(negotiationId: string, page: VersionPage = {}): Promise<VersionRecord[]> {
    if (this.persist && !this.deps.lock && page.limit !== undefined && !this.states.has(negotiationId)) {
      // Not indexed here yet (the first read after a restart): a page whose every version is followed by
      // another holds only final versions, whatever the log holds past them — no fold to load for it.
      const stored = await this.deps.store.listVersions(negotiationId, { after: page.after, limit: page.limit + 1 })
      if (stored.length > page.limit) return stored.slice(0, page.limit)
    }
    const t = await this.settled(negotiationId)
    const stored = await this.deps.store.listVersions(negotiationId, page)
    if (this.persist || !t || t.overlay.size === 0) return stored
    const byN = new Map(stored.map((v) => [v.n, v]))
    const after = page.after ?? 0
    for (const [n, v] of t.overlay) if (n > after) byN.set(n, v)
    const all = [...byN.values()].sort((a, b) => a.n - b.n)
    return page.limit === undefined ? all : all.slice(0, page.limit)
  }

  async get(negotiationId: string, n: number): Promise<VersionRecord | null> {
    // A version followed by another is final and written: no need to wait for the index.
    const known = this.states.get(negotiationId)
    if (this.persist && !this.deps.lock && known && n <= known.finalUpTo) {
      const v = await this.deps.store.getVersion(negotiationId, n)
      if (v) return v
    }
    if (this.persist && !known) {
      // Not indexed here yet (e.g. the first read after a restart): a stored version followed by another
      // is final whatever the log holds past it, so reading it needs no fold.
      const [v, next] = await Promise.all([
        this.deps.store.getVersion(negotiationId, n),
        this.deps.store.getVersion(negotiationId, n + 1),
      ])
      if (v && next) return v
    }
    const t = await this.settled(negotiationId)
    return t?.overlay.get(n) ?? this.deps.store.getVersion(negotiationId, n)
  }

  /**
   * Brings a negotiation this index already tracks up to date (cheap: its fold is loaded); one it does
   * not track is left alone, for reads that can do with what is stored (the density of the history
   * right after a restart: exact after a graceful stop; after a crash its newest versions join once
   * the index next folds the log).
   */
  async current(negotiationId: string): Promise<void> {
    if (this.states.has(negotiationId) || this.inbox.has(negotiationId)) await this.settled(negotiationId)
    else this.deps.store.flushPendingVersions?.()
  }

  /** Folds everything the store has for the negotiation and writes its growing version. */
  async settled(negotiationId: string): Promise<Tracked | null> {
    const seen: { t: Tracked | null } = { t: null }
    // A reader waits: nothing of this negotiation waits to ride along with a later append meanwhile.
    this.readers.set(negotiationId, (this.readers.get(negotiationId) ?? 0) + 1)
    try {
      this.deps.store.flushPendingVersions?.()
      await this.enqueue(negotiationId, async (t) => {
        await this.pump(negotiationId, t, true)
        await this.flush(negotiationId, t)
        seen.t = t
      })
    } finally {
      const n = this.readers.get(negotiationId)! - 1
      if (n > 0) this.readers.set(negotiationId, n)
      else this.readers.delete(negotiationId)
    }
    return seen.t
  }

  /** Writes every growing version (shutdown). */
  async flushAll(): Promise<void> {
    const ids = new Set([...this.states.keys(), ...this.inbox.keys()])
    await Promise.all(
      [...ids].map((id) =>
        this.enqueue(id, async (t) => {
          await this.pump(id, t, this.fromStore.delete(id))
          await this.flush(id, t)
        }),
      ),
    )
  }

  async close(): Promise<void> {
    await this.flushAll()
    this.closed = true
    for (const { timer } of this.stepping.values()) clearTimeout(timer)
    this.stepping.clear()
    this.due.clear()
    for (const t of this.states.values()) this.drop(t)
    this.states.clear()
  }

  /**
   * Single instance: folds the negotiation whose step is due first, then yields to the event loop
   * (setImmediate: incoming updates and their deliveries go first) before the next. Each negotiation
   * is folded at most every LOCAL_STEP_DELAY_MS, all it committed meanwhile in one step, and the steps
   * of many negotiations — due in the same tick — never run as one burst that holds deliveries back.
   */
  private foldNextDue(): void {
    const next = this.due.entries().next()
    if (next.done || this.closed) {
      this.draining = false
      return
    }
    const [negotiationId, dueAt] = next.value
    const wait = dueAt - Date.now()
    if (wait > 0) return void setTimeout(() => this.foldNextDue(), wait).unref()
    this.due.delete(negotiationId)
    // Not awaited: a negotiation loading a long log (a first step after a restart) holds up only its own queue.
    void this.enqueue(negotiationId, (t) => this.pump(negotiationId, t, this.fromStore.delete(negotiationId)))
    setImmediate(() => this.foldNextDue())
  }

  // ── the per-negotiation queue ───────────────────────────────────────────

  private enqueue(negotiationId: string, work: (t: Tracked) => Promise<void>, opts: { load?: boolean } = {}): Promise<void> {
    const prev = this.queues.get(negotiationId) ?? Promise.resolve()
    const next = prev.then(async () => {
      let t: Tracked | null = null
      const step = async () => {
        t = opts.load === false ? (this.states.get(negotiationId) ?? null) : await this.tracked(negotiationId)
        if (t && this.deps.lock) t = await this.inSync(negotiationId, t)
        if (!t) {
          if (opts.load !== false) this.inbox.delete(negotiationId)
          return
        }
        await work(t)
        if (this.states.get(negotiationId) === t) this.touch(negotiationId, t)
      }
      try {
        if (this.deps.lock) await this.deps.lock(negotiationId, step)
        else await step()
      } catch (err) {
        this.deps.log('error', `version index of ${negotiationId}; it will be rebuilt from the log`, err)
        // Start over from what the store holds: the log is the truth, the fold only a cache of it.
        if (t) this.forget(negotiationId, t)
      }
    })
    this.queues.set(negotiationId, next)
    void next.then(() => {
      if (this.queues.get(negotiationId) === next) this.queues.delete(negotiationId)
    })
    return next
  }

  /**
   * Under the history lock: the fold may go on only if the stored versions
   * still end where it last wrote or loaded them. Otherwise another instance
   * advanced the index; the fold is rebuilt from what the store holds now.
   */
  private async inSync(negotiationId: string, t: Tracked): Promise<Tracked | null> {
    const { store } = this.deps
    const [mine, after] = await Promise.all([
      t.synced.n > 0 ? store.getVersion(negotiationId, t.synced.n) : null,
      store.getVersion(negotiationId, t.synced.n + 1),
    ])
    if ((t.synced.n === 0 || mine?.hash === t.synced.hash) && !after) return t
    this.forget(negotiationId, t)
    return this.tracked(negotiationId)
  }

  private async tracked(negotiationId: string): Promise<Tracked | null> {
    const existing = this.states.get(negotiationId)
    if (existing) return existing
    const t = await this.load(negotiationId)
    if (t) this.states.set(negotiationId, t)
    return t
  }

  /** Picks up from the newest stored version: both docs at its seqs, and every row after them. */
  private async load(negotiationId: string): Promise<Tracked | null> {
    const { store } = this.deps
    const record = await this.deps.negotiation(negotiationId)
    if (!record) return null
    const last = await store.lastVersion(negotiationId)
    const pos = last ? { boardSeq: last.boardSeq, ledgerSeq: last.ledgerSeq } : { boardSeq: 0, ledgerSeq: 0 }
    const [board, ledger] = await Promise.all([
      docAt(store, boardDocName(negotiationId), pos.boardSeq),
      docAt(store, ledgerDocName(negotiationId), pos.ledgerSeq),
    ])
    let runBefore: Map<string, RunText> | undefined
    if (last?.kind === 'edit') {
      // An edit run may go on after a restart; its summary needs the text it started from.
      const prev = last.n > 1 ? await store.getVersion(negotiationId, last.n - 1) : null
      const start = await docAt(store, boardDocName(negotiationId), prev?.boardSeq ?? 0)
      runBefore = new Map()
      for (const id of last.termIds) {
        const term = boardOf(start).terms.get(id)
        if (term instanceof Y.Map) runBefore.set(id, runTextOf(term))
      }
      start.destroy()
    }
    const names = new Map(record.parties.map((p) => [p.id, p.name]))
    const fold = new HistoryFold({
      negotiationId,
      partyName: (id) => (id === null ? null : (names.get(id) ?? id)),
      board,
      ledger,
      pos,
      last,
      runBefore,
    })
    let history: HistoryWriter | null = null
    try {
      history = this.persist ? await HistoryWriter.open(store, negotiationId) : null
    } catch (err) {
      fold.destroy()
      throw err
    }
    const t: Tracked = {
      fold,
      board: new RowQueue(),
      ledger: new RowQueue(),
      // The materialised history may stand before the versions (first start on an older store, or
      // a crash between their writes): its rows are queued too, and the fold skips what it has.
      queued: {
        board: Math.min(pos.boardSeq, history?.position('board') ?? Infinity),
        ledger: Math.min(pos.ledgerSeq, history?.position('ledger') ?? Infinity),
      },
      dirty: false,
      open: null,
      finalUpTo: Math.max(0, (last?.n ?? 0) - 1),
      flushTimer: null,
      idleTimer: null,
      overlay: new Map(),
      synced: { n: last?.n ?? 0, hash: last?.hash ?? '' },
      history,
    }
    await this.backfill(negotiationId, t, 'board')
    await this.backfill(negotiationId, t, 'ledger')
    return t
  }

  /** Queues the stored rows of one doc after what is queued, to the end. */
  private async backfill(negotiationId: string, t: Tracked, doc: LogDoc): Promise<void> {
    const rows = await this.deps.store.readUpdates(docName(negotiationId, doc), t.queued[doc])
    for (const r of rows) {
      if (r.seq !== t.queued[doc] + 1) throw new Error(`${docName(negotiationId, doc)}: seq ${r.seq} follows ${t.queued[doc]}`)
      t[doc].push(fromStored(doc, r))
      t.queued[doc] = r.seq
    }
  }

  private async pump(negotiationId: string, t: Tracked, fromStore: boolean): Promise<void> {
    if (fromStore) {
      await this.backfill(negotiationId, t, 'board')
      await this.backfill(negotiationId, t, 'ledger')
    }
    const box = this.inbox.get(negotiationId) ?? []
    this.inbox.delete(negotiationId)
    for (const row of box) {
      if (row.seq <= t.queued[row.doc]) continue
      if (row.seq > t.queued[row.doc] + 1) {
        // Rows that reached the store without passing here (another instance's, or ones committed
        // before this negotiation was tracked): read both logs to their heads, so that what the
        // other log holds before them in gseq is queued too before anything is folded.
        await this.backfill(negotiationId, t, 'board')
        await this.backfill(negotiationId, t, 'ledger')
        if (row.seq <= t.queued[row.doc]) continue
      }
      t[row.doc].push(row)
      t.queued[row.doc] = row.seq
    }
    let events: FoldEvent[] = []
    let folded = 0
    const foldPos = t.fold.pos
    for (let row = nextRow(t.board, t.ledger); row; row = nextRow(t.board, t.ledger)) {
      t.history?.add(row)
      if (row.seq > (row.doc === 'board' ? foldPos.boardSeq : foldPos.ledgerSeq)) events.push(...t.fold.apply(row))
      // A long catch-up (a first start on an old store) must not stall the server: write and yield now and then.
      if (++folded % CATCH_UP_SLICE === 0) {
        await t.history?.flush(this.deps.store)
        await this.record(negotiationId, t, events)
        events = []
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    await this.record(negotiationId, t, events, !fromStore)
    if (t.history?.unflushed) this.scheduleFlush(negotiationId, t)
  }

  /**
   * Resolves once the stored materialised history reaches `pos` (both docs),
   * folding and flushing what the store has when it does not yet: readers
   * read blocks from the store, never from a fold's memory.
   */
  async materialised(negotiationId: string, pos: { boardSeq: number; ledgerSeq: number }): Promise<void> {
    const reached = (p: Record<LogDoc, number>) => p.board >= pos.boardSeq && p.ledger >= pos.ledgerSeq
    if (!this.persist) {
      // A tool reading next to the server (the export CLI) reads what the server stored; it writes nothing.
      if (reached(await storedHistoryPosition(this.deps.store, negotiationId))) return
      throw new Error('the history is not materialised this far yet: the server brings it up to date when it runs')
    }
    const known = this.states.get(negotiationId)?.history
    if (known && reached(known.stored)) return
    if (!known && reached(await storedHistoryPosition(this.deps.store, negotiationId))) return
    await this.settled(negotiationId)
  }

  /**
   * Writes the versions a fold step made — all of them in one store
   * transaction, in order — and announces each once it is durable. Live edit
   * versions may ride along with the next group commit of updates (one WAL
   * sync per turn instead of two while delegations type); a move is written
   * at once, and so is everything while someone waits to read the index.
   */
  private async record(negotiationId: string, t: Tracked, events: FoldEvent[], live = false): Promise<void> {
    const out: VersionRecord[] = []
    for (const ev of events) {
      if (ev.type === 'grown') {
        // Written when the next version starts, on read, or by the timer: not on every keystroke.
        t.dirty = true
        t.open = ev.version
        continue
      }
      // The version this one follows stopped growing: its final form goes first.
      if (t.dirty && t.open) out.push(this.take(t, t.open))
      t.dirty = false
      t.open = null
      out.push(this.take(t, ev.version))
      t.finalUpTo = ev.version.n - 1
    }
    await this.write(negotiationId, t, out, live && out.every((v) => v.kind === 'edit'))
    if (t.dirty) this.scheduleFlush(negotiationId, t)
  }

  /** The version's written form as of now (the fold keeps growing its own object). */
  private take(t: Tracked, v: VersionRecord): VersionRecord {
    t.fold.seal(v)
    return copy(v)
  }

  private async write(negotiationId: string, t: Tracked, taken: VersionRecord[], mayRide = false): Promise<void> {
    if (taken.length === 0) return
    // A version taken twice in one step (made, then closed: one after the other) goes out once, in its last form.
    const versions: VersionRecord[] = []
    for (const v of taken) {
      if (versions.length > 0 && versions[versions.length - 1]!.n === v.n) versions[versions.length - 1] = v
      else versions.push(v)
    }
    if (this.persist) {
      const ride = mayRide && !this.deps.lock && !this.readers.has(negotiationId)
      await this.deps.store.putVersions(versions, { ride })
    } else {
      for (const v of versions) t.overlay.set(v.n, v)
    }
    const newest = versions[versions.length - 1]!
    t.synced = { n: newest.n, hash: newest.hash }
    for (const v of versions) this.deps.emit?.(negotiationId, toVersion(v))
  }

  private scheduleFlush(negotiationId: string, t: Tracked): void {
    if (t.flushTimer) return
    t.flushTimer = setTimeout(() => {
      t.flushTimer = null
      void this.enqueue(negotiationId, (tt) => this.flush(negotiationId, tt), { load: false })
    }, this.deps.growFlushMs ?? GROW_FLUSH_MS)
    t.flushTimer.unref()
  }

  /** Writes the materialised history taken so far, and the growing version if it changed since it was last written. */
  private async flush(negotiationId: string, t: Tracked): Promise<void> {
    if (t.flushTimer) {
      clearTimeout(t.flushTimer)
      t.flushTimer = null
    }
    await t.history?.flush(this.deps.store)
    if (!t.dirty || !t.open) return
    t.dirty = false
    await this.write(negotiationId, t, [this.take(t, t.open)], t.open.kind === 'edit')
  }

  private touch(negotiationId: string, t: Tracked): void {
    if (t.idleTimer) clearTimeout(t.idleTimer)
    t.idleTimer = setTimeout(() => {
      void this.enqueue(
        negotiationId,
        async (tt) => {
          if (tt !== t || t.dirty || t.history?.unflushed || this.inbox.has(negotiationId)) return
          this.forget(negotiationId, t)
        },
        { load: false },
      )
    }, IDLE_MS)
    t.idleTimer.unref()
  }

  private forget(negotiationId: string, t: Tracked): void {
    if (this.states.get(negotiationId) === t) this.states.delete(negotiationId)
    this.drop(t)
  }

  private drop(t: Tracked): void {
    if (t.flushTimer) clearTimeout(t.flushTimer)
    if (t.idleTimer) clearTimeout(t.idleTimer)
    t.fold.destroy()
    t.history?.destroy()
  }
}
