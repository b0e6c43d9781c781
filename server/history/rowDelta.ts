/**
 * One log row as an attributed delta (delta.ts), the producer side of the
 * materialised history (DESIGN.md, "History"; issue 12).
 *
 * `RowDeltas` owns the history's copy of one doc (a board, caucus or ledger)
 * and applies the log's rows to it in order; each row comes back as what it
 * did, in plain terms, credited to the row's party and seq. It must cost per
 * keystroke what a keystroke is, not what the term or the history is: no
 * `toString()`, no `YTextEvent.delta` (both walk the whole text), no state
 * encoding. Everything is read in one `afterTransaction` handler, which Yjs
 * calls after integrating the row and calling observers but before it
 * garbage-collects deleted content or merges items (Transaction.js,
 * cleanupTransactions):
 *  - the row's inserted items are the clock ranges between the
 *    transaction's `beforeState` and `afterState`, its deleted ones the
 *    ranges of its `deleteSet`; each item's parent chain says which entry of
 *    which root (and which field) it belongs to;
 *  - a map entry's value before the row is the newest of its key's items the
 *    row did not insert, if it was alive then (or deleted by the row);
 *  - a text's delta needs each changed character's position before the row,
 *    which textIndex.ts finds from a few markers per text.
 * A row's work is therefore the size of the row (a term removed deletes all
 * its items, so that row walks them) plus a few steps per changed place.
 *
 * Values are read the way the readers of shared/docLayout.ts read them (a
 * number that is not finite is 0, a string where a text belongs is that
 * text, entries that are not maps are absent), so a store written before
 * the server checked layouts folds without a crash and shows what the
 * readers show. Keys that name a property of every object (`__proto__`,
 * `constructor`, …) are skipped: the state is plain objects.
 */
import * as Y from 'yjs'
import { board as boardOf, ledger as ledgerOf, statusFromMap } from '../../shared/docLayout'
import type { TermStatus } from '../../shared/negotiation'
import {
  composeBoard,
  composeLedger,
  DeltaBuilder,
  emptyBoard,
  emptyLedger,
  type AttributedText,
  type BoardDelta,
  type BoardState,
  type LedgerDelta,
  type LedgerState,
  type LinkState,
  type NoteDelta,
  type Party,
  type TermDelta,
  type TextDelta,
} from './delta'
import { isChars, TextIndexes, type RowView, type WalkStats } from './textIndex'

export type DocKind = 'board' | 'ledger'
export type RowDelta<K extends DocKind> = K extends 'board' ? BoardDelta : LedgerDelta

export interface RowDeltaStats extends WalkStats {
  /** rows applied */
  rows: number
  /** whole-text walks counting a text's formatting items: once per text a row formats (or whose term it flags) */
  formatWalks: number
}

export interface RowDeltasOptions {
  /** position markers kept per text (default 8) */
  markers?: number
}

// ── plain values, as the readers of docLayout.ts see them ─────────────────

/** Keys that would read or write a property of every object; such entries are left out of plain states. */
const plainKey = (k: string): boolean => !(k in Object.prototype)

const numberValue = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const colorValue = (v: unknown): string => (typeof v === 'string' ? v : '')

/** Alive characters of a text, in order (walks it: for texts a row created, labels, and reading whole states). */
function charsOf(text: Y.Text): string {
  let s = ''
  for (let n = text._start; n !== null; n = n.right) {
    if (!n.deleted && isChars(n)) s += (n.content as Y.ContentString).str
  }
  return s
}

/** What a reader shows for a text field holding `v` (docLayout.textOf). */
const textValue = (v: unknown): string => (v instanceof Y.Text ? charsOf(v) : typeof v === 'string' ? v : '')

function linkValue(v: unknown): LinkState | null {
  if (!(v instanceof Y.Map)) return null
  const from = v.get('from')
  const to = v.get('to')
  const label = v.get('label')
  if (typeof from !== 'string' || typeof to !== 'string') return null
  return { from, to, label: typeof label === 'string' ? label : label instanceof Y.Text ? charsOf(label) : '' }
}

