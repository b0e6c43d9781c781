/**
 * Attributed deltas: what a row of a negotiation's log — or a run of rows —
 * did to the board or the ledger, in plain terms, with who did it.
 *
 * The log holds Yjs updates; reading any past state from them means building
 * a Y.Doc, whose cost grows with the document (a fragmented 1M-update board
 * takes ~0.7 s to decode). The history is therefore materialised (DESIGN.md,
 * "History"): each row is turned once, as it is folded, into an attributed
 * delta (rowDelta.ts), deltas of consecutive rows are composed into blocks,
 * and a past board is a stored state plus a few composed blocks
 * (materialiser.ts). Composition is associative, so a block of blocks is
 * exactly the rows it covers.
 *
 * Text deltas are the retain/insert/delete deltas of rich-text editors
 * (Quill, Yjs's own YTextEvent.delta) with each insert and delete
 * attributed: `p` is the party of the row that wrote or removed the
 * characters (null: the server, or the opening draft) and `s` its seq.
 * Adjacent inserts (or deletes) of one party merge, keeping the later seq.
 */
import type { TermStatus } from '../../shared/negotiation'

export type Party = string | null

export interface Insert {
  i: string
  p: Party
  s: number
}
export interface Delete {
  d: number
  p: Party
  s: number
}
/** keep `n` characters (a number), insert text, or delete characters of what the delta applies to */
export type TextOp = number | Insert | Delete
export type TextDelta = TextOp[]

/** A run of text with the party that wrote it and the row (seq) that last added to it. */
export interface Run {
  t: string
  p: Party
  s: number
}
/** A text as runs (adjacent runs of one party are merged) */
export type AttributedText = Run[]

export const isInsert = (op: TextOp): op is Insert => typeof op === 'object' && 'i' in op
export const isDelete = (op: TextOp): op is Delete => typeof op === 'object' && 'd' in op
const opLength = (op: TextOp): number => (typeof op === 'number' ? op : isInsert(op) ? op.i.length : op.d)

export const textOf = (runs: AttributedText): string => {
  let s = ''
  for (const r of runs) s += r.t
  return s
}

export const textLength = (runs: AttributedText): number => {
  let n = 0
  for (const r of runs) n += r.t.length
  return n
}

// ── building ────────────────────────────────────────────────────────────

/** Appends ops with the normal form: merged neighbours, deletes before inserts at one place, no empty ops. */
export class DeltaBuilder {
  readonly ops: TextDelta = []

  retain(n: number): this {
    if (n <= 0) return this
    const last = this.ops[this.ops.length - 1]
    if (typeof last === 'number') this.ops[this.ops.length - 1] = last + n
    else this.ops.push(n)
    return this
  }

  insert(i: string, p: Party, s: number): this {
    if (i.length === 0) return this
    const last = this.ops[this.ops.length - 1]
    if (last !== undefined && isInsert(last) && last.p === p) {
      this.ops[this.ops.length - 1] = { i: last.i + i, p, s: Math.max(last.s, s) }
    } else this.ops.push({ i, p, s })
    return this
  }

  delete(d: number, p: Party, s: number): this {
    if (d <= 0) return this
    // A delete right after inserts at the same place goes before them (they are one replacement).
    let at = this.ops.length
    while (at > 0 && isInsert(this.ops[at - 1]!)) at--
    const before = this.ops[at - 1]
    if (before !== undefined && isDelete(before) && before.p === p) {
      this.ops[at - 1] = { d: before.d + d, p, s: Math.max(before.s, s) }
    } else this.ops.splice(at, 0, { d, p, s })
    return this
  }

  push(op: TextOp): this {
    if (typeof op === 'number') return this.retain(op)
    return isInsert(op) ? this.insert(op.i, op.p, op.s) : this.delete(op.d, op.p, op.s)
  }

  /** The delta, without a trailing retain (it changes nothing). */
  done(): TextDelta {
    if (typeof this.ops[this.ops.length - 1] === 'number') this.ops.pop()
    return this.ops
  }
}

/** Walks a delta op by op, splitting ops into pieces of a wanted length; past its end it retains forever. */
class OpReader {
  private i = 0
  private offset = 0

  constructor(private readonly ops: TextDelta) {}

  get done(): boolean {
    return this.i >= this.ops.length
  }

  peekKind(): 'retain' | 'insert' | 'delete' {
    const op = this.ops[this.i]
    if (op === undefined || typeof op === 'number') return 'retain'
    return isInsert(op) ? 'insert' : 'delete'
  }

