/**
 * The materialised history of a negotiation's board and ledger logs
 * (DESIGN.md, "History"): derived from the log, stored beside it, rebuilt
 * from it when missing or when FORMAT changes.
 *
 * Each folded row's attributed delta (delta.ts, rowDelta.ts) goes into a
 * block of 16 rows; 16 blocks make a block of the next level (256 rows),
 * and so on. Blocks are aligned to their size in seq space — level k covers
 * (start, start + 16^k] with start a multiple of 16^k — and each holds the
 * composition of what it covers (level-1 blocks also the rows one by one).
 * A full state (snapshot) is stored now and then, spaced by bytes: once the
 * blocks written since the last one add up to its size, so snapshots never
 * take more room than the blocks, and reaching a state from the nearest
 * snapshot means reading at most about its size again.
 *
 * The state at any seq is then the newest snapshot at or before it plus the
 * largest aligned blocks that fit (at most 15 a level) plus a few rows of a
 * level-1 block; the change between any two seqs is the composition of such
 * a cover. Neither depends on how long the history is, only on the size of
 * the board.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import {
  applyBoard,
  applyLedger,
  composeBoard,
  composeLedger,
  emptyBoard,
  emptyLedger,
  type BoardDelta,
  type BoardState,
  type LedgerDelta,
  type LedgerState,
} from './delta'
import type { HistoryBlock, HistoryBlockKey, HistorySnapshot } from '../store/types'
import type { LogDoc } from './logRows'

/**
 * Bump when what is stored here changes meaning: the materialised history is then rebuilt from the log.
 * 2: terms carry `suggested` (delta.ts), which histories stored before lack.
 * 3: `suggested` says the term holds formatting now (a delta may take it away: `false`); in 2 it
 *    stayed once set.
 */
export const HISTORY_FORMAT = 3
export const FANOUT = 16
/** The first snapshot waits for this many bytes of blocks (small boards need none sooner). */
const MIN_SNAPSHOT_SPACING = 16 * 1024

export interface Algebra<S, D> {
  emptyState(): S
  compose(a: D, b: D): D
  apply(s: S, d: D): S
}

export const BOARD: Algebra<BoardState, BoardDelta> = { emptyState: emptyBoard, compose: composeBoard, apply: applyBoard }
export const LEDGER: Algebra<LedgerState, LedgerDelta> = { emptyState: emptyLedger, compose: composeLedger, apply: applyLedger }

export type AnyDelta = BoardDelta | LedgerDelta
export type AnyState = BoardState | LedgerState

export const algebraOf = (doc: LogDoc): Algebra<AnyState, AnyDelta> =>
  (doc === 'board' ? BOARD : LEDGER) as unknown as Algebra<AnyState, AnyDelta>

export type StoredBlock = HistoryBlock
export type StoredSnapshot = HistorySnapshot
export type BlockKey = HistoryBlockKey

/** Where the materialised history is read from: the store, or a tool's own memory. */
export interface HistorySource {
  historyBlocks(negotiationId: string, doc: LogDoc, keys: BlockKey[]): Promise<StoredBlock[]>
  /** The newest snapshot of `doc` at or before `seq`. */
  historySnapshot(negotiationId: string, doc: LogDoc, atOrBefore: number): Promise<StoredSnapshot | null>
}

// ── encoding ─────────────────────────────────────────────────────────────

interface BlockBody {
  /** the composition of what the block covers (absent from a level-1 block still filling) */
  d?: AnyDelta
  /** level 1: each row's own delta, [seq, delta] */
  rows?: Array<[number, AnyDelta]>
}

/** JSON, deflated: deltas repeat their keys and parties, which deflate takes out (measured in bench/). */
export const encode = (value: unknown): Uint8Array => deflateRawSync(JSON.stringify(value), { level: 6 })
export const decode = <T>(data: Uint8Array): T => JSON.parse(inflateRawSync(data).toString('utf8')) as T

export const span = (level: number): number => FANOUT ** level

// ── writing: one doc of one negotiation ──────────────────────────────────

/** What the writer needs to go on after a restart (kept in the history state). */
export interface WriterState {
  /** every row up to here is in the blocks */
  seq: number
  lastSnapshot: { seq: number; bytes: number } | null
  /** bytes of blocks written since that snapshot */
  sinceSnapshot: number
}

export const initialWriterState = (): WriterState => ({ seq: 0, lastSnapshot: null, sinceSnapshot: 0 })