const orderValue = (order: Y.Array<string>): string[] =>
  (order.toArray() as unknown[]).filter((id): id is string => typeof id === 'string')

const metaValue = (v: unknown): unknown => (v instanceof Y.AbstractType ? v.toJSON() : v)

/** A Yjs value of a map key as stored in an item (the last value of its content). */
const itemValue = (item: Y.Item): unknown => {
  const content = item.content.getContent()
  return content[content.length - 1]
}

// ── reading whole states (tests, and starting a materialisation from a doc) ──

/** Who wrote the characters of client id `client` (the server records each client id's party). */
export type PartyOf = (client: number) => Party

function runsOf(map: Y.Map<unknown>, key: string, partyOf: PartyOf, s: number): AttributedText {
  const v = map.get(key)
  const runs: AttributedText = []
  const push = (t: string, p: Party) => {
    const last = runs[runs.length - 1]
    if (last && last.p === p) last.t += t
    else runs.push({ t, p, s })
  }
  if (v instanceof Y.Text) {
    for (let n = v._start; n !== null; n = n.right) {
      if (!n.deleted && isChars(n) && n.length > 0) push((n.content as Y.ContentString).str, partyOf(n.id.client))
    }
  } else if (typeof v === 'string' && v.length > 0) {
    push(v, partyOf(map._map.get(key)!.id.client))
  }
  return runs
}

/**
 * Formatting items (suggestions: shared/suggestions.ts) alive in a text (walks it). Deleted ones do
 * not count: a doc that collects garbage (every doc the history reads, reconstruct.ts) turns them
 * into plain deleted content at the end of the row that deleted them, so whether a deleted one is
 * still there says nothing the readers can rely on — and they read only the alive ones.
 */
function liveFormats(text: Y.Text): number {
  let n = 0
  for (let item = text._start; item !== null; item = item.right) {
    if (!item.deleted && item.content instanceof Y.ContentFormat) n++
  }
  return n
}

/** Does a title or body hold formatting now? (A value that is no text holds none.) */
const holdsFormats = (v: unknown): boolean => v instanceof Y.Text && liveFormats(v) > 0

/** A board (or caucus) doc as plain attributed data; every run gets seq `s`. */
export function boardStateOf(doc: Y.Doc, partyOf: PartyOf, s = 0): BoardState {
  const b = boardOf(doc)
  const state = emptyBoard()
  b.terms.forEach((m, id) => {
    if (!(m instanceof Y.Map) || !plainKey(id)) return
    state.terms[id] = {
      title: runsOf(m, 'title', partyOf, s),
      body: runsOf(m, 'body', partyOf, s),
      x: numberValue(m.get('x')),
      y: numberValue(m.get('y')),
      ...(holdsFormats(m.get('title')) || holdsFormats(m.get('body')) ? { suggested: true as const } : {}),
    }
  })
  state.order = orderValue(b.order)
  b.notes.forEach((m, id) => {
    if (!(m instanceof Y.Map) || !plainKey(id)) return
    state.notes[id] = {
      text: runsOf(m, 'text', partyOf, s),
      x: numberValue(m.get('x')),
      y: numberValue(m.get('y')),
      color: colorValue(m.get('color')),
    }
  })
  b.links.forEach((m, id) => {
    const link = linkValue(m)
    if (link && plainKey(id)) state.links[id] = link
  })
  return state
}

/** A ledger doc as plain data. */
export function ledgerStateOf(doc: Y.Doc): LedgerState {
  const l = ledgerOf(doc)
  const state = emptyLedger()
  l.status.forEach((m, id) => {
    if (m instanceof Y.Map && plainKey(id)) state.status[id] = statusFromMap(m)
  })
  l.meta.forEach((v, k) => {
    if (v !== null && v !== undefined && plainKey(k)) state.meta[k] = metaValue(v)
  })
  return state
}

