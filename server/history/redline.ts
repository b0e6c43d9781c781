/**
 * Redlines between two points of a board's log, each inserted or deleted run
 * attributed to the delegation whose update wrote or removed it.
 *
 * Attribution comes from the log, not from comparing texts: a scratch doc is
 * built (with gc off, so deleted text keeps its content) at the start of a
 * window, and every row of the window is decoded to note which Yjs item ids
 * it inserted and which it deleted, with the row's seq and its author's
 * party. A Y.Text item is then in the text at seq F when it was inserted
 * at or before F and not deleted at or before F; comparing that at `from`
 * and `to` gives eq/del/ins runs at character level, each with the row that
 * made it so. That row decides who: a character the window wrote is credited
 * to the party of the row that wrote it (the server lets a row bring new
 * items only under Yjs client ids its sender owns), one it removed to the
 * party of the row that removed it. What a reader sees is word-level, but
 * widening to words only decides where runs begin and end (see `wordSegs`).
 * One scratch doc answers any number of (from, to) pairs inside its window,
 * which is how an export draws every term's redline in one pass.
 */
import * as Y from 'yjs'
import { diffArrays } from 'diff'
import { board as boardOf } from '../../shared/docLayout'
import type { Seg } from '../../shared/schemas'
import { alongPieces, asSuggestion, sameSuggestion, SUGGESTION_KEY, type Suggestion, type SuggestionPiece } from '../../shared/suggestions'
import type { Store, StoredUpdate } from '../store/types'
import { docAt } from './reconstruct'

/** Which row made an id range so: its seq (0: before the window) and its author's party. */
export interface Mark {
  seq: number
  party: string | null
}

const BEFORE_WINDOW: Mark = { seq: 0, party: null }

interface Interval {
  start: number
  end: number
  mark: Mark
}

/** Per Yjs client: disjoint clock ranges, each with the first row that covered it. */
export class RangeMarks {
  private clients = new Map<number, Interval[]>()

  add(client: number, start: number, len: number, mark: Mark): void {
    if (len <= 0) return
    const end = start + len
    let list = this.clients.get(client)
    if (!list) this.clients.set(client, (list = []))
    const last = list[list.length - 1]
    if (!last || last.end <= start) {
      if (last && last.end === start && last.mark === mark) last.end = end
      else list.push({ start, end, mark })
      return
    }
    // Overlaps what is known: only the uncovered parts are new (the first row to cover an id wins).
    const gaps: Interval[] = []
    let cur = start
    for (let i = firstEndingAfter(list, start); cur < end; i++) {
      const iv = list[i]
      if (!iv || iv.start >= end) {
        gaps.push({ start: cur, end, mark })
        break
      }
      if (iv.start > cur) gaps.push({ start: cur, end: iv.start, mark })
      cur = Math.max(cur, iv.end)
    }
    if (gaps.length === 0) return
    list.push(...gaps)
    list.sort((a, b) => a.start - b.start)
  }

  /** Splits [clock, clock+len) into consecutive pieces with their mark (undefined where none). */
  pieces(client: number, clock: number, len: number): Array<{ start: number; end: number; mark?: Mark }> {
    const end = clock + len
    const list = this.clients.get(client) ?? []
    const out: Array<{ start: number; end: number; mark?: Mark }> = []
    let cur = clock
    for (let i = firstEndingAfter(list, clock); cur < end && i < list.length; i++) {
      const iv = list[i]!
      if (iv.start >= end) break
      if (iv.start > cur) out.push({ start: cur, end: iv.start })
      const s = Math.max(cur, iv.start)
      const e = Math.min(end, iv.end)
      out.push({ start: s, end: e, mark: iv.mark })
      cur = e
    }
    if (cur < end) out.push({ start: cur, end })
    return out
  }

  first(client: number, clock: number): Mark | undefined {
    const list = this.clients.get(client) ?? []
    const iv = list[firstEndingAfter(list, clock)]
    return iv && iv.start <= clock ? iv.mark : undefined
  }
}

