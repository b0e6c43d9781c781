/**
 * The sealed caucus's provider (CONTRACT.md "Sealed caucus"): the one piece
 * of the browser that speaks shared/sealed.ts's frames. It sits beside the
 * stock y-websocket provider and plays its part for a doc the server may not
 * read: every local Yjs update is sealed (shared/sealedCrypto.ts) and sent as
 * a 200; every stored update comes back as a 201, is opened and only then
 * applied — a ciphertext that does not open (altered, or sealed with another
 * key) is counted and never applied.
 *
 * What the server cannot do for us, this does:
 * - **Catch-up.** On each connect it asks for every row after the last seq it
 *   applied (`202 {lastSeq}`), and sends its own unconfirmed updates only once
 *   the catch-up ended (203), so nothing it sends is ordered before what it
 *   had not seen yet. A receipt confirms one sent update; unconfirmed ones
 *   are sent again (fresh nonces) after the next catch-up — Yjs applies a
 *   duplicate as nothing.
 * - **Compaction.** After COMPACT_AFTER rows since the last compaction, a
 *   writer seals the whole state as one more row. Before encoding it, it
 *   writes a marker into the doc (`sealed.compaction = {through}`: every row
 *   up to `through` is in this state) under an origin that is never sent on
 *   its own: the marker reaches others only inside full states, so a row that
 *   brings a marker is a compaction. A new browser (lastSeq 0) then opens the
 *   log from its end backwards, applying as it goes (Yjs applies updates in
 *   any order), and stops at the newest compaction once the rows between its
 *   `through` and it are in: it never opens the log before the compaction.
 *
 * No Svelte here and no DOM beyond WebSocket and WebCrypto: the browser's
 * reactive channel (sealedChannel.svelte.ts) wraps it, and the integration
 * tests drive it in Node with the `ws` package.
 */
import * as Y from 'yjs'
import { ObservableV2 } from 'lib0/observable'
import { CloseCode, FINAL_CLOSE_CODES, tokenSubprotocols } from '../../../../shared/protocol'
import {
  decodeSealedServerMessage,
  encodeSealedCatchUp,
  encodeSealedUpdate,
  SEALED_MAX_CIPHERTEXT_BYTES,
  SEALED_TAG_BYTES,
  type SealedServerMessage,
} from '../../../../shared/sealed'
import { openSealed, sealBytes } from '../../../../shared/sealedCrypto'

/** Rows since the last compaction after which a writer seals the whole state again. */
export const COMPACT_AFTER = 500
/** A backward catch-up opens this many rows at once (WebCrypto runs them side by side). */
const OPEN_BATCH = 256
/** A catch-up from past any seq: answered by the head alone. */
const HEAD_ONLY = Number.MAX_SAFE_INTEGER
/** A new browser's first backward batch: the newest compaction is usually within the last few hundred rows. */
const FIRST_BACKWARD_BATCH = 32
const MIN_BACKOFF_MS = 100
const MAX_BACKOFF_MS = 2500

/** The map, in the sealed doc, that the provider itself writes (compaction markers). */
export const SEALED_META = 'sealed'
export const COMPACTION_KEY = 'compaction'

/** Where a row applied to the doc came from; the origin of its transaction. */
export interface RowOrigin {
  readonly source: 'sealed-row'
  readonly seq: number
}

/** The origin of the compaction marker's write: the provider never sends it as an update of its own. */
export const COMPACTION_ORIGIN = Object.freeze({ source: 'sealed-compaction' as const })

export type SealedStatus = 'connecting' | 'connected' | 'disconnected'

/** What this device kept of the doc since it last ran (sealedLocalCopy.ts). */
export interface SealedRestore {
  lastSeq: number
  /** updates sent and not confirmed (or not sent) when the page closed, oldest first */
  pending: Uint8Array[]
  sinceCompaction: number
}

export interface SealedProviderOptions {
  /** ws(s)://host/yjs */
  url: string
  docName: string
  token: string
  name: string
  key: CryptoKey
  doc: Y.Doc
  writable: boolean
  restored?: SealedRestore
  /** rows since the last compaction before this writer compacts (COMPACT_AFTER) */
  compactAfter?: number
  /** Node has no global WebSocket before 22: the tests pass `ws` */
  WebSocketImpl?: typeof WebSocket
  /** false: call connect() yourself (after the local copy is read) */
  connect?: boolean
}