// ── one row ─────────────────────────────────────────────────────────────

interface RowAuthor {
  party: Party
  seq: number
}

/** The characters one row changed in one text. */
interface TextChanges {
  /** inserted and still alive, or alive before and deleted */
  changed: Y.Item[]
  /** characters alive before the row that it deleted (all of them, when the text itself was removed) */
  deleted: number
}

/** One transaction as RowView: what it inserted (clocks past its before-state) and deleted (its delete set). */
class TransactionView implements RowView {
  constructor(private readonly tr: Y.Transaction) {}

  inserted(item: Y.Item): boolean {
    return item.id.clock >= (this.tr.beforeState.get(item.id.client) ?? 0)
  }

  deletedNow(item: Y.Item): boolean {
    return item.deleted && Y.isDeleted(this.tr.deleteSet, item.id)
  }
}

/**
 * What a row touched: per root, the entries (keys) and, for entries that
 * are maps, the keys changed in them; per text, its changed characters.
 */
class Touched {
  readonly entries = new Map<Y.AbstractType<any>, Map<string, Set<string>>>()
  readonly roots = new Set<Y.AbstractType<any>>()
  readonly texts = new Map<Y.Text, TextChanges>()
  /** texts the row put formatting items into, or took them out of (suggestions: shared/suggestions.ts) */
  readonly formatted = new Set<Y.Text>()
  /** per formatted text, alive formatting items after the row less those before it */
  readonly formatChange = new Map<Y.Text, number>()

  constructor(
    tr: Y.Transaction,
    private readonly row: RowView,
  ) {
    const store = tr.doc.store
    // Inserted: each client's clocks from the before-state to the after-state.
    for (const [client, after] of tr.afterState) {
      const before = tr.beforeState.get(client) ?? 0
      const structs = after > before ? store.clients.get(client) : undefined
      if (!structs) continue
      for (let i = Y.findIndexSS(structs, before); i < structs.length && structs[i]!.id.clock < after; i++) {
        this.visit(structs[i]!, false)
      }
    }
    // Deleted: the delete set, sorted and merged by the time afterTransaction runs.
    for (const [client, ranges] of tr.deleteSet.clients) {
      const structs = store.clients.get(client)
      if (!structs) continue
      const state = Y.getState(store, client)
      for (const r of ranges) {
        if (r.clock >= state) break
        for (let i = Y.findIndexSS(structs, r.clock); i < structs.length && structs[i]!.id.clock < r.clock + r.len; i++) {
          this.visit(structs[i]!, true)
        }
      }
    }
  }

  entry(root: Y.AbstractType<any>, key: string): Set<string> {
    let keys = this.entries.get(root)
    if (!keys) this.entries.set(root, (keys = new Map()))
    let fields = keys.get(key)
    if (!fields) keys.set(key, (fields = new Set()))
    return fields
  }

  private text(t: Y.Text): TextChanges {
    let c = this.texts.get(t)
    if (!c) this.texts.set(t, (c = { changed: [], deleted: 0 }))
    return c
  }

  private visit(s: Y.Item | Y.GC, deletedPass: boolean): void {
    if (!(s instanceof Y.Item)) return
    const parent = s.parent
    if (!(parent instanceof Y.AbstractType)) return
    // An item the row inserted is seen in the inserted pass (an insert deleted again is nothing).
    if (deletedPass && this.row.inserted(s)) return
    if (parent instanceof Y.Text && s.parentSub === null && isChars(s)) {
      if (deletedPass) {
        const c = this.text(parent)
        c.changed.push(s)
        c.deleted += s.length
      } else if (!s.deleted) this.text(parent).changed.push(s)
    } else if (parent instanceof Y.Text && s.content instanceof Y.ContentFormat) {
      this.formatted.add(parent)
      // The delete set holds only items alive before the row; an insert the row deleted again is neither.
      const change = deletedPass ? -1 : s.deleted ? 0 : 1
      this.formatChange.set(parent, (this.formatChange.get(parent) ?? 0) + change)
    }
    let top: Y.Item = s
    let below: Y.Item | null = null
    for (;;) {
      const p = top.parent
      if (!(p instanceof Y.AbstractType)) return
      if (p._item === null) break
      below = top
      top = p._item
    }
    const root = top.parent as Y.AbstractType<any>
    this.roots.add(root)
    if (top.parentSub === null) return
    const fields = this.entry(root, top.parentSub)
    // A key of the entry's own map changed (a value set, a text replaced): not a change inside a text.
    if (below === s && s.parentSub !== null) fields.add(s.parentSub)
  }
}

