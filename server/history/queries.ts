/**
 * Read side of the history: the version list, the sheet as it stood right
 * after any version (board and ledger at that version's sequence numbers),
 * and redlines between two versions — read from the materialised history
 * (materialiser.ts, pastStates.ts), which the version index keeps stored.
 */
import * as Y from 'yjs'
import type { TermText } from '../../shared/negotiation'
import { boardDocName } from '../../shared/docNames'
import { board as boardOf } from '../../shared/docLayout'
import { fieldPieces, withoutSuggestions, type SuggestionPiece } from '../../shared/suggestions'
import type { Sheet, TermDiff, VersionDensityAnswer, VersionList } from '../../shared/schemas'
import type { NegotiationRecord, Store, VersionRecord } from '../store/types'
import { ParleyError, badRequest } from '../errors'
import { ErrorCode } from '../../shared/errors'
import { applyBoard, type BoardDelta, type BoardState, type LedgerState } from './delta'
import type { Position } from './fold'
import { buildExport, type ExportDoc, type ExportProgress } from './export'
import { sharedThreadsAt } from './threadsAt'
import { HistoryReader } from './materialiser'
import {
  authorRunsOf,
  diffStates,
  sheetOfStates,
  suggestedTerms,
  termTextOf,
  type RowTermDiff,
  type TermMarks,
} from './pastStates'
import { docAt } from './reconstruct'
import { toVersion, type VersionIndex } from './versionIndex'

const ORIGIN: Position = { boardSeq: 0, ledgerSeq: 0 }

export class HistoryQueries {
  /** reads stored blocks and snapshots, with a cache of recent ones (replay steps through neighbours) */
  private readonly reader: HistoryReader

  constructor(
    private readonly store: Store,
    readonly index: VersionIndex,
    private readonly negotiation: (id: string) => Promise<NegotiationRecord | null>,
  ) {
    this.reader = new HistoryReader(store)
  }

  /** The board as it stood right after its row `boardSeq` (plain, attributed: delta.ts). */
  async boardAt(negotiationId: string, boardSeq: number): Promise<BoardState> {
    await this.index.materialised(negotiationId, { boardSeq, ledgerSeq: 0 })
    return (await this.reader.state(negotiationId, 'board', boardSeq)) as BoardState
  }

  /** Board and ledger at a position of the logs. */
  private async statesAt(negotiationId: string, pos: Position): Promise<{ board: BoardState; ledger: LedgerState }> {
    await this.index.materialised(negotiationId, pos)
    const [board, ledger] = await Promise.all([
      this.reader.state(negotiationId, 'board', pos.boardSeq),
      this.reader.state(negotiationId, 'ledger', pos.ledgerSeq),
    ])
    return { board: board as BoardState, ledger: ledger as LedgerState }
  }

  /** A page of versions (CONTRACT.md: n > after, at most limit); `next` continues it, null at the end. */
  async versions(negotiationId: string, page: { after: number; limit: number }): Promise<VersionList> {
    // One more than asked: whether there is a next page is known without a count.
    const rows = await this.index.list(negotiationId, { after: page.after, limit: page.limit + 1 })
    const more = rows.length > page.limit
    const versions = (more ? rows.slice(0, page.limit) : rows).map(toVersion)
    return { versions, next: more ? versions[versions.length - 1]!.n : null }
  }

  /** Every version of the negotiation (exports, tools): the pages one after another. */
  async allVersions(negotiationId: string): Promise<VersionRecord[]> {
    return this.index.list(negotiationId)
  }

  /** The history's shape in `buckets` ranges of n, for a density strip. */
  async density(negotiationId: string, buckets: number): Promise<VersionDensityAnswer> {
    await this.index.current(negotiationId)
    const d = await this.store.versionDensity(negotiationId, buckets)
    const iso = (ms: number) => new Date(ms).toISOString()
    return {
      total: d.total,
      buckets: d.buckets.map((b) => ({
        ...b,
        fromAt: iso(b.fromAt),
        toAt: iso(b.toAt),
        byKind: b.byKind as VersionDensityAnswer['buckets'][number]['byKind'],
      })),
    }
  }