  peekLength(): number {
    const op = this.ops[this.i]
    return op === undefined ? Number.POSITIVE_INFINITY : opLength(op) - this.offset
  }

  next(length = Number.POSITIVE_INFINITY): TextOp {
    const op = this.ops[this.i]
    if (op === undefined) return length
    const left = opLength(op) - this.offset
    const take = Math.min(left, length)
    const start = this.offset
    if (take === left) {
      this.i++
      this.offset = 0
    } else this.offset += take
    if (typeof op === 'number') return take
    if (isInsert(op)) return { i: op.i.slice(start, start + take), p: op.p, s: op.s }
    return { d: take, p: op.p, s: op.s }
  }
}

/**
 * `a` then `b` as one delta: apply(apply(x, a), b) equals apply(x, compose(a, b)).
 * Text `a` inserts and `b` deletes is gone from the result, as if never written.
 */
export function composeText(a: TextDelta | undefined, b: TextDelta | undefined): TextDelta {
  if (!a || a.length === 0) return b ?? []
  if (!b || b.length === 0) return a
  const ra = new OpReader(a)
  const rb = new OpReader(b)
  const out = new DeltaBuilder()
  while (!ra.done || !rb.done) {
    if (rb.peekKind() === 'insert') {
      out.push(rb.next())
      continue
    }
    if (ra.peekKind() === 'delete') {
      out.push(ra.next())
      continue
    }
    const length = Math.min(ra.peekLength(), rb.peekLength())
    const opA = ra.next(length)
    const opB = rb.next(length)
    if (typeof opB === 'number') {
      out.push(opA)
    } else if (isDelete(opB) && typeof opA === 'number') {
      out.delete(opB.d, opB.p, opB.s)
    }
    // an insert of `a` deleted by `b`: nothing
  }
  return out.done()
}

// ── attributed text ─────────────────────────────────────────────────────

class RunBuilder {
  readonly runs: AttributedText = []

  push(t: string, p: Party, s: number): void {
    if (t.length === 0) return
    const last = this.runs[this.runs.length - 1]
    if (last && last.p === p) {
      last.t += t
      last.s = Math.max(last.s, s)
    } else this.runs.push({ t, p, s })
  }
}

/** Reads runs piece by piece, for a cursor moving through a text. */
class RunReader {
  private i = 0
  private offset = 0

  constructor(private readonly runs: AttributedText) {}

  /** Takes up to `n` characters, calling `visit` for each piece; returns how many it took. */
  take(n: number, visit: (t: string, p: Party, s: number) => void): number {
    let taken = 0
    while (taken < n && this.i < this.runs.length) {
      const run = this.runs[this.i]!
      const left = run.t.length - this.offset
      const k = Math.min(left, n - taken)
      visit(run.t.slice(this.offset, this.offset + k), run.p, run.s)
      taken += k
      if (k === left) {
        this.i++
        this.offset = 0
      } else this.offset += k
    }
    return taken
  }

  rest(visit: (t: string, p: Party, s: number) => void): void {
    this.take(Number.POSITIVE_INFINITY, visit)
  }
}

/** The text after `delta`: what was kept keeps its authors, what was inserted gets its own. */
export function applyText(runs: AttributedText, delta: TextDelta | undefined): AttributedText {
  if (!delta || delta.length === 0) return runs
  const read = new RunReader(runs)
  const out = new RunBuilder()
  for (const op of delta) {
    if (typeof op === 'number') read.take(op, (t, p, s) => out.push(t, p, s))
    else if (isInsert(op)) out.push(op.i, op.p, op.s)
    else read.take(op.d, () => {})
  }
  read.rest((t, p, s) => out.push(t, p, s))
  return out.runs
}

/** A character-level redline piece (redline.ts `wordSegs` widens these to words). */
export interface RedlinePiece {
  op: 'eq' | 'ins' | 'del'
  text: string
  party: Party
  /** the row that inserted or deleted it; 0 for eq */
  seq: number
}

/** What `delta` does to `base`, as eq / del / ins pieces with who deleted or wrote them. */
export function redlineOf(base: AttributedText, delta: TextDelta | undefined): RedlinePiece[] {
  const pieces: RedlinePiece[] = []
  const push = (op: RedlinePiece['op'], text: string, party: Party, seq: number) => {
    if (!text) return
    const last = pieces[pieces.length - 1]
    if (last && last.op === op && last.party === party && last.seq === seq) last.text += text
    else pieces.push({ op, text, party, seq })
  }
  const read = new RunReader(base)
  for (const op of delta ?? []) {
    if (typeof op === 'number') read.take(op, (t) => push('eq', t, null, 0))
    else if (isInsert(op)) push('ins', op.i, op.p, op.s)
    else read.take(op.d, (t) => push('del', t, op.p, op.s))
  }
  read.rest((t) => push('eq', t, null, 0))
  return pieces
}