function firstEndingAfter(list: Interval[], clock: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (list[mid]!.end <= clock) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** A character-level run before widening to words. */
export interface Run {
  op: Seg['op']
  text: string
  party: string | null
  /** the row that inserted (ins) or deleted (del) it; 0 for eq */
  seq: number
  /** eq and ins runs: the pending suggestion the text is at the window's end (absent: none) */
  suggestion?: Suggestion | null
}

/**
 * A redline segment with the board row that made it (`seq`, on ins and del: the row that wrote or
 * removed the text; widened characters take the word's latest change). Server-internal — the Word
 * export turns the row into who and when (server/word/rowAuthors.ts); `GET …/diff` answers plain Segs.
 */
export interface RowSeg extends Seg {
  seq?: number
}

export interface ReplayProgress {
  (done: number, total: number): void
}

/**
 * A board doc at the end of a window of its log, with gc off, and for every
 * item id which row of the window inserted and which deleted it.
 */
export class BoardReplay {
  readonly inserted = new RangeMarks()
  readonly deleted = new RangeMarks()
  /** terms whose map entry or content a row of the window changed; the others are as they were */
  readonly touched = new Set<string>()

  private constructor(
    readonly doc: Y.Doc,
    /** the window is (fromSeq, toSeq] */
    readonly fromSeq: number,
    public toSeq: number,
  ) {
    const terms = boardOf(doc).terms
    terms.observeDeep((events) => {
      for (const ev of events) {
        if (ev.target === terms) for (const key of ev.changes.keys.keys()) this.touched.add(key)
        else if (typeof ev.path[0] === 'string') this.touched.add(ev.path[0])
      }
    })
  }

  /** The board at `fromSeq` (checkpoint + tail) with the rows up to `toSeq` applied and recorded. */
  static async build(
    store: Store,
    docName: string,
    fromSeq: number,
    toSeq: number,
    onProgress?: ReplayProgress,
  ): Promise<BoardReplay> {
    const doc = await docAt(store, docName, fromSeq, { gc: false })
    const replay = new BoardReplay(doc, fromSeq, fromSeq)
    // What the doc already holds was inserted before the window.
    Y.decodeStateVector(Y.encodeStateVector(doc)).forEach((clock, client) => replay.inserted.add(client, 0, clock, BEFORE_WINDOW))
    const PAGE = 2000
    const total = toSeq - fromSeq
    for (let after = fromSeq; after < toSeq; after += PAGE) {
      const rows = await store.readUpdates(docName, after, Math.min(after + PAGE, toSeq))
      replay.apply(rows)
      onProgress?.(Math.min(after + PAGE, toSeq) - fromSeq, total)
    }
    return replay
  }

  private apply(rows: StoredUpdate[]): void {
    for (const r of rows) this.record(r)
    Y.transact(this.doc, () => {
      for (const r of rows) {
        try {
          Y.applyUpdate(this.doc, r.update)
        } catch {
          // skipped, as everywhere else
        }
      }
    })
    if (rows.length > 0) this.toSeq = rows[rows.length - 1]!.seq
  }

  private record(row: StoredUpdate): void {
    const mark: Mark = { seq: row.seq, party: row.author.party }
    let decoded
    try {
      decoded = Y.decodeUpdate(row.update)
    } catch {
      return
    }
    for (const s of decoded.structs) {
      if (s instanceof Y.Item) this.inserted.add(s.id.client, s.id.clock, s.length, mark)
    }
    decoded.ds.clients.forEach((items, client) => {
      for (const d of items) {
        // A deletion of what was already deleted before the window (a resend) is not this row's.
        this.markDeletedBefore(client, d.clock, d.len)
        this.deleted.add(client, d.clock, d.len, mark)
      }
    })
  }

  private markDeletedBefore(client: number, clock: number, len: number): void {
    const structs = this.doc.store.clients.get(client)
    if (!structs || structs.length === 0) return
    const end = clock + len
    const last = structs[structs.length - 1]!
    if (clock >= last.id.clock + last.length) return
    for (let i = Y.findIndexSS(structs, Math.max(clock, structs[0]!.id.clock)); i < structs.length; i++) {
      const s = structs[i]!
      if (s.id.clock >= end) break
      if (s.deleted && this.deleted.first(client, s.id.clock) === undefined) {
        const from = Math.max(clock, s.id.clock)
        this.deleted.add(client, from, Math.min(end, s.id.clock + s.length) - from, BEFORE_WINDOW)
      }
    }
  }

  /**
   * Was an id range in the doc at seq `at` (fromSeq ≤ at ≤ toSeq)? `deletedNow`:
   * the item is deleted at the end of the window; with no deletion in the
   * window, it was deleted before it.
   */
  private alive(ins: Mark | undefined, del: Mark | undefined, deletedNow: boolean, at: number): boolean {
    if (deletedNow && !del) return false
    return (ins?.seq ?? 0) <= at && !(del && del.seq <= at)
  }

  private itemAlive(item: Y.Item, at: number): boolean {
    const { client, clock } = item.id
    return this.alive(this.inserted.first(client, clock), this.deleted.first(client, clock), item.deleted, at)
  }

  /** Every Y.Map a term id ever pointed to on this board, oldest first. */
  private termMaps(termId: string): Y.Item[] {
    const terms = boardOf(this.doc).terms as unknown as { _map: Map<string, Y.Item> }
    return chain(terms._map.get(termId))
  }

  /** Is the term on the board at seq `at`? */
  present(termId: string, at: number): boolean {
    return this.termMaps(termId).some((item) => item.content instanceof Y.ContentType && this.itemAlive(item, at))
  }

  /** The last seq of the window at which the term was on the board. */
  lastSeen(termId: string): number {
    let seen = this.fromSeq
    for (const item of this.termMaps(termId)) {
      if (!(item.content instanceof Y.ContentType)) continue
      const ins = this.inserted.first(item.id.client, item.id.clock)
      const del = this.deleted.first(item.id.client, item.id.clock)
      if (item.deleted && !del) continue // gone before the window
      const end = del ? del.seq - 1 : this.toSeq
      if ((ins?.seq ?? 0) <= end) seen = Math.max(seen, end)
    }
    return seen
  }

  /**
   * Character runs of a term's title or body between seqs `from` and `to`;
   * what `to` holds carries the suggestion it is then (the `suggestion`
   * format items alive at `to` decide it, as Yjs's own reading does with
   * the items alive now).
   */
  runs(termId: string, field: 'title' | 'body', from: number, to: number): Run[] {
    const runs: Run[] = []
    let suggestion: Suggestion | null = null
    const push = (op: Run['op'], text: string, mark?: Mark) => {
      const party = mark?.party ?? null
      const seq = mark?.seq ?? 0
      const sug = op === 'del' ? null : suggestion
      const last = runs[runs.length - 1]
      if (last && last.op === op && last.party === party && last.seq === seq && sameSuggestion(last.suggestion, sug))
        last.text += text
      else runs.push(sug ? { op, text, party, seq, suggestion: sug } : { op, text, party, seq })
    }
    for (const termItem of this.termMaps(termId)) {
      if (!(termItem.content instanceof Y.ContentType)) continue
      const termMap = termItem.content.type as unknown as { _map: Map<string, Y.Item> }
      for (const fieldItem of chain(termMap._map.get(field))) {
        if (!(fieldItem.content instanceof Y.ContentType)) continue
        suggestion = null
        for (let item = (fieldItem.content.type as Y.Text)._start; item; item = item.right) {
          if (item.content instanceof Y.ContentFormat) {
            if (item.content.key === SUGGESTION_KEY && this.itemAlive(item, to)) suggestion = asSuggestion(item.content.value)
            continue
          }
          if (!(item.content instanceof Y.ContentString)) continue
          const str = item.content.str
          const { client, clock } = item.id
          for (const ins of this.inserted.pieces(client, clock, item.length)) {
            for (const del of this.deleted.pieces(client, ins.start, ins.end - ins.start)) {
              const atFrom = this.alive(ins.mark, del.mark, item.deleted, from)
              const atTo = this.alive(ins.mark, del.mark, item.deleted, to)
              if (!atFrom && !atTo) continue
              const text = str.slice(del.start - clock, del.end - clock)
              if (atFrom && atTo) push('eq', text)
              else if (atFrom) push('del', text, del.mark)
              else push('ins', text, ins.mark)
            }
          }
        }
      }
    }
    return runs
  }

  /** Term ids in the board's `order` as it ever was (removed ones included), then any others. */
  allTermIds(): string[] {
    const ids: string[] = []
    const seen = new Set<string>()
    const add = (id: unknown) => {
      if (typeof id === 'string' && !seen.has(id)) {
        seen.add(id)
        ids.push(id)
      }
    }
    for (let item = boardOf(this.doc).order._start; item; item = item.right) {
      if (item.content instanceof Y.ContentAny) item.content.arr.forEach(add)
    }
    const terms = boardOf(this.doc).terms as unknown as { _map: Map<string, Y.Item> }
    ;[...terms._map.keys()].sort().forEach(add)
    return ids
  }

  destroy(): void {
    this.doc.destroy()
  }
}

/** The items of one map key, oldest first (earlier values stay linked to the left of the current one). */
function chain(latest: Y.Item | undefined): Y.Item[] {
  const items: Y.Item[] = []
  for (let item: Y.Item | null | undefined = latest; item; item = item.left) items.unshift(item)
  return items
}

export const textOf = (runs: Run[], side: 'from' | 'to') =>
  runs
    .filter((r) => r.op === 'eq' || r.op === (side === 'from' ? 'del' : 'ins'))
    .map((r) => r.text)
    .join('')

/**
 * Runs with the suggestions of the text they end at: `pieces` is that text
 * as read from its Y.Text (shared/suggestions.ts `suggestionPieces`), and
 * each eq or ins run is split where a suggestion begins or ends. Runs whose
 * `to` side is not that text (read at another point) are returned as they are.
 */
export function markSuggestions(runs: Run[], pieces: readonly SuggestionPiece[]): Run[] {
  if (!pieces.some((p) => p.suggestion)) return runs
  if (pieces.map((p) => p.text).join('') !== textOf(runs, 'to')) return runs
  const out: Run[] = []
  alongPieces(
    runs,
    (r) => r.text,
    pieces,
    (r, text, piece) => {
      if (!piece) return out.push(r)
      const { suggestion: _old, ...run } = r
      out.push(piece.suggestion ? { ...run, text, suggestion: piece.suggestion } : { ...run, text })
    },
    (r) => r.op !== 'del',
  )
  return out
}

// ── words ────────────────────────────────────────────────────────────────

/**
 * One character of a redline. `del`/`ins`: the row that deleted or wrote it
 * in the window; an `eq` cell has both when it stands for a character
 * deleted and typed again identically (so widening a word can still credit
 * each copy truly), and neither when the window left it alone.
 */
interface Cell {
  ch: string
  op: Seg['op']
  del: Run | null
  ins: Run | null
  /** the pending suggestion the character is at the window's end (never on a deleted one) */
  sug: Suggestion | null
}

// Han and kana are written without spaces: a character is a word there, or a whole sentence would widen.
const WORD_CHAR = /^(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])[\p{L}\p{M}\p{N}_]$/u
const isWordChar = (ch: string) => WORD_CHAR.test(ch)