  /** Where version n ends in the logs (n = 0: before anything); null for an unknown n. */
  async position(negotiationId: string, n: number): Promise<(Position & { version: VersionRecord | null }) | null> {
    if (n === 0) return { ...ORIGIN, version: null }
    const v = await this.index.get(negotiationId, n)
    return v ? { boardSeq: v.boardSeq, ledgerSeq: v.ledgerSeq, version: v } : null
  }

  /** The sheet right after version n (n = 0: before the first version); null for an unknown n. */
  async sheetAt(negotiationId: string, n: number): Promise<Sheet | null> {
    const record = await this.negotiation(negotiationId)
    const pos = record && (await this.position(negotiationId, n))
    if (!record || !pos) return null
    const [{ board, ledger }, threads] = await Promise.all([
      this.statesAt(negotiationId, pos),
      sharedThreadsAt(this.store, negotiationId, pos.ledgerSeq),
    ])
    const sheet = sheetOfStates(record, n, board, ledger, threads)
    // Terms read as the live sheet reads them (sheet.ts): without their pending suggestions.
    const marks = await this.marksAt(negotiationId, pos.boardSeq, suggestedTerms(board))
    sheet.terms = sheet.terms.map((t) => {
      const m = marks.get(t.id)
      const state = board.terms[t.id]
      const title = authorRunsOf(state?.title, m?.title)
      const body = authorRunsOf(state?.body, m?.body)
      return {
        ...t,
        ...(m ? { title: withoutSuggestions(m.title), body: withoutSuggestions(m.body) } : {}),
        ...(title && body ? { authors: { title, body } } : {}),
      }
    })
    return sheet
  }

  /**
   * A term's title and body right after version n, without pending suggestions (what `term:restore`
   * writes back: a suggestion is not made text by restoring); null when the version or the term did not exist.
   */
  async termTextAt(negotiationId: string, n: number, termId: string): Promise<TermText | null> {
    const pos = await this.position(negotiationId, n)
    if (!pos) throw new ParleyError(ErrorCode.unknownVersion.name, `no version ${n}`)
    const board = await this.boardAt(negotiationId, pos.boardSeq)
    const text = termTextOf(board, termId)
    if (!text || !board.terms[termId]!.suggested) return text
    return (await this.plainTexts(negotiationId, pos.boardSeq, [termId])).get(termId) ?? text
  }

  /** The titles and bodies of these terms right after board row `boardSeq`, without pending suggestions. */
  private async plainTexts(negotiationId: string, boardSeq: number, termIds: string[]): Promise<Map<string, TermText>> {
    const marks = await this.marksAt(negotiationId, boardSeq, termIds)
    return new Map(
      [...marks].map(([id, m]) => [id, { title: withoutSuggestions(m.title), body: withoutSuggestions(m.body) }] as const),
    )
  }

  /** Word-level redline of every term between versions `from` and `to` (from ≤ to). */
  async diff(negotiationId: string, from: number, to: number): Promise<TermDiff[]> {
    const [a, b] = await this.window(negotiationId, from, to)
    return this.diffAt(negotiationId, a, b)
  }

  /**
   * `diff` for the Word export (server/word/): each changed segment with the board row that made it
   * (RowSeg `seq`), and the suggestions pending at `from` in every term that held one then (the
   * sheet at `from` leaves suggested insertions out, so a tracked change is told from them).
   */
  async redline(negotiationId: string, from: number, to: number): Promise<{ terms: RowTermDiff[]; marksFrom: TermMarks }> {
    const [a, b] = await this.window(negotiationId, from, to)
    const marksFrom: { marks?: TermMarks } = {}
    const terms = await this.diffAt(negotiationId, a, b, { rows: true, marksFrom })
    return { terms, marksFrom: marksFrom.marks ?? new Map() }
  }

  /** The positions of versions `from` and `to`: 400 when from > to, 404 for an unknown version. */
  private async window(negotiationId: string, from: number, to: number): Promise<[Position, Position]> {
    if (from > to) throw badRequest('`from` must not be a later version than `to`')
    const [a, b] = await Promise.all([this.position(negotiationId, from), this.position(negotiationId, to)])
    if (!a) throw new ParleyError(ErrorCode.unknownVersion.name, `no version ${from}`)
    if (!b) throw new ParleyError(ErrorCode.unknownVersion.name, `no version ${to}`)
    return [a, b]
  }