/** The item holding `key` of a map type before the row: the newest of the key's items the row did not insert. */
function itemBefore(map: Y.AbstractType<any>, key: string, row: RowView): Y.Item | null {
  let item = map._map.get(key) ?? null
  while (item !== null && row.inserted(item)) item = item.left
  return item === null || (item.deleted && !row.deletedNow(item)) ? null : item
}

/** The item holding `key` now. */
function itemNow(map: Y.AbstractType<any>, key: string): Y.Item | null {
  const item = map._map.get(key)
  return item !== undefined && !item.deleted ? item : null
}

const valueBefore = (map: Y.AbstractType<any>, key: string, row: RowView): unknown => {
  const item = itemBefore(map, key, row)
  return item ? itemValue(item) : undefined
}

const valueNow = (map: Y.AbstractType<any>, key: string): unknown => {
  const item = itemNow(map, key)
  return item ? itemValue(item) : undefined
}

const TERM_TEXTS = ['title', 'body'] as const
const NOTE_TEXTS = ['text'] as const

/**
 * Alive formatting items per title or body, kept from each row's own formatting items (the
 * transaction's, see Touched) so that telling whether a term still holds suggestions after a row
 * costs what the row did, not the text. A text is counted by one walk the first time it is asked
 * about (texts already in the doc when the history started, texts a row created).
 */
class FormatCounts {
  private counts = new WeakMap<Y.Text, number>()
  walks = 0

  /** Takes in one transaction's formatting changes (for the texts counted already). */
  add(touched: Touched): void {
    for (const [text, change] of touched.formatChange) {
      const n = this.counts.get(text)
      if (n !== undefined) this.counts.set(text, n + change)
    }
  }

  holds(v: unknown): boolean {
    if (!(v instanceof Y.Text)) return false
    let n = this.counts.get(v)
    if (n === undefined) {
      n = liveFormats(v)
      this.counts.set(v, n)
      this.walks++
    }
    return n > 0
  }

  /** Forgets every count (the doc changed in a way no row showed). */
  reset(): void {
    this.counts = new WeakMap()
  }
}

/**
 * Applies a doc's log rows one by one and returns what each did, as an
 * attributed delta (see the top of this file). The doc must change only
 * through `apply`: a change made otherwise is in no delta (the materialised
 * history would miss it), though the text indexes notice it and start over,
 * so later deltas stay right.
 */
export class RowDeltas<K extends DocKind = DocKind> {
  private readonly indexes: TextIndexes
  private readonly formats = new FormatCounts()
  private rows = 0
  /** the row being applied, with what its transactions did so far */
  private row: (RowAuthor & { delta: BoardDelta | LedgerDelta | null; error: unknown }) | null = null
  private readonly roots: ReturnType<typeof boardOf> | ReturnType<typeof ledgerOf>
  private readonly onTransaction = (tr: Y.Transaction) => this.transaction(tr)

  constructor(
    readonly doc: Y.Doc,
    readonly kind: K,
    options: RowDeltasOptions = {},
  ) {
    this.indexes = new TextIndexes(options.markers)
    // Define the roots with their types before any row names them.
    this.roots = kind === 'board' ? boardOf(doc) : ledgerOf(doc)
    doc.on('afterTransaction', this.onTransaction)
  }