/** A stored row the key did not open: never applied. */
export interface Unopenable {
  seq: number
  reason: string
}

export type SealedProviderEvents = {
  status: (status: SealedStatus) => void
  /** true once a catch-up ended and every row up to the head is applied */
  synced: (synced: boolean) => void
  /** the count of local updates not confirmed by a receipt changed */
  unsaved: (count: number) => void
  unopenable: (row: Unopenable) => void
  /** closed by the server with a code that means "do not retry" */
  closed: (event: { code: number; reason: string }) => void
  /** a row opened and is about to be applied (inside its transaction, for those who attribute it) */
  opened: (row: { seq: number; update: Uint8Array }) => void
  /** the rows of a catch-up are all applied */
  replayed: () => void
  /** a row was applied (its update, opened), or confirmed as stored (own) */
  row: (row: { seq: number; update: Uint8Array; own: boolean }) => void
  /** a local edit too large for one sealed message: kept on this device only */
  tooLarge: (bytes: number) => void
  /** something worth keeping on this device changed (lastSeq, pending) */
  changed: () => void
}

export class SealedProvider extends ObservableV2<SealedProviderEvents> {
  readonly doc: Y.Doc
  readonly docName: string
  readonly writable: boolean
  status: SealedStatus = 'disconnected'
  synced = false
  /** the highest seq below which every row is applied (or confirmed as ours) */
  lastSeq: number
  /** rows applied or stored since the last compaction this device knows of */
  sinceCompaction: number
  /** local updates not confirmed yet, oldest first (sent or not) */
  readonly pending: Uint8Array[]
  readonly unopenable: Unopenable[] = []
  /** rows of a catch-up are being applied (made while this device was away) */
  replaying = false
  /** the newest head the server announced */
  headSeq = 0

  private readonly opts: SealedProviderOptions
  private readonly compactAfter: number
  private ws: WebSocket | null = null
  private wanted = false
  private backoff = MIN_BACKOFF_MS
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  /** catch-up in progress: rows collected until the 203 */
  private catchUp: CatchUp | null = null
  /** a new browser's join in progress (continueJoin): the rows held, those opened, and the seq after which all are held */
  private join: { rows: Map<number, SealedRow>; opened: Map<number, Uint8Array | Error>; from: number } | null = null
  /** how many of `pending` were sent on this connection (the receipts confirm them in order) */
  private sentOnThisSocket = 0
  /** rows above lastSeq already applied (a gap below them) or own rows confirmed */
  private readonly seen = new Set<number>()
  /** opens and sends run one after another, in order */
  private chain: Promise<void> = Promise.resolve()
  private compacting = false
  private destroyed = false
  /** an edit too large to seal was made here: nothing more is sent (see halt) */
  private halted = false
  /** rows that opened with this key */
  private openedRows = 0
  /** live rows waiting in the chain: no compaction until they are in (it would hold less than it says) */
  private queuedLive = 0

  constructor(opts: SealedProviderOptions) {
    super()
    this.opts = opts
    this.doc = opts.doc
    this.docName = opts.docName
    this.writable = opts.writable
    this.compactAfter = opts.compactAfter ?? COMPACT_AFTER
    this.lastSeq = opts.restored?.lastSeq ?? 0
    this.sinceCompaction = opts.restored?.sinceCompaction ?? 0
    // Kept edits up to the first one too large to seal: those after it build on it (see halt).
    const kept = opts.restored?.pending ?? []
    const tooLarge = kept.findIndex((u) => u.byteLength + SEALED_TAG_BYTES > SEALED_MAX_CIPHERTEXT_BYTES)
    this.pending = tooLarge < 0 ? [...kept] : kept.slice(0, tooLarge)
    if (tooLarge >= 0) queueMicrotask(() => this.halt(kept[tooLarge]!.byteLength))
    this.doc.on('update', this.onUpdate)
    if (opts.connect !== false) this.connect()
  }

  get unsaved(): number {
    return this.pending.length
  }