/**
 * Words (runs of word characters); every other character, whitespace
 * included, is a token of its own. A word also ends where a suggestion
 * begins or ends: a suggestion is shown as it was made, never widened into
 * the text around it (nor that text into it).
 */
function tokens<T extends { ch: string; sug: Suggestion | null }>(cells: T[]): T[][] {
  const out: T[][] = []
  let word: T[] | null = null
  for (const c of cells) {
    if (!isWordChar(c.ch)) {
      word = null
      out.push([c])
    } else if (word && sameSuggestion(word[word.length - 1]!.sug, c.sug)) word.push(c)
    else out.push((word = [c]))
  }
  return out
}

/**
 * A word-level redline from character runs. Who is never decided by
 * alignment: every character the window inserted keeps the party of the row
 * that wrote it (so of the Yjs client id), every one it deleted the party of
 * the row that deleted it. Alignment only shapes the runs:
 *  - within a stretch where the log changed everything (between unchanged
 *    characters), a word diff of what went against what came shows text
 *    deleted and typed again identically as no change;
 *  - a word (never whitespace, never past it) with a changed character is
 *    shown whole, the old word struck and the new one written, so "30" →
 *    "35" reads as such and not as "3" kept, "0" struck, "5" written; only
 *    the characters the window left alone and the widening pulled in take a
 *    party, that of the latest change in the same word.
 */