  /** The newest version's n (0: none yet), with whatever the log holds folded in. */
  async latest(negotiationId: string): Promise<number> {
    const stored = await this.store.lastVersion(negotiationId)
    const after = await this.index.list(negotiationId, { after: stored?.n ?? 0 })
    return after.at(-1)?.n ?? stored?.n ?? 0
  }

  /**
   * Term diffs between two positions of the logs (`a` not after `b`): what `diff` answers for two versions.
   * `rows`: segments carry their rows (RowSeg); `marksFrom`: set to the suggestions at `a` of every term
   * holding one there (not only those the window formatted).
   */
  async diffAt(
    negotiationId: string,
    a: Position,
    b: Position,
    opts: { rows?: boolean; marksFrom?: { marks?: TermMarks } } = {},
  ): Promise<RowTermDiff[]> {
    await this.index.materialised(negotiationId, {
      boardSeq: Math.max(a.boardSeq, b.boardSeq),
      ledgerSeq: Math.max(a.ledgerSeq, b.ledgerSeq),
    })
    const [start, delta, ledgerTo] = await Promise.all([
      this.statesAt(negotiationId, a),
      this.reader.delta(negotiationId, 'board', a.boardSeq, b.boardSeq),
      this.reader.state(negotiationId, 'ledger', b.ledgerSeq),
    ])
    const boardTo = delta ? applyBoard(start.board, delta as BoardDelta) : start.board
    // Suggestions are formats, which the materialised runs do not carry: the terms that hold one are
    // read from the doc — at `to`, and at `from` where the window formatted them (to tell a change).
    const windowFormatted = new Set(
      Object.entries((delta as BoardDelta | null)?.terms ?? {})
        .filter(([, d]) => d.suggested !== undefined)
        .map(([id]) => id),
    )
    const heldFrom = suggestedTerms(start.board)
    const sameDoc = a.boardSeq === b.boardSeq
    const [marksFrom, marksTo] = await Promise.all([
      sameDoc && opts.marksFrom
        ? null
        : this.marksAt(negotiationId, a.boardSeq, opts.marksFrom ? heldFrom : heldFrom.filter((id) => windowFormatted.has(id))),
      this.marksAt(negotiationId, b.boardSeq, suggestedTerms(boardTo)),
    ])
    if (opts.marksFrom) opts.marksFrom.marks = marksFrom ?? marksTo
    return diffStates(
      { ...start, marks: marksFrom ?? marksTo },
      delta as BoardDelta | null,
      { board: boardTo, ledger: ledgerTo as LedgerState, marks: marksTo },
      { rows: opts.rows },
    )
  }

  /**
   * The suggestions in these terms' titles and bodies right after board row `boardSeq`, read from
   * the doc rebuilt there (checkpoint + tail): paid only by redlines of terms that held suggestions.
   */
  private async marksAt(negotiationId: string, boardSeq: number, termIds: string[]): Promise<TermMarks> {
    const marks = new Map<string, { title: SuggestionPiece[]; body: SuggestionPiece[] }>()
    if (termIds.length === 0) return marks
    const doc = await docAt(this.store, boardDocName(negotiationId), boardSeq)
    try {
      const terms = boardOf(doc).terms
      for (const id of termIds) {
        const term = terms.get(id)
        if (term instanceof Y.Map) marks.set(id, { title: fieldPieces(term.get('title')), body: fieldPieces(term.get('body')) })
      }
    } finally {
      doc.destroy()
    }
    return marks
  }

  /**
   * The sheet, its history and the chain heads, for `…/export` and `npm run export`: as of version
   * `n` when given (the sheet then, the versions up to it), else the newest.
   */
  async exportDoc(
    negotiationId: string,
    opts: { now?: () => number; onProgress?: ExportProgress; n?: number } = {},
  ): Promise<ExportDoc | null> {
    const record = await this.negotiation(negotiationId)
    if (!record) return null
    const all = await this.index.list(negotiationId)
    const { n, ...rest } = opts
    const newest = all.at(-1)?.n ?? 0
    if (n !== undefined && (n < 1 || n > newest))
      throw new ParleyError(ErrorCode.unknownVersion.name, `no version ${n} (the newest is ${newest})`)
    const versions = n === undefined ? all : all.filter((v) => v.n <= n)
    return buildExport({ store: this.store, record, versions, ...rest })
  }
}