export interface PendingWrites {
  blocks: StoredBlock[]
  snapshots: StoredSnapshot[]
}

/**
 * Takes one doc's row deltas in seq order and produces the blocks and
 * snapshots to store. The current level-1 block is kept in memory and
 * written (again) whenever the caller flushes, so readers see recent rows;
 * a completed block is final.
 */
export class BlockWriter {
  private readonly algebra: Algebra<AnyState, AnyDelta>
  /** rows of the level-1 block being filled */
  private rows: Array<[number, AnyDelta]> = []
  /** completed composites per level (index = level), waiting to fill a block of the next level */
  private children: AnyDelta[][] = []
  /** the composition of everything since the last snapshot, and the state at that snapshot */
  private sinceSnapshotDelta: AnyDelta | null = null
  private snapshotState: AnyState
  private writes: PendingWrites = { blocks: [], snapshots: [] }
  private rowsDirty = false

  constructor(
    readonly doc: LogDoc,
    readonly state: WriterState,
    resume: { rows: Array<[number, AnyDelta]>; children: AnyDelta[][]; snapshotState: AnyState; sinceSnapshot: AnyDelta | null },
  ) {
    this.algebra = algebraOf(doc)
    this.rows = resume.rows
    this.children = resume.children
    this.snapshotState = resume.snapshotState
    this.sinceSnapshotDelta = resume.sinceSnapshot
  }

  /**
   * Picks up where a writer left off (its `state` kept in the history state): the open level-1
   * block's rows, the completed blocks waiting to fill the levels above, and the state at the last
   * snapshot with what came since, all read back from what was stored.
   */
  static async resume(source: HistorySource, negotiationId: string, doc: LogDoc, state: WriterState): Promise<BlockWriter> {
    const algebra = algebraOf(doc)
    const seq = state.seq
    const closed = seq - (seq % FANOUT)
    const keys: BlockKey[] = []
    if (closed < seq) keys.push({ level: 1, start: closed })
    // In each level's current (unfinished) window: the completed blocks of the level under it.
    for (let level = 1; span(level) <= closed; level++) {
      const window = closed - (closed % span(level + 1))
      for (let start = window; start + span(level) <= closed; start += span(level)) keys.push({ level, start })
    }
    const found = new Map((await source.historyBlocks(negotiationId, doc, keys)).map((b) => [`${b.level}/${b.start}`, b]))
    const body = (k: BlockKey) => {
      const b = found.get(`${k.level}/${k.start}`)
      if (!b) throw new Error(`history block ${negotiationId}/${doc}/${k.level}/${k.start} is missing`)
      return decodeBlock(b)
    }
    const rows = closed < seq ? (body({ level: 1, start: closed }).rows ?? []).filter(([s]) => s <= seq) : []
    const children: AnyDelta[][] = []
    for (const k of keys) {
      if (k.level === 1 && k.start === closed && closed < seq) continue
      ;(children[k.level] ??= []).push(wholeBlock(body(k), k))
    }
    const snap = state.lastSnapshot ? await source.historySnapshot(negotiationId, doc, state.lastSnapshot.seq) : null
    const snapshotState = snap ? decode<AnyState>(snap.data) : algebra.emptyState()
    const sinceSnapshot = await new HistoryReader(source).delta(negotiationId, doc, snap?.seq ?? 0, closed)
    return new BlockWriter(
      doc,
      { ...state, lastSnapshot: state.lastSnapshot ? { ...state.lastSnapshot } : null },
      {
        rows,
        children,
        snapshotState,
        sinceSnapshot,
      },
    )
  }

  static fresh(doc: LogDoc): BlockWriter {
    return new BlockWriter(doc, initialWriterState(), {
      rows: [],
      children: [],
      snapshotState: algebraOf(doc).emptyState(),
      sinceSnapshot: null,
    })
  }

  get position(): number {
    return this.state.seq
  }

  /** The next row of the doc (seq = position + 1). */
  add(seq: number, delta: AnyDelta): void {
    if (seq !== this.state.seq + 1) throw new Error(`${this.doc} row ${seq} after ${this.state.seq}`)
    this.rows.push([seq, delta])
    this.state.seq = seq
    this.rowsDirty = true
    if (seq % FANOUT === 0) this.completeLevel1()
  }