export function wordSegs(runs: Run[]): Seg[]
export function wordSegs(runs: Run[], opts: { rows: true }): RowSeg[]
export function wordSegs(runs: Run[], opts: { rows?: boolean } = {}): RowSeg[] {
  const rows = opts.rows === true
  const cells: Cell[] = []
  let gone: Cell[] = []
  let came: Cell[] = []
  const flush = () => {
    cells.push(...realign(gone, came))
    gone = []
    came = []
  }
  for (const r of runs) {
    const sug = r.op === 'del' ? null : (r.suggestion ?? null)
    if (r.op === 'eq') {
      flush()
      pushUnchanged(cells, r.text, sug)
      continue
    }
    for (const ch of r.text) {
      if (r.op === 'del') gone.push({ ch, op: 'del', del: r, ins: null, sug: null })
      else came.push({ ch, op: 'ins', del: null, ins: r, sug })
    }
  }
  flush()
  const oldText = cells
    .filter((c) => c.op !== 'ins')
    .map((c) => c.ch)
    .join('')
  const newText = cells
    .filter((c) => c.op !== 'del')
    .map((c) => c.ch)
    .join('')

  const segs: RowSeg[] = []
  /** `by`: the run whose row made the change (ins, del); with `rows`, segments also part where that row changes */
  const emit = (op: Seg['op'], text: string, by: Run | null, sug: Suggestion | null) => {
    const party = op === 'eq' ? null : (by?.party ?? null)
    const seq = rows && op !== 'eq' ? (by?.seq ?? 0) : undefined
    const last = segs[segs.length - 1]
    if (last && last.op === op && (last.party ?? null) === party && last.seq === seq && sameSuggestion(last.suggestion, sug))
      last.text += text
    else {
      const seg: RowSeg = party === null ? { op, text } : { op, text, party }
      if (sug) seg.suggestion = sug
      if (seq !== undefined) seg.seq = seq
      segs.push(seg)
    }
  }
  if (oldText === newText) {
    // Nothing changed but what was deleted and typed again identically: the text as it stands, with its suggestions.
    for (const c of cells) if (c.op !== 'del') emit('eq', c.ch, null, c.sug)
    return segs
  }
  for (const word of tokens(cells)) {
    if (word.every((c) => c.op === 'eq')) {
      for (const c of word) emit('eq', c.ch, null, c.sug)
      continue
    }
    const deleted = latest(word.map((c) => (c.op === 'del' ? c.del : null)))
    const written = latest(word.map((c) => (c.op === 'ins' ? c.ins : null)))
    for (const c of word) if (c.op !== 'ins') emit('del', c.ch, c.del ?? deleted ?? written, null)
    for (const c of word) if (c.op !== 'del') emit('ins', c.ch, c.ins ?? written ?? deleted, c.sug)
  }
  return segs
}