/** A delta that removes the whole of `runs` (a term taken off the board, a text replaced). */
export function deleteAll(runs: AttributedText, p: Party, s: number): TextDelta {
  const n = textLength(runs)
  return n > 0 ? [{ d: n, p, s }] : []
}

// ── the board ────────────────────────────────────────────────────────────

export interface TermState {
  title: AttributedText
  body: AttributedText
  x: number
  y: number
  /**
   * Its title or body holds formatting (`suggestion` formats: shared/suggestions.ts;
   * any format counts): runs carry no formats, so a reader wanting its
   * suggestions reads them from the doc — and only for such terms. Absent
   * once the last one is gone (accepted, rejected, its text deleted or replaced).
   */
  suggested?: true
}

export interface NoteState {
  text: AttributedText
  x: number
  y: number
  color: string
}

export interface LinkState {
  from: string
  to: string
  label: string
}

/** A board (or caucus) as plain attributed data: every term, note and link present, and the order. */
export interface BoardState {
  terms: Record<string, TermState>
  order: string[]
  notes: Record<string, NoteState>
  links: Record<string, LinkState>
}

export const emptyBoard = (): BoardState => ({ terms: {}, order: [], notes: {}, links: {} })

/** Who removed (or replaced) an entry: its text counts as deleted by them, whole. */
export interface Cut {
  p: Party
  s: number
}

/**
 * What happened to one term. With `cut`, the term the delta started from was
 * removed or replaced (its map deleted) and the text deltas start from
 * nothing; `present` says whether a term stands at this id at the end
 * (undefined: as before).
 */
export interface TermDelta {
  cut?: Cut
  present?: boolean
  title?: TextDelta
  body?: TextDelta
  x?: number
  y?: number
  /**
   * Present when the rows put formatting (suggestions: shared/suggestions.ts) into its title or
   * body, took it out, or replaced a text that held some: whether the term holds formatting after
   * them (TermState `suggested`). Readers asking whether the rows formatted the term test
   * `!== undefined`.
   */
  suggested?: boolean
}

export interface NoteDelta {
  cut?: Cut
  present?: boolean
  text?: TextDelta
  x?: number
  y?: number
  color?: string
}

export interface BoardDelta {
  terms?: Record<string, TermDelta>
  notes?: Record<string, NoteDelta>
  /** a link's value at the end, or null: removed */
  links?: Record<string, LinkState | null>
  /** the order at the end */
  order?: string[]
}

const has = <T extends object>(o: T | undefined): o is T => o !== undefined && Object.keys(o).length > 0

function composeEntry<D extends { cut?: Cut; present?: boolean }>(
  a: D | undefined,
  b: D | undefined,
  texts: ReadonlyArray<keyof D>,
  values: ReadonlyArray<keyof D>,
): D | undefined {
  if (!a) return b
  if (!b) return a
  const out = {} as D
  if (b.cut) {
    // b removed or replaced what a left: a's changes went with it, and the start is cut by a or b.
    const cut = a.cut ?? b.cut
    out.cut = cut
    if (b.present !== undefined) out.present = b.present
    for (const k of [...texts, ...values]) if (b[k] !== undefined) out[k] = b[k]
    return out
  }
  if (a.cut) out.cut = a.cut
  const present = b.present ?? a.present
  if (present !== undefined) out.present = present
  for (const k of texts) {
    const t = composeText(a[k] as TextDelta | undefined, b[k] as TextDelta | undefined)
    if (t.length > 0) out[k] = t as D[keyof D]
  }
  for (const k of values) {
    const v = b[k] !== undefined ? b[k] : a[k]
    if (v !== undefined) out[k] = v
  }
  return out
}

function composeRecords<V>(
  a: Record<string, V> | undefined,
  b: Record<string, V> | undefined,
  each: (x: V | undefined, y: V | undefined) => V | undefined,
): Record<string, V> | undefined {
  if (!has(a)) return b
  if (!has(b)) return a
  const out: Record<string, V> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const c = each(a[k], v)
    if (c === undefined) delete out[k]
    else out[k] = c
  }
  return out
}