  /** The rows of the level-1 block being filled (for reads of the newest seqs). */
  get openRows(): ReadonlyArray<[number, AnyDelta]> {
    return this.rows
  }

  /** Blocks and snapshots to store now (the open level-1 block included, if it changed). */
  take(): PendingWrites {
    if (this.rowsDirty && this.rows.length > 0) {
      // The open block goes out as its rows alone: readers take rows from a block that is not complete
      // (a cover uses whole blocks only up to completed ones), so composing them here would be wasted.
      const start = this.rows[0]![0] - 1
      const body: BlockBody = { rows: this.rows }
      const end = this.rows[this.rows.length - 1]![0]
      this.writes.blocks.push({ doc: this.doc, level: 1, start: start - (start % FANOUT), end, data: encode(body) })
    }
    this.rowsDirty = false
    const out = this.writes
    this.writes = { blocks: [], snapshots: [] }
    return out
  }

  private level1Block(start: number): { block: StoredBlock; composite: AnyDelta } {
    const composite = this.rows.map(([, d]) => d).reduce((a, b) => this.algebra.compose(a, b))
    const body: BlockBody = { d: composite, rows: this.rows }
    return { block: { doc: this.doc, level: 1, start, end: this.rows[this.rows.length - 1]![0], data: encode(body) }, composite }
  }

  private completeLevel1(): void {
    const end = this.state.seq
    const { block, composite } = this.level1Block(end - FANOUT)
    this.writes.blocks.push(block)
    this.rows = []
    this.rowsDirty = false
    this.state.sinceSnapshot += block.data.byteLength
    this.sinceSnapshotDelta = this.sinceSnapshotDelta ? this.algebra.compose(this.sinceSnapshotDelta, composite) : composite
    this.pushChild(1, composite, end)
    this.maybeSnapshot(end)
  }

  /** A completed block of `level` ending at `end`: when it is the 16th, the block above is complete too. */
  private pushChild(level: number, composite: AnyDelta, end: number): void {
    const list = (this.children[level] ??= [])
    list.push(composite)
    if (end % span(level + 1) !== 0) return
    if (list.length !== FANOUT) {
      // Rebuilt from a log whose earlier blocks this writer did not see: the level above is written by whoever saw them all.
      this.children[level] = []
      return
    }
    const merged = list.reduce((a, b) => this.algebra.compose(a, b))
    this.children[level] = []
    const body: BlockBody = { d: merged }
    this.writes.blocks.push({ doc: this.doc, level: level + 1, start: end - span(level + 1), end, data: encode(body) })
    this.pushChild(level + 1, merged, end)
  }

  private maybeSnapshot(seq: number): void {
    const spacing = Math.max(MIN_SNAPSHOT_SPACING, this.state.lastSnapshot?.bytes ?? 0)
    if (this.state.sinceSnapshot < spacing || !this.sinceSnapshotDelta) return
    this.snapshotState = this.algebra.apply(this.snapshotState, this.sinceSnapshotDelta)
    const data = encode(this.snapshotState)
    this.writes.snapshots.push({ doc: this.doc, seq, data })
    this.state.lastSnapshot = { seq, bytes: data.byteLength }
    this.state.sinceSnapshot = 0
    this.sinceSnapshotDelta = null
  }
}

export const decodeBlock = (b: StoredBlock): BlockBody => decode<BlockBody>(b.data)

/** The composition of a complete block (only a block still filling has none). */
function wholeBlock(body: BlockBody, at: BlockKey): AnyDelta {
  if (!body.d) throw new Error(`history block ${at.level}/${at.start} is not complete`)
  return body.d
}

// ── reading ──────────────────────────────────────────────────────────────

/** A piece of a cover: a whole block, or the rows of a level-1 block in (after, upTo]. */
interface CoverPiece {
  level: number
  start: number
  rows?: { after: number; upTo: number }
}

/** The largest aligned blocks that make up (from, to], with partial level-1 blocks at the ends. */
export function cover(from: number, to: number): CoverPiece[] {
  const pieces: CoverPiece[] = []
  let c = from
  if (c < to && c % FANOUT !== 0) {
    const start = c - (c % FANOUT)
    const upTo = Math.min(to, start + FANOUT)
    pieces.push({ level: 1, start, rows: { after: c, upTo } })
    c = upTo
  }
  while (c < to) {
    if (c + FANOUT > to) {
      pieces.push({ level: 1, start: c, rows: { after: c, upTo: to } })
      break
    }
    let level = 1
    while (c % span(level + 1) === 0 && c + span(level + 1) <= to) level++
    pieces.push({ level, start: c })
    c += span(level)
  }
  return pieces
}