/**
 * Text the window left alone, as cells: only the word at each end can be
 * widened into a change next to it, so the stretch between them — from the
 * first character that is not a word character to the last — is one cell,
 * a token of its own (a long term with one word changed costs that word,
 * not a cell per character of the term).
 */
function pushUnchanged(cells: Cell[], text: string, sug: Suggestion | null): void {
  const chars = [...text]
  const cell = (ch: string): Cell => ({ ch, op: 'eq', del: null, ins: null, sug })
  let first = 0
  while (first < chars.length && isWordChar(chars[first]!)) first++
  let last = chars.length - 1
  while (last >= first && isWordChar(chars[last]!)) last--
  if (last - first < 16) {
    for (const ch of chars) cells.push(cell(ch))
    return
  }
  for (let i = 0; i < first; i++) cells.push(cell(chars[i]!))
  cells.push(cell(chars.slice(first, last + 1).join('')))
  for (let i = last + 1; i < chars.length; i++) cells.push(cell(chars[i]!))
}

const latest = (marks: Array<Run | null>): Run | null =>
  marks.reduce<Run | null>((a, m) => (m && (!a || m.seq >= a.seq) ? m : a), null)

/**
 * One changed stretch (what the window deleted and wrote between two
 * unchanged characters), deletions first, with what was typed again
 * identically paired up as `eq` cells that keep both marks.
 */
function realign(gone: Cell[], came: Cell[]): Cell[] {
  if (gone.length === 0 || came.length === 0) return [...gone, ...came]
  const [a, b] = [tokens(gone), tokens(came)]
  const text = (t: Cell[]) => t.map((c) => c.ch).join('')
  const out: Cell[] = []
  let i = 0
  let j = 0
  for (const part of diffArrays(a.map(text), b.map(text))) {
    if (part.removed) for (const t of a.slice(i, (i += part.count))) out.push(...t)
    else if (part.added) for (const t of b.slice(j, (j += part.count))) out.push(...t)
    else {
      for (let k = 0; k < part.count; k++) {
        const [x, y] = [a[i++]!, b[j++]!]
        x.forEach((c, n) => out.push({ ch: c.ch, op: 'eq', del: c.del, ins: y[n]!.ins, sug: y[n]!.sug }))
      }
    }
  }
  return out
}