  /**
   * Applies one row's update and returns what it did, every insert and
   * delete credited to (`party`, `seq`). An update Yjs cannot read changes
   * what it changed before failing, and that is what is returned.
   */
  apply(update: Uint8Array, party: Party, seq: number): RowDelta<K> {
    const row = { party, seq, delta: null as BoardDelta | LedgerDelta | null, error: undefined as unknown }
    this.row = row
    try {
      Y.applyUpdate(this.doc, update, this)
    } catch {
      // An unreadable row: the rooms skip it the same way (fold.ts); what it did change is in `row.delta`.
    } finally {
      this.row = null
    }
    this.rows++
    if (row.error !== undefined) throw row.error
    return (row.delta ?? {}) as RowDelta<K>
  }

  stats(): RowDeltaStats {
    return { rows: this.rows, ...this.indexes.stats, formatWalks: this.formats.walks }
  }

  /** For tests: the text index of a text, if it has one. */
  textIndex(text: Y.Text) {
    return this.indexes.indexOf(text)
  }

  destroy(): void {
    this.doc.off('afterTransaction', this.onTransaction)
  }

  private transaction(tr: Y.Transaction): void {
    const row = this.row
    if (!row) {
      // Changed outside `apply`: positions the indexes hold may be off, and so may the format counts.
      this.indexes.reset()
      this.formats.reset()
      return
    }
    if (row.error !== undefined) return
    try {
      const view = new TransactionView(tr)
      const touched = new Touched(tr, view)
      this.formats.add(touched)
      if (this.kind === 'board') {
        const d = this.boardDelta(touched, view, row)
        row.delta = row.delta ? composeBoard(row.delta as BoardDelta, d) : d
      } else {
        const d = this.ledgerDelta(touched)
        row.delta = row.delta ? composeLedger(row.delta as LedgerDelta, d) : d
      }
    } catch (e) {
      // A fault here must not pass unnoticed (the history would be wrong), nor leave half-moved markers.
      row.error = e
      this.indexes.reset()
      this.formats.reset()
    }
  }

  // ── board ───────────────────────────────────────────────────────────────

  private boardDelta(touched: Touched, row: RowView, a: RowAuthor): BoardDelta {
    const b = this.roots as ReturnType<typeof boardOf>
    const out: BoardDelta = {}
    const terms: Record<string, TermDelta> = {}
    for (const [id, fields] of touched.entries.get(b.terms) ?? []) {
      if (!plainKey(id)) continue
      const d = this.entryDelta(b.terms, id, fields, touched, row, a, TERM_TEXTS, ['x', 'y'])
      if (d) terms[id] = d
    }
    if (Object.keys(terms).length > 0) out.terms = terms
    const notes: Record<string, NoteDelta> = {}
    for (const [id, fields] of touched.entries.get(b.notes) ?? []) {
      if (!plainKey(id)) continue
      const d = this.entryDelta(b.notes, id, fields, touched, row, a, NOTE_TEXTS, ['x', 'y', 'color'])
      if (d) notes[id] = d
    }
    if (Object.keys(notes).length > 0) out.notes = notes
    const links: Record<string, LinkState | null> = {}
    let anyLink = false
    for (const id of touched.entries.get(b.links)?.keys() ?? []) {
      if (!plainKey(id)) continue
      links[id] = linkValue(valueNow(b.links, id))
      anyLink = true
    }
    if (anyLink) out.links = links
    if (touched.roots.has(b.order)) out.order = orderValue(b.order)
    return out
  }