  connect(): void {
    if (this.destroyed) return
    this.wanted = true
    if (this.ws) return
    const WS = this.opts.WebSocketImpl ?? WebSocket
    const qs = new URLSearchParams({ name: this.opts.name })
    // The token rides in the handshake's subprotocol header, as the stock provider's does (shared/protocol.ts).
    const ws = new WS(`${this.opts.url}/${this.docName}?${qs}`, tokenSubprotocols(this.opts.token))
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    this.setStatus('connecting')
    ws.onopen = () => {
      this.backoff = MIN_BACKOFF_MS
      this.setStatus('connected')
      this.sentOnThisSocket = 0
      if (this.lastSeq === 0) {
        // A new browser: the head first (a catch-up from past any seq answers with it alone), then the tail.
        this.join = { rows: new Map(), opened: new Map(), from: HEAD_ONLY }
        this.askCatchUp(HEAD_ONLY)
      } else this.askCatchUp()
    }
    ws.onmessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) return
      let msg: SealedServerMessage
      try {
        msg = decodeSealedServerMessage(new Uint8Array(event.data))
      } catch {
        return // the server speaks nothing else on a sealed doc; a stray frame is not ours to act on
      }
      this.receive(msg)
    }
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return
      this.ws = null
      this.catchUp = null
      this.join = null
      this.setSynced(false)
      this.setStatus('disconnected')
      if (FINAL_CLOSE_CODES.has(event.code)) {
        this.wanted = false
        this.emit('closed', [{ code: event.code, reason: event.reason }])
        return
      }
      if (this.wanted && !this.destroyed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null
          if (this.wanted) this.connect()
        }, this.backoff)
        this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2)
      }
    }
    ws.onerror = () => {}
  }

  disconnect(): void {
    this.wanted = false
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    const ws = this.ws
    if (ws && ws.readyState <= 1) ws.close(CloseCode.normal)
  }

  override destroy(): void {
    this.destroyed = true
    this.disconnect()
    this.doc.off('update', this.onUpdate)
    super.destroy()
  }

  // ── local updates ───────────────────────────────────────────────────────

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (!this.writable || origin === COMPACTION_ORIGIN || isRowOrigin(origin)) return
    // A key that opens none of the caucus's rows is another caucus's: what it sealed nobody here could open.
    if (this.halted || this.keyOpensNothing) return
    if (update.byteLength + SEALED_TAG_BYTES > SEALED_MAX_CIPHERTEXT_BYTES) return this.halt(update.byteLength)
    this.pending.push(update)
    this.emit('unsaved', [this.pending.length])
    this.emit('changed', [])
    if (this.synced) this.sendPending()
  }

  /**
   * One edit over the frame limit (a pasted book): it cannot be sealed in one message, and every later edit of
   * this page builds on it (Yjs clocks), so none of them could be applied anywhere else either. This page stops
   * sending; what it sent before still gets its receipts; the owner reloads from what the server has.
   */
  private halt(bytes: number): void {
    this.halted = true
    this.emit('tooLarge', [bytes])
  }

  /** Every row this key tried failed, and it tried some: the key is another caucus's. */
  get keyOpensNothing(): boolean {
    return this.unopenable.length > 0 && this.openedRows === 0
  }

  /** Seals and sends every pending update this socket has not carried yet, in order. */
  private sendPending(): void {
    const ws = this.ws
    if (!ws || !this.synced) return
    while (this.sentOnThisSocket < this.pending.length) {
      const update = this.pending[this.sentOnThisSocket++]!
      const sealing = sealBytes(this.opts.key, this.docName, update)
      this.chain = this.chain.then(async () => {
        const { nonce, ciphertext } = await sealing
        if (this.ws !== ws || ws.readyState !== 1) return // resent after the next catch-up
        ws.send(encodeSealedUpdate(nonce, ciphertext) as Uint8Array<ArrayBuffer>)
      })
    }
  }

  // ── the server's messages ─────────────────────────────────────────────

  private askCatchUp(afterSeq = this.lastSeq): void {
    const ws = this.ws
    if (!ws || ws.readyState !== 1) return
    this.catchUp = { afterSeq, rows: new Map() }
    ws.send(encodeSealedCatchUp(afterSeq) as Uint8Array<ArrayBuffer>)
  }

  private receive(msg: SealedServerMessage): void {
    switch (msg.type) {
      case 'relay': {
        if (msg.seq <= this.lastSeq || this.seen.has(msg.seq)) return
        if (this.catchUp) return void this.catchUp.rows.set(msg.seq, msg)
        if (this.join) return void this.join.rows.set(msg.seq, msg)
        this.queuedLive++
        this.chain = this.chain.then(() => {
          this.queuedLive--
          return this.liveRow(msg)
        })
        return
      }
      case 'receipt': {
        this.chain = this.chain.then(() => this.confirmOwn(msg.seq))
        return
      }
      case 'head': {
        this.headSeq = Math.max(this.headSeq, msg.headSeq)
        const c = this.catchUp
        this.catchUp = null
        if (!c) return
        this.chain = this.chain.then(() => this.finishCatchUp(c.afterSeq, c.rows))
        return
      }
    }
  }

  private async confirmOwn(seq: number): Promise<void> {
    if (this.sentOnThisSocket === 0 || this.pending.length === 0) return
    const update = this.pending.shift()!
    this.sentOnThisSocket--
    this.markSeen(seq)
    this.sinceCompaction++
    this.emit('row', [{ seq, update, own: true }])
    this.emit('unsaved', [this.pending.length])
    this.emit('changed', [])
    this.maybeCompact()
  }

  private async liveRow(row: SealedRow): Promise<void> {
    if (row.seq <= this.lastSeq || this.seen.has(row.seq)) return
    if (this.catchUp) return void this.catchUp.rows.set(row.seq, row)
    if (this.join) return void this.join.rows.set(row.seq, row)
    // A row above a gap (the server relays in order: a row we missed): ask for what is missing.
    if (this.gapBelow(row.seq)) {
      this.askCatchUp()
      ;(this.catchUp as CatchUp | null)?.rows.set(row.seq, row)
      return
    }
    const opened = await this.open(row)
    const before = compactionMarker(this.doc)
    this.use(row.seq, opened)
    this.markSeen(row.seq)
    // Another writer compacted: the count starts again, so two writers do not both compact.
    if (compactionMarker(this.doc) !== before) this.sinceCompaction = 0
    else this.sinceCompaction++
    this.emit('changed', [])
    this.maybeCompact()
  }

  private gapBelow(seq: number): boolean {
    for (let s = this.lastSeq + 1; s < seq; s++) if (!this.seen.has(s)) return true
    return false
  }

  /** Applies what a catch-up brought (all of it, or from the newest compaction on), then sends what is ours. */
  private async finishCatchUp(afterSeq: number, rows: Map<number, SealedRow>): Promise<void> {
    if (this.join) return this.continueJoin(afterSeq, rows)
    const sorted = [...rows.values()].filter((r) => r.seq > this.lastSeq && !this.seen.has(r.seq)).sort((a, b) => a.seq - b.seq)
    this.replaying = true
    try {
      await this.applyForwards(sorted)
    } finally {
      this.replaying = false
    }
    this.emit('replayed', [])
    for (const r of sorted) this.markSeen(r.seq)
    this.caughtUp()
  }

  /** Caught up: synced, and what is ours goes out. */
  private caughtUp(): void {
    if (this.ws === null) return
    this.setSynced(true)
    this.emit('changed', [])
    this.sendPending()
    this.maybeCompact()
  }

  private async applyForwards(rows: SealedRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += OPEN_BATCH) {
      const batch = rows.slice(i, i + OPEN_BATCH)
      const opened = await Promise.all(batch.map((r) => this.open(r)))
      this.doc.transact(() => {
        let marker = compactionMarker(this.doc)
        batch.forEach((r, j) => {
          this.use(r.seq, opened[j]!)
          // A compaction among them: the count starts again from it.
          const now = compactionMarker(this.doc)
          if (now !== marker) {
            marker = now
            this.sinceCompaction = 0
          } else this.sinceCompaction++
        })
      }, rowOrigin(batch[batch.length - 1]!.seq))
    }
  }

  /**
   * A new browser's join. It asked for the head (HEAD_ONLY), then for the newest rows (twice the compaction interval);
   * it opens what it holds from the newest back until it finds a compaction (a row that brings the
   * marker: a whole state holding every row up to its `through`). Holding every row after that
   * `through`, it applies them in seq order (Yjs merges an update whose predecessors are missing again
   * on every later apply: applied newest first, a long log costs seconds) and is caught up; otherwise
   * it asks for more: back to `through`, or a tail four times as long, down to the whole log. Rows at or
   * before `through` are never applied nor reported; of them, only those opened beside the compaction
   * in its batch were opened at all.
   */
  private async continueJoin(afterSeq: number, rows: Map<number, SealedRow>): Promise<void> {
    const join = this.join!
    for (const r of rows.values()) join.rows.set(r.seq, r)
    if (afterSeq === HEAD_ONLY) {
      // Twice the compaction interval back: a compaction is usually among those rows.
      join.from = Math.max(0, this.headSeq - 2 * this.compactAfter)
      if (this.headSeq > 0) return this.askCatchUp(join.from)
    } else join.from = Math.min(join.from, afterSeq)
    // Every row after join.from is held: the newest compaction among them, if any.
    const newestFirst = [...join.rows.values()].filter((r) => r.seq > join.from).sort((a, b) => b.seq - a.seq)
    let found: { seq: number; through: number } | null = null
    for (let i = 0, size = FIRST_BACKWARD_BATCH; i < newestFirst.length && !found; i += size, size = Math.min(OPEN_BATCH, size * 2)) {
      const batch = newestFirst.slice(i, i + size).filter((r) => !join.opened.has(r.seq))
      const opened = await Promise.all(batch.map((r) => this.open(r)))
      batch.forEach((r, j) => join.opened.set(r.seq, opened[j]!))
      for (const r of newestFirst.slice(i, i + size)) {
        const u = join.opened.get(r.seq)
        const through = u instanceof Uint8Array ? compactionIn(u) : null
        if (through !== null) {
          found = { seq: r.seq, through: Math.min(through, r.seq - 1) }
          break
        }
      }
    }
    if (this.ws === null) return // the socket closed meanwhile: the next connect joins again
    if (found && found.through < join.from) return this.askCatchUp(found.through)
    if (!found && join.from > 0) return this.askCatchUp(Math.max(0, this.headSeq - 4 * (this.headSeq - join.from)))
    const covered = found?.through ?? 0
    const needed = [...join.rows.values()].filter((r) => r.seq > covered).sort((a, b) => a.seq - b.seq)
    const missing = needed.filter((r) => !join.opened.has(r.seq))
    const opened = await Promise.all(missing.map((r) => this.open(r)))
    missing.forEach((r, j) => join.opened.set(r.seq, opened[j]!))
    this.join = null
    this.replaying = true
    try {
      if (needed.length > 0) this.doc.transact(() => needed.forEach((r) => this.use(r.seq, join.opened.get(r.seq)!)), rowOrigin(needed[needed.length - 1]!.seq))
    } finally {
      this.replaying = false
    }
    this.emit('replayed', [])
    this.lastSeq = Math.max(this.lastSeq, covered)
    for (const r of needed) this.markSeen(r.seq)
    const newest = needed[needed.length - 1]?.seq ?? covered
    this.sinceCompaction = found ? newest - found.seq : needed.length
    this.caughtUp()
  }

  /** The row's update, or why it does not open (altered, or another key). */
  private async open(row: SealedRow): Promise<Uint8Array | Error> {
    try {
      return await openSealed(this.opts.key, this.docName, row.nonce, row.ciphertext)
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err))
    }
  }

  /** Applies an opened row; a row that did not open, or is no Yjs update, is reported and never applied. */
  private use(seq: number, opened: Uint8Array | Error): boolean {
    if (opened instanceof Error) return this.report(seq, opened.name || 'OperationError')
    try {
      this.emit('opened', [{ seq, update: opened }])
      Y.applyUpdate(this.doc, opened, rowOrigin(seq))
      this.openedRows++
      this.emit('row', [{ seq, update: opened, own: false }])
      return true
    } catch (err) {
      // Opened with our key but not a Yjs update: a broken client of the delegation. Not applied.
      return this.report(seq, `not a Yjs update: ${(err as Error).message}`)
    }
  }

  private report(seq: number, reason: string): false {
    const bad = { seq, reason }
    this.unopenable.push(bad)
    this.emit('unopenable', [bad])
    return false
  }

  private markSeen(seq: number): void {
    if (seq <= this.lastSeq) return
    this.seen.add(seq)
    while (this.seen.delete(this.lastSeq + 1)) this.lastSeq++
  }

  // ── compaction ───────────────────────────────────────────────────────────

  /** A writer that is caught up and has nothing unconfirmed seals the whole state when the log grew long. */
  maybeCompact(force = false): boolean {
    if (!this.writable || !this.synced || this.compacting || this.pending.length > 0 || this.halted) return false
    // Rows still to apply, or rows that did not open: this state would not hold all it claims to.
    if (this.queuedLive > 0 || this.catchUp !== null || this.unopenable.length > 0) return false
    if (!force && this.sinceCompaction < this.compactAfter) return false
    // Too large for one message: the log stays as it is (joining reads it all), nothing is lost. Checked before the
    // marker is written: a marker no one else receives would hold every later edit of ours back on their side.
    if (Y.encodeStateAsUpdate(this.doc).byteLength + SEALED_TAG_BYTES + 256 > SEALED_MAX_CIPHERTEXT_BYTES) return false
    this.compacting = true
    try {
      // The marker names what this state holds; written under an origin the provider does not send alone.
      this.doc.transact(() => {
        this.doc.getMap(SEALED_META).set(COMPACTION_KEY, { through: this.lastSeq })
      }, COMPACTION_ORIGIN)
      const state = Y.encodeStateAsUpdate(this.doc)
      // Sent as any pending update is, so a compaction cut off by a disconnect goes again.
      this.pending.push(state)
      this.sinceCompaction = 0
      this.emit('unsaved', [this.pending.length])
      this.emit('changed', [])
      this.sendPending()
      return true
    } finally {
      this.compacting = false
    }
  }

  private setStatus(status: SealedStatus): void {
    if (this.status === status) return
    this.status = status
    this.emit('status', [status])
  }

  private setSynced(synced: boolean): void {
    if (this.synced === synced) return
    this.synced = synced
    this.emit('synced', [synced])
  }
}