/** Decoded blocks and snapshots of recent reads (replay steps through neighbouring versions). */
class Cache<T> {
  private map = new Map<string, T>()
  constructor(private readonly max: number) {}
  get(k: string): T | undefined {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.map.set(k, v)
    }
    return v
  }
  set(k: string, v: T): void {
    this.map.delete(k)
    this.map.set(k, v)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!)
  }
  clear(): void {
    this.map.clear()
  }
}

/** Rows not yet stored, by doc (the live writer's open level-1 block): read before the store. */
export interface RecentRows {
  rows(doc: LogDoc): ReadonlyArray<[number, AnyDelta]>
}

export class HistoryReader {
  private readonly blocks = new Cache<BlockBody>(512)
  private readonly snapshots = new Cache<{ seq: number; state: AnyState }>(8)

  constructor(private readonly source: HistorySource) {}

  /** The change of `doc` over (from, to]. */
  async delta(negotiationId: string, doc: LogDoc, from: number, to: number, recent?: RecentRows): Promise<AnyDelta | null> {
    if (to <= from) return null
    const algebra = algebraOf(doc)
    const parts = await this.parts(negotiationId, doc, cover(from, to), recent)
    return parts.length === 0 ? null : parts.reduce((a, b) => algebra.compose(a, b))
  }

  /** The state of `doc` right after row `seq` (0: before the first). */
  async state(negotiationId: string, doc: LogDoc, seq: number, recent?: RecentRows): Promise<AnyState> {
    const algebra = algebraOf(doc)
    const snap = seq > 0 ? await this.snapshot(negotiationId, doc, seq) : null
    const base = snap?.state ?? algebra.emptyState()
    const d = await this.delta(negotiationId, doc, snap?.seq ?? 0, seq, recent)
    return d ? algebra.apply(base, d) : base
  }

  clearCache(): void {
    this.blocks.clear()
    this.snapshots.clear()
  }

  private async snapshot(negotiationId: string, doc: LogDoc, seq: number): Promise<{ seq: number; state: AnyState } | null> {
    const stored = await this.source.historySnapshot(negotiationId, doc, seq)
    if (!stored) return null
    const key = `${negotiationId}/${doc}/${stored.seq}`
    let hit = this.snapshots.get(key)
    if (!hit) this.snapshots.set(key, (hit = { seq: stored.seq, state: decode<AnyState>(stored.data) }))
    return hit
  }

  private async parts(negotiationId: string, doc: LogDoc, pieces: CoverPiece[], recent?: RecentRows): Promise<AnyDelta[]> {
    const keyOf = (p: { level: number; start: number }) => `${negotiationId}/${doc}/${p.level}/${p.start}`
    /** blocks of this read that are not cached: a level-1 block still filling changes */
    const fetched = new Map<string, BlockBody>()
    const missing = pieces.filter((p) => !this.blocks.get(keyOf(p)))
    if (missing.length > 0) {
      const found = await this.source.historyBlocks(
        negotiationId,
        doc,
        missing.map((p) => ({ level: p.level, start: p.start })),
      )
      for (const b of found) {
        const body = decodeBlock(b)
        if (b.level > 1 || b.end === b.start + FANOUT) this.blocks.set(keyOf(b), body)
        else fetched.set(keyOf(b), body)
      }
    }
    const out: AnyDelta[] = []
    for (const p of pieces) {
      const body = this.blocks.get(keyOf(p)) ?? fetched.get(keyOf(p))
      const openRows = p.level === 1 ? (recent?.rows(doc) ?? []) : []
      if (!p.rows) {
        if (!body) throw new Error(`history block ${keyOf(p)} is missing`)
        out.push(wholeBlock(body, p))
        continue
      }
      const rows = new Map<number, AnyDelta>()
      for (const [s, d] of body?.rows ?? []) rows.set(s, d)
      for (const [s, d] of openRows) rows.set(s, d)
      for (let s = p.rows.after + 1; s <= p.rows.upTo; s++) {
        const d = rows.get(s)
        if (!d) throw new Error(`history row ${negotiationId}/${doc}/${s} is not materialised`)
        out.push(d)
      }
    }
    return out
  }
}