const TERM_TEXTS = ['title', 'body'] as const
const TERM_VALUES = ['x', 'y', 'suggested'] as const
const NOTE_TEXTS = ['text'] as const
const NOTE_VALUES = ['x', 'y', 'color'] as const

/** `a` then `b`: applyBoard(applyBoard(s, a), b) equals applyBoard(s, composeBoard(a, b)). */
export function composeBoard(a: BoardDelta, b: BoardDelta): BoardDelta {
  const out: BoardDelta = {}
  const terms = composeRecords(a.terms, b.terms, (x, y) => composeEntry(x, y, TERM_TEXTS, TERM_VALUES))
  if (has(terms)) out.terms = terms
  const notes = composeRecords(a.notes, b.notes, (x, y) => composeEntry(x, y, NOTE_TEXTS, NOTE_VALUES))
  if (has(notes)) out.notes = notes
  if (has(a.links) || has(b.links)) out.links = { ...a.links, ...b.links }
  const order = b.order ?? a.order
  if (order) out.order = order
  return out
}

function applyEntry<S extends object, D extends { cut?: Cut; present?: boolean }>(
  base: S | undefined,
  d: D,
  texts: ReadonlyArray<string>,
  fresh: () => S,
): S | undefined {
  const start = d.cut ? undefined : base
  const present = d.present ?? start !== undefined
  if (!present) return undefined
  const out = { ...(start ?? fresh()) } as Record<string, unknown>
  for (const [k, v] of Object.entries(d)) {
    if (k === 'cut' || k === 'present' || v === undefined) continue
    out[k] = texts.includes(k) ? applyText(out[k] as AttributedText, v as unknown as TextDelta) : v
  }
  return out as S
}

/** The board after `d` (a new object; `state` is not changed). */
export function applyBoard(state: BoardState, d: BoardDelta): BoardState {
  const out: BoardState = { terms: state.terms, order: d.order ?? state.order, notes: state.notes, links: state.links }
  if (d.terms) {
    out.terms = { ...state.terms }
    for (const [id, td] of Object.entries(d.terms)) {
      const t = applyEntry(state.terms[id], td, TERM_TEXTS, (): TermState => ({ title: [], body: [], x: 0, y: 0 }))
      // `suggested: false` in a delta is the flag taken away.
      if (t && !t.suggested) delete t.suggested
      if (t) out.terms[id] = t
      else delete out.terms[id]
    }
  }
  if (d.notes) {
    out.notes = { ...state.notes }
    for (const [id, nd] of Object.entries(d.notes)) {
      const n = applyEntry(state.notes[id], nd, NOTE_TEXTS, () => ({ text: [], x: 0, y: 0, color: '' }))
      if (n) out.notes[id] = n
      else delete out.notes[id]
    }
  }
  if (d.links) {
    out.links = { ...state.links }
    for (const [id, l] of Object.entries(d.links)) {
      if (l) out.links[id] = l
      else delete out.links[id]
    }
  }
  return out
}

// ── the ledger ───────────────────────────────────────────────────────────

/** The ledger as plain data: each term's status, and the negotiation's meta (title, parties, …). */
export interface LedgerState {
  status: Record<string, TermStatus>
  meta: Record<string, unknown>
}

export const emptyLedger = (): LedgerState => ({ status: {}, meta: {} })

/** Values at the end: a status (null: gone) per term, a value (null: gone) per meta key. */
export interface LedgerDelta {
  status?: Record<string, TermStatus | null>
  meta?: Record<string, unknown>
}

export function composeLedger(a: LedgerDelta, b: LedgerDelta): LedgerDelta {
  const out: LedgerDelta = {}
  if (has(a.status) || has(b.status)) out.status = { ...a.status, ...b.status }
  if (has(a.meta) || has(b.meta)) out.meta = { ...a.meta, ...b.meta }
  return out
}

export function applyLedger(state: LedgerState, d: LedgerDelta): LedgerState {
  const out: LedgerState = { status: state.status, meta: state.meta }
  if (d.status) {
    out.status = { ...state.status }
    for (const [id, v] of Object.entries(d.status)) {
      if (v) out.status[id] = v
      else delete out.status[id]
    }
  }
  if (d.meta) {
    out.meta = { ...state.meta }
    for (const [k, v] of Object.entries(d.meta)) {
      if (v === null || v === undefined) delete out.meta[k]
      else out.meta[k] = v
    }
  }
  return out
}

/** Rough size in bytes of what a delta or state adds to storage (for spacing snapshots by bytes). */
export const sizeOf = (value: unknown): number => JSON.stringify(value)?.length ?? 0