type SealedRow = { seq: number; nonce: Uint8Array; ciphertext: Uint8Array }
type CatchUp = { afterSeq: number; rows: Map<number, SealedRow> }

const rowOrigin = (seq: number): RowOrigin => ({ source: 'sealed-row', seq })

export const isRowOrigin = (origin: unknown): origin is RowOrigin =>
  typeof origin === 'object' && origin !== null && (origin as { source?: unknown }).source === 'sealed-row'

/**
 * The `through` of a compaction, if this update is one: a whole state (every client from clock 0) whose
 * doc holds a marker. Only such updates are applied to a scratch doc to see: a client's first update is
 * small, and everything else is skipped by its clocks.
 */
export function compactionIn(update: Uint8Array): number | null {
  for (const clock of Y.parseUpdateMeta(update).from.values()) if (clock !== 0) return null
  const scratch = new Y.Doc({ gc: false })
  try {
    Y.applyUpdate(scratch, update)
    return compactionThrough(scratch)
  } catch {
    return null
  } finally {
    scratch.destroy()
  }
}

/** The compaction marker as the doc holds it (a new object for each compaction): to notice one arriving. */
const compactionMarker = (doc: Y.Doc): unknown => doc.getMap(SEALED_META).get(COMPACTION_KEY)

/** The `through` of the compaction marker the doc holds, if any. */
export function compactionThrough(doc: Y.Doc): number | null {
  const v = doc.getMap(SEALED_META).get(COMPACTION_KEY) as { through?: unknown } | undefined
  return v && typeof v.through === 'number' && Number.isSafeInteger(v.through) && v.through >= 0 ? v.through : null
}

