/**
 * The gseq of rows written before the stores numbered their rows (schema
 * migration: SQLite 2, PostgreSQL 2). Until then a negotiation's history
 * interleaved its board and ledger logs by each row's `at` (the writing
 * instance's clock), and the version index stored where every version ended
 * in both logs. The numbering given here reproduces that interleaving
 * exactly wherever a stored version pins it, so an index folded again from
 * any stored version after the migration makes the same versions it made
 * before:
 *
 * - each stored version cuts the merged order: everything up to its board
 *   and ledger seqs came before the row that ended it (the ledger row of a
 *   move, the board row of an edit or restore), nothing after;
 * - between two cuts, and after the last, rows go by `at` (the largest `at`
 *   so far in their doc, so a clock that stepped back cannot reorder a doc),
 *   board before ledger at equal times, then seq — the rule the old merge
 *   applied to rows it had no reason to reorder;
 * - docs of no negotiation (caucus boards) keep their seq order.
 *
 * Across docs the order is by that same running `at`, so gseq grows with seq
 * in every doc.
 */
import { parseDocName } from '../../shared/docNames'

export interface DocRows {
  id: number
  name: string
  /** the doc's rows in seq order: their seqs (1, 2, 3… in a log without gaps) and their `at` */
  seqs: ArrayLike<number>
  ats: ArrayLike<number>
}

/** A stored version's kind and where it ended in both logs. */
export interface VersionCut {
  kind: string
  boardSeq: number
  ledgerSeq: number
}

/** Versions whose row is a ledger move (the others, edit and restore, end at a board row). */
const BOARD_ENDED = new Set(['edit', 'restore'])

/** A row: which doc of its group, and its index in that doc's rows. */
type Pos = { doc: number; i: number }

/**
 * The gseq of every row, numbered from 1: result.get(docId)[i] for the doc's
 * i-th row (DocRows.seqs[i]). `versions` holds each negotiation's versions in order.
 */
export function backfillOrder(docs: DocRows[], versions: Map<string, VersionCut[]>): Map<number, Float64Array> {
  const pairs = new Map<string, { board?: DocRows; ledger?: DocRows }>()
  const groups: Array<{ docs: DocRows[]; order: Pos[] }> = []
  for (const d of docs) {
    const ref = parseDocName(d.name)
    if (ref?.kind === 'board' || ref?.kind === 'ledger') {
      let p = pairs.get(ref.negotiationId)
      if (!p) pairs.set(ref.negotiationId, (p = {}))
      p[ref.kind] = d
    } else {
      groups.push({ docs: [d], order: Array.from({ length: d.ats.length }, (_, i) => ({ doc: 0, i })) })
    }
  }
  for (const [negotiationId, p] of pairs) {
    const empty: DocRows = { id: -1, name: '', seqs: [], ats: [] }
    const board = p.board ?? empty
    const ledger = p.ledger ?? empty
    groups.push({ docs: [board, ledger], order: mergeNegotiation(board, ledger, versions.get(negotiationId) ?? []) })
  }

  // Every row's key: the largest `at` so far along its group's order. Sorting by (key, group,
  // place in group) keeps each group's order and interleaves the groups by time.
  const entries: Array<{ key: number; group: number; place: number; doc: DocRows; i: number }> = []
  groups.forEach((g, group) => {
    let key = -Infinity
    g.order.forEach((pos, place) => {
      const doc = g.docs[pos.doc]!
      key = Math.max(key, doc.ats[pos.i]!)
      entries.push({ key, group, place, doc, i: pos.i })
    })
  })
  entries.sort((a, b) => a.key - b.key || a.group - b.group || a.place - b.place)
  const out = new Map<number, Float64Array>()
  for (const d of docs) out.set(d.id, new Float64Array(d.ats.length))
  entries.forEach((e, rank) => {
    out.get(e.doc.id)![e.i] = rank + 1
  })
  return out
}

/** The board and ledger rows of one negotiation in the order its history folded them (doc 0 board, 1 ledger). */
function mergeNegotiation(board: DocRows, ledger: DocRows, versions: VersionCut[]): Pos[] {
  const key = [runningMax(board.ats), runningMax(ledger.ats)]
  const order: Pos[] = []
  // how many rows of each doc are placed
  let b = 0
  let l = 0
  /** the first `toB` board rows and `toL` ledger rows, by time; the row `last` (if any) goes last */
  const segment = (toB: number, toL: number, last: 0 | 1 | null) => {
    const endB = last === 0 ? toB - 1 : toB
    const endL = last === 1 ? toL - 1 : toL
    while (b < endB || l < endL) {
      if (l >= endL || (b < endB && key[0]![b]! <= key[1]![l]!)) order.push({ doc: 0, i: b++ })
      else order.push({ doc: 1, i: l++ })
    }
    if (last === 0) order.push({ doc: 0, i: b++ })
    if (last === 1) order.push({ doc: 1, i: l++ })
  }
  for (const v of versions) {
    const toB = countUpTo(board.seqs, v.boardSeq)
    const toL = countUpTo(ledger.seqs, v.ledgerSeq)
    // A cut before the last one would be a broken index (verify reports it): it pins nothing.
    if (toB < b || toL < l) continue
    const movedB = toB > b
    const movedL = toL > l
    if (!movedB && !movedL) continue
    const last = movedB && movedL ? (BOARD_ENDED.has(v.kind) ? 0 : 1) : null
    segment(toB, toL, last)
  }
  segment(board.ats.length, ledger.ats.length, null)
  return order
}

/** How many of the ascending `seqs` are ≤ `seq`. */
function countUpTo(seqs: ArrayLike<number>, seq: number): number {
  let lo = 0
  let hi = seqs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (seqs[mid]! <= seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

function runningMax(ats: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ats.length)
  let max = -Infinity
  for (let i = 0; i < ats.length; i++) out[i] = max = Math.max(max, ats[i]!)
  return out
}
