/**
 * The read side of the materialised history (materialiser.ts): the sheet as
 * it stood at any position of the logs, and the redline between two, from
 * stored states and composed deltas — never a Y.Doc rebuilt per request.
 * What a read costs depends on the board's size and on the number of blocks
 * in a cover (a few per level), not on how long the history is.
 */
import type { AuthorRun, Seg, Sheet, TermDiff } from '../../shared/schemas'
import type { NegotiationRecord } from '../store/types'
import type { PlainThread } from '../../shared/comments'
import {
  deleteAll,
  redlineOf,
  textOf as runsText,
  type AttributedText,
  type BoardDelta,
  type BoardState,
  type LedgerState,
  type TermDelta,
  type TermState,
} from './delta'
import { markSuggestions, wordSegs, textOf as sideText, type Run, type RowSeg } from './redline'
import { alongPieces, sameSuggestion, type SuggestionPiece } from '../../shared/suggestions'

/** The board's terms in its order: ids in `order` first (once each), then the rest by id (docLayout.termsInOrder). */
export function termIdsInOrder(board: BoardState): string[] {
  const seen = new Set<string>()
  const ids: string[] = []
  for (const id of board.order) {
    if (Object.hasOwn(board.terms, id) && !seen.has(id)) {
      seen.add(id)
      ids.push(id)
    }
  }
  for (const id of Object.keys(board.terms).sort()) if (!seen.has(id)) ids.push(id)
  return ids
}

/** CONTRACT.md `Sheet` from materialised states (sheet.ts `sheetOf` reads the same from docs). */
export function sheetOfStates(
  record: NegotiationRecord,
  n: number,
  board: BoardState,
  ledger: LedgerState,
  threads: PlainThread[] = [],
): Sheet {
  const byId = <T>(o: Record<string, T>) => Object.keys(o).sort((a, b) => a.localeCompare(b))
  return {
    n,
    title: record.title,
    parties: record.parties,
    terms: termIdsInOrder(board).map((id) => {
      const t = board.terms[id]!
      const s = Object.hasOwn(ledger.status, id) ? ledger.status[id] : undefined
      return {
        id,
        title: runsText(t.title),
        body: runsText(t.body),
        state: s?.state ?? 'proposed',
        proposedBy: s?.proposedBy ?? null,
        acceptedBy: s?.acceptedBy ?? {},
        x: t.x,
        y: t.y,
      }
    }),
    notes: byId(board.notes).map((id) => {
      const note = board.notes[id]!
      return { id, text: runsText(note.text), x: note.x, y: note.y }
    }),
    links: byId(board.links).map((id) => ({ id, ...board.links[id]! })),
    threads,
  }
}

/**
 * Who wrote each character of a field, as the sheet reads it: the materialised runs, less the
 * characters of pending suggested insertions when the field holds suggestions (`pieces`, read from
 * the doc: the sheet's text leaves those out). Null when the two readings disagree on the text.
 */
export function authorRunsOf(runs: AttributedText | undefined, pieces?: readonly SuggestionPiece[]): AuthorRun[] | null {
  const out: AuthorRun[] = []
  const push = (text: string, party: string | null) => {
    if (!text) return
    const last = out[out.length - 1]
    if (last && last.party === party) last.text += text
    else out.push({ text, party })
  }
  if (!pieces) {
    for (const r of runs ?? []) push(r.t, r.p)
    return out
  }
  // The two readings must spell the same text; else nothing is said of who wrote it.
  if ((runs ?? []).map((r) => r.t).join('') !== pieces.map((p) => p.text).join('')) return null
  alongPieces(runs ?? [], (r) => r.t, pieces, (r, text, piece) => {
    if (piece?.suggestion?.kind !== 'ins') push(text, r.p)
  })
  return out
}

/** One field's character runs over the window: what it started as, cut (removed whole) or not, then the window's changes. */
function fieldRuns(base: AttributedText | undefined, d: TermDelta, field: 'title' | 'body'): Run[] {
  const start = base ?? []
  const pieces = d.cut
    ? [...redlineOf(start, deleteAll(start, d.cut.p, d.cut.s)), ...redlineOf([], d[field])]
    : redlineOf(start, d[field])
  return pieces.map((p) => ({ op: p.op, text: p.text, party: p.party, seq: p.seq }))
}

const eqSegs = (runs: AttributedText | undefined): Seg[] => {
  const t = runs ? runsText(runs) : ''
  return t ? [{ op: 'eq', text: t }] : []
}

/**
 * The suggestions of terms' titles and bodies at one end of a redline, read
 * from the doc there (the materialised runs carry no formats): only for the
 * terms whose state says they hold one (TermState `suggested`).
 */
export type TermMarks = ReadonlyMap<string, { title: SuggestionPiece[]; body: SuggestionPiece[] }>

/** Terms of a materialised board whose text holds suggestions (their marks are read from the doc). */
export const suggestedTerms = (board: BoardState): string[] =>
  Object.keys(board.terms).filter((id) => board.terms[id]!.suggested === true)