/**
 * How many rows a sealed caucus holds, asked without a key (a catch-up from past any seq answers
 * with the head alone): a link without the key learns that its delegation's caucus is sealed.
 * Null when the server refuses or does not answer.
 */
export function sealedHead(
  url: string,
  docName: string,
  token: string,
  WebSocketImpl: typeof WebSocket = WebSocket,
  timeoutMs = 10_000,
): Promise<number | null> {
  return new Promise((resolve) => {
    const ws = new WebSocketImpl(`${url}/${docName}`, tokenSubprotocols(token))
    ws.binaryType = 'arraybuffer'
    const done = (head: number | null) => {
      clearTimeout(timer)
      ws.onclose = null
      if (ws.readyState <= 1) ws.close(CloseCode.normal)
      resolve(head)
    }
    const timer = setTimeout(() => done(null), timeoutMs)
    ws.onopen = () => ws.send(encodeSealedCatchUp(Number.MAX_SAFE_INTEGER) as Uint8Array<ArrayBuffer>)
    ws.onmessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) return
      try {
        const msg = decodeSealedServerMessage(new Uint8Array(event.data))
        if (msg.type === 'head') done(msg.headSeq)
      } catch {
        // not ours to read
      }
    }
    ws.onclose = () => done(null)
    ws.onerror = () => {}
  })
}