  /**
   * One term's or note's delta: removed, created or replaced as a whole
   * (its map is another one than before), or its fields changed in place.
   */
  private entryDelta(
    root: Y.Map<Y.Map<unknown>>,
    id: string,
    fields: Set<string>,
    touched: Touched,
    row: RowView,
    a: RowAuthor,
    texts: readonly string[],
    values: readonly string[],
  ): (TermDelta & NoteDelta) | null {
    const before = valueBefore(root, id, row)
    const now = valueNow(root, id)
    const was = before instanceof Y.Map ? before : null
    const is = now instanceof Y.Map ? now : null
    const d: Record<string, unknown> = {}
    // Runs carry no formats. When the row put formatting into a term's title or body, took it out,
    // or replaced a text that held some, the delta says whether the term holds formatting now
    // (`suggested`): a term that does is read from the doc when its suggestions are wanted.
    if (is && root === (this.roots as ReturnType<typeof boardOf>).terms) {
      const formatted = (v: unknown) => v instanceof Y.Text && touched.formatted.has(v)
      const reread = texts.some((k) => formatted(is.get(k)) || (fields.has(k) && formatted(valueBefore(is, k, row))))
      if (reread) d.suggested = texts.some((k) => this.formats.holds(is.get(k)))
    }
    if (was !== is) {
      if (was) d.cut = { p: a.party, s: a.seq }
      if (!is) {
        if (!was) return null
        d.present = false
        return d
      }
      d.present = true
      for (const k of texts) {
        const v = is.get(k)
        const text = textValue(v)
        if (text) d[k] = [{ i: text, p: a.party, s: a.seq }]
        if (v instanceof Y.Text) this.indexes.created(v, text.length)
      }
      for (const k of values) d[k] = k === 'color' ? colorValue(is.get(k)) : numberValue(is.get(k))
      return d
    }
    if (!is) return null
    for (const k of texts) {
      const v = is.get(k)
      // Items, not values, are compared: a string set again to the same string was still written anew, by this row.
      const oldItem = fields.has(k) ? itemBefore(is, k, row) : null
      if (fields.has(k) && oldItem !== itemNow(is, k)) {
        // The field holds another value: all of the old text goes, all of the new comes.
        const old = oldItem ? itemValue(oldItem) : undefined
        const oldLength =
          old instanceof Y.Text ? (touched.texts.get(old)?.deleted ?? 0) : typeof old === 'string' ? old.length : 0
        const text = textValue(v)
        const delta = new DeltaBuilder().delete(oldLength, a.party, a.seq).insert(text, a.party, a.seq).done()
        if (delta.length > 0) d[k] = delta
        if (v instanceof Y.Text) this.indexes.created(v, text.length)
        continue
      }
      if (v instanceof Y.Text) {
        const changes = touched.texts.get(v)
        if (changes && changes.changed.length > 0) {
          const delta: TextDelta = this.indexes.delta(v, changes.changed, row, a.party, a.seq)
          if (delta.length > 0) d[k] = delta
        }
      }
    }
    for (const k of values) {
      if (!fields.has(k)) continue
      const read = k === 'color' ? colorValue : numberValue
      const v = read(is.get(k))
      if (v !== read(valueBefore(is, k, row))) d[k] = v
    }
    return Object.keys(d).length > 0 ? d : null
  }

  // ── ledger ──────────────────────────────────────────────────────────────

  private ledgerDelta(touched: Touched): LedgerDelta {
    const l = this.roots as ReturnType<typeof ledgerOf>
    const out: LedgerDelta = {}
    const status: Record<string, TermStatus | null> = {}
    let anyStatus = false
    for (const id of touched.entries.get(l.status)?.keys() ?? []) {
      if (!plainKey(id)) continue
      const m = valueNow(l.status, id)
      status[id] = m instanceof Y.Map ? statusFromMap(m) : null
      anyStatus = true
    }
    if (anyStatus) out.status = status
    const meta: Record<string, unknown> = {}
    let anyMeta = false
    for (const k of touched.entries.get(l.meta)?.keys() ?? []) {
      if (!plainKey(k)) continue
      const v = valueNow(l.meta, k)
      meta[k] = v === undefined ? null : metaValue(v)
      anyMeta = true
    }
    if (anyMeta) out.meta = meta
    return out
  }
}