/** Do two readings of a field mark the same text the same way? */
function sameMarks(a: SuggestionPiece[] | undefined, b: SuggestionPiece[] | undefined): boolean {
  const plain = (p: SuggestionPiece[] | undefined) => !p || p.every((x) => !x.suggestion)
  if (plain(a) && plain(b)) return true
  if (!a || !b || a.length !== b.length) return false
  return a.every((x, i) => x.text === b[i]!.text && sameSuggestion(x.suggestion, b[i]!.suggestion))
}

/**
 * Term diffs between two positions: the board at the first (`from`), what
 * the window did (`delta`, the composition of its rows) and the board after
 * it (`to`), with the ledger at both ends. Terms in the board's order at the
 * end, then those removed in the window.
 */
export function diffStates(
  from: { board: BoardState; ledger: LedgerState; marks?: TermMarks },
  delta: BoardDelta | null,
  to: { board: BoardState; ledger: LedgerState; marks?: TermMarks },
  opts: DiffOptions = {},
): RowTermDiff[] {
  const present = termIdsInOrder(to.board)
  const gone = termIdsInOrder(from.board).filter((id) => !Object.hasOwn(to.board.terms, id))
  return [...present, ...gone].map((id) => termDiffOf(id, from, delta, to, opts))
}

export interface DiffOptions {
  /** segments carry the board row that made each change (RowSeg `seq`): for the Word export */
  rows?: boolean
}

/** A TermDiff whose segments may carry their row (DiffOptions `rows`); without it, exactly a TermDiff. */
export interface RowTermDiff extends TermDiff {
  title: RowSeg[]
  body: RowSeg[]
}

/**
 * Term diffs with suggestions: `to.marks` (the suggestions at `to`) mark the
 * text that is a pending suggestion there (Seg `suggestion`), and a window
 * that only formatted a term's text — suggested a removal, decided a
 * suggestion — is a change of it when the marks at its ends (`from.marks`)
 * differ.
 */
function termDiffOf(
  id: string,
  from: { board: BoardState; ledger: LedgerState; marks?: TermMarks },
  delta: BoardDelta | null,
  to: { board: BoardState; ledger: LedgerState; marks?: TermMarks },
  opts: DiffOptions,
): RowTermDiff {
  const before: TermState | undefined = Object.hasOwn(from.board.terms, id) ? from.board.terms[id] : undefined
  const after: TermState | undefined = Object.hasOwn(to.board.terms, id) ? to.board.terms[id] : undefined
  const stateAt = (present: boolean, ledger: LedgerState) =>
    (Object.hasOwn(ledger.status, id) ? ledger.status[id]!.state : null) ?? (present ? 'proposed' : null)
  const state = { from: stateAt(!!before, from.ledger), to: stateAt(!!after, to.ledger) }
  const d = delta?.terms && Object.hasOwn(delta.terms, id) ? delta.terms[id]! : undefined
  const marks = after ? to.marks?.get(id) : undefined
  // `d.suggested` is present when the window formatted the term (its value: whether formatting is left).
  if (!d || (!d.cut && !d.title && !d.body && d.suggested === undefined)) {
    // The window left its text alone (it may have moved).
    const t = after ?? before
    const segs = (field: 'title' | 'body') =>
      marks ? wordSegs(markSuggestions(eqRuns(t?.[field]), marks[field])) : eqSegs(t?.[field])
    return { id, change: 'unchanged', title: segs('title'), body: segs('body'), state }
  }
  const title = markSuggestions(fieldRuns(before?.title, d, 'title'), marks?.title ?? [])
  const body = markSuggestions(fieldRuns(before?.body, d, 'body'), marks?.body ?? [])
  const marksFrom = before && d.suggested !== undefined && !d.cut ? from.marks?.get(id) : undefined
  const textChanged =
    [title, body].some((runs) => sideText(runs, 'from') !== sideText(runs, 'to')) ||
    (d.suggested !== undefined && !(sameMarks(marksFrom?.title, marks?.title) && sameMarks(marksFrom?.body, marks?.body)))
  return {
    id,
    change: !before ? 'added' : !after ? 'removed' : textChanged ? 'modified' : 'unchanged',
    title: opts.rows ? wordSegs(title, { rows: true }) : wordSegs(title),
    body: opts.rows ? wordSegs(body, { rows: true }) : wordSegs(body),
    state,
  }
}

const eqRuns = (runs: AttributedText | undefined): Run[] => {
  const text = runs ? runsText(runs) : ''
  return text ? [{ op: 'eq', text, party: null, seq: 0 }] : []
}

/** A term's title and body in a materialised board (null: not on it). */
export const termTextOf = (board: BoardState, id: string): { title: string; body: string } | null => {
  const t = Object.hasOwn(board.terms, id) ? board.terms[id]! : null
  return t ? { title: runsText(t.title), body: runsText(t.body) } : null
}
