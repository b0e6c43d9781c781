/**
 * The version index as a fold over the log. A negotiation's versions are a
 * pure function of its board and ledger rows: the fold keeps its own copy of
 * both docs at the position it has reached, applies each row to them, and
 * turns what the row did into versions (CONTRACT.md `Version`):
 *
 * - a board row extends the open `edit` version or starts one (grouping.ts);
 *   a row that only creates terms waits for their `propose`; a board row with
 *   restore meta is a `restore` version;
 * - a ledger row with move meta is a version of its own (`agree` also records
 *   the acceptance that completed it); rows without meta make none — the
 *   opening `meta` write, and the `authors` names (negotiation/authorsWriter.ts),
 *   which neither end an edit run nor touch a term.
 *
 * The live index and a catch-up after a crash run this same code over the
 * same rows in the same order (`nextRow`: the store's gseq), so numbering
 * never depends on whether the server was up when an update was committed,
 * nor on the clocks of the instances that committed them.
 */
import * as Y from 'yjs'
import { board as boardOf, readStatus, textOf } from '../../shared/docLayout'
import type { TermText } from '../../shared/negotiation'
import { fieldPieces, withSuggestionsAccepted, withoutSuggestions } from '../../shared/suggestions'
import type { VersionKind } from '../../shared/schemas'
import { GENESIS_HASH, versionRowHash } from '../store/chain'
import type { VersionRecord } from '../store/types'
import { extendsVersion, mergeTermIds } from './grouping'
import { aliveBefore, textViewsBefore, valueBefore } from '../yjs/termBefore'
import { forEachTermChange } from '../yjs/termChanges'
import { moveMeta, type LogRow } from './logRows'
import type { CommentAction } from '../../shared/moveMeta'
import { summarize } from './summary'

export interface Position {
  boardSeq: number
  ledgerSeq: number
}

/**
 * A term's text as an edit summary quotes it: `title`/`body` without pending
 * suggestions (the term's text, docLayout.textOf), and — when it holds
 * suggestions — `proposed`, the text with every one accepted, so that a run
 * that only suggested reads "suggested a change to …" (summary.ts).
 */
export type RunText = TermText & { proposed?: TermText }

/** A term's RunText as it stands in a doc. */
export function runTextOf(term: Y.Map<unknown>): RunText {
  const [title, body] = [fieldPieces(term.get('title')), fieldPieces(term.get('body'))]
  const text = { title: withoutSuggestions(title), body: withoutSuggestions(body) }
  const proposed = { title: withSuggestionsAccepted(title), body: withSuggestionsAccepted(body) }
  return proposed.title === text.title && proposed.body === text.body ? text : { ...text, proposed }
}

/** A term's RunText as it was before `txn` (read from inside its observers: see yjs/termBefore.ts). */
function runTextBefore(term: Y.Map<unknown>, txn: Y.Transaction): RunText {
  const title = textViewsBefore(valueBefore(term, 'title', txn), txn)
  const body = textViewsBefore(valueBefore(term, 'body', txn), txn)
  const text = { title: title.plain, body: body.plain }
  return title.proposed === title.plain && body.proposed === body.plain
    ? text
    : { ...text, proposed: { title: title.proposed, body: body.proposed } }
}

export interface FoldInit {
  negotiationId: string
  partyName(id: string | null): string | null
  /** both docs as they stood at `pos` (the fold takes them over) */
  board: Y.Doc
  ledger: Y.Doc
  pos: Position
  /** the newest version so far */
  last: VersionRecord | null
  /** for an open edit run: each of its terms' text when the run began */
  runBefore?: Map<string, RunText>
}

/** Texts longer than this (characters; Y.Text.length costs nothing) are not quoted in summaries. */
export const LONG_TEXT = 20_000
const isLong = (text: unknown): boolean => text instanceof Y.Text && text.length > LONG_TEXT

export type FoldEvent = { type: 'created'; version: VersionRecord } | { type: 'grown'; version: VersionRecord }

interface Touches {
  added: Set<string>
  removed: Set<string>
  text: Set<string>
  layout: Set<string>
  /** notes or links changed */
  other: boolean
  /** the text before the row of each touched term the open run had not touched yet (read from the row's items) */
  before: Map<string, RunText>
}

const noTouches = (): Touches => ({
  added: new Set(),
  removed: new Set(),
  text: new Set(),
  layout: new Set(),
  other: false,
  before: new Map(),
})

export class HistoryFold {
  readonly negotiationId: string
  readonly board: Y.Doc
  readonly ledger: Y.Doc
  readonly pos: Position
  last: VersionRecord | null
  /** the last text of terms removed from the board (for titles); live terms are read when a version needs them */
  private removedTexts = new Map<string, RunText>()
  /** the row being applied starts a new run: every term it touches needs its text from before the row */
  private startsRun = true
  private runBefore: Map<string, RunText>
  /** the open edit run grew since its summary and hash were computed */
  private stale = false
  private touches: Touches = noTouches()
  private readonly partyName: FoldInit['partyName']

  constructor(init: FoldInit) {
    this.negotiationId = init.negotiationId
    this.board = init.board
    this.ledger = init.ledger
    this.pos = { ...init.pos }
    this.last = init.last ? { ...init.last, termIds: [...init.last.termIds] } : null
    this.runBefore = init.runBefore ?? new Map()
    this.partyName = init.partyName
    const b = boardOf(this.board)
    b.terms.observeDeep((events, txn) => this.collect(events, b.terms, txn))
    b.notes.observeDeep(() => (this.touches.other = true))
    b.links.observeDeep(() => (this.touches.other = true))
  }

  destroy(): void {
    this.board.destroy()
    this.ledger.destroy()
  }

  apply(row: LogRow): FoldEvent[] {
    return row.doc === 'board' ? this.applyBoard(row) : this.applyLedger(row)
  }

  // ── board rows ──────────────────────────────────────────────────────────

  private applyBoard(row: LogRow): FoldEvent[] {
    const meta = moveMeta(row.meta)
    // A row that cannot grow the open run ends it: seal it while the board still shows how it ended.
    const ev = { kind: 'edit' as const, at: row.at, party: row.author.party, user: row.author.user, termIds: [] }
    const extendsRun = !!this.last && extendsVersion(this.last, ev)
    const ownVersion =
      meta?.kind === 'restore' || meta?.kind === 'suggestion-accept' || meta?.kind === 'suggestion-reject' || meta?.kind === 'choose'
    if (this.last && this.stale && (ownVersion || !extendsRun)) this.seal(this.last)
    this.startsRun = !extendsRun
    this.touches = noTouches()
    try {
      Y.applyUpdate(this.board, row.update)
    } catch {
      // An unreadable row changes nothing for readers either (rooms skip it the same way).
    }
    this.pos.boardSeq = row.seq
    const t = this.touches
    this.touches = noTouches()

    const onBoard = (id: string) => boardOf(this.board).terms.get(id) instanceof Y.Map
    // Creations wait for their `propose`; a removal by the proposer for its `withdraw`.
    const awaitingPropose = new Set([...t.added].filter((id) => !readStatus(this.ledger, id) && onBoard(id)))
    const withdrawn = new Set(
      [...t.removed].filter((id) => {
        if (onBoard(id)) return false
        const s = readStatus(this.ledger, id)
        return !!s && s.state !== 'agreed' && s.state !== 'withdrawn' && !!row.author.party && s.proposedBy === row.author.party
      }),
    )
    const changed = mergeTermIds([], [...t.text, ...t.layout, ...t.removed, ...t.added]).filter(
      (id) => !awaitingPropose.has(id) && !withdrawn.has(id),
    )
    const before = new Map<string, RunText>()
    for (const id of changed) {
      const prev = t.before.get(id)
      if (prev && !t.added.has(id)) before.set(id, prev)
    }
    for (const id of t.removed) {
      const last = t.before.get(id)
      if (last && !onBoard(id)) this.removedTexts.set(id, last)
    }

    // The row took away a term the open run edited (its proposer withdrawing it by removal): the run is
    // sealed with the term as the row found it, as a seal before the row — the live index sealing between
    // steps — would have it, so a rebuild folding both rows at once writes the same summary and hash.
    if (this.last && this.stale && extendsRun && this.last.termIds.some((id) => t.removed.has(id))) this.seal(this.last, t.before)

    if (meta?.kind === 'restore') {
      return [
        this.create('restore', row, meta.party, meta.user, meta.termIds.length ? meta.termIds : changed, {
          restoredFrom: meta.restoredFrom,
        }),
      ]
    }
    // A suggestion decided (accepted or rejected) or a bracket option chosen by a command: a version of its own,
    // of the deciding party.
    if (meta?.kind === 'suggestion-accept' || meta?.kind === 'suggestion-reject' || meta?.kind === 'choose') {
      return [
        this.create(meta.kind, row, meta.party, meta.user, meta.termIds.length ? meta.termIds : changed, { chose: meta.chose }),
      ]
    }
    if (changed.length === 0 && !t.other) return []
    // Card moves are versions of their own (`layoutOnly`), which the lists hide unless asked: a drag
    // never joins or splits a run of text edits.
    const movesOnly = t.layout.size > 0 && t.text.size === 0 && t.added.size === 0 && t.removed.size === 0 && !t.other

    if (this.last && extendsRun && (this.last.layoutOnly === true) === movesOnly) {
      const v = this.last
      for (const [id, text] of before) if (!this.runBefore.has(id)) this.runBefore.set(id, text)
      v.termIds = mergeTermIds(v.termIds, changed)
      v.lastAt = row.at
      v.boardSeq = this.pos.boardSeq
      v.ledgerSeq = this.pos.ledgerSeq
      // Summary and hash are computed when the version is sealed (written), not on every keystroke.
      this.stale = true
      return [{ type: 'grown', version: v }]
    }
    // This row was applied before it was known not to grow the run (a move after text, or text after
    // moves): the run is sealed with its terms' titles as they stood before the row, as a seal before
    // it — and a rebuild folding both rows in one step — would have them.
    if (this.last && this.stale) this.seal(this.last, t.before)
    // A run of moves quotes no text: it needs none from before.
    this.runBefore = movesOnly ? new Map() : before
    return [this.create('edit', row, row.author.party, row.author.user, changed, movesOnly ? { layoutOnly: true } : {})]
  }

  private collect(events: Array<Y.YEvent<any>>, terms: Y.Map<any>, txn: Y.Transaction): void {
    const t = this.touches
    /** The term's text before this row, read once per run and term (never per keystroke: see yjs/termBefore.ts). */
    const before = (termId: string, map: unknown) => {
      const known = !this.startsRun && !this.last?.layoutOnly && this.runBefore.has(termId) && !t.removed.has(termId)
      if (t.before.has(termId) || known) return
      // A long text is not quoted in a summary (see editSummary): reading it would cost its length per run.
      if (map instanceof Y.Map && isLong(map.get('body')) && !t.removed.has(termId)) return
      if (map instanceof Y.Map && map._item && aliveBefore(txn, map._item)) {
        t.before.set(termId, runTextBefore(map, txn))
      }
    }
    forEachTermChange(events, terms, (termId, change, old) => {
      if (change === 'added') t.added.add(termId)
      else if (change === 'removed') t.removed.add(termId)
      else if (change === 'layout') t.layout.add(termId)
      else t.text.add(termId)
      if (change === 'removed' || change === 'replaced') before(termId, old)
      else if (change !== 'added') before(termId, terms.get(termId))
    })
  }

  // ── ledger rows ─────────────────────────────────────────────────────────

  private applyLedger(row: LogRow): FoldEvent[] {
    try {
      Y.applyUpdate(this.ledger, row.update)
    } catch {
      // as for the board
    }
    this.pos.ledgerSeq = row.seq
    const m = moveMeta(row.meta)
    if (!m || m.kind === 'restore') return []
    if (m.kind === 'agree') {
      // The acceptance (or confirmation) that completed the agreement is a version, and so is the agreement.
      return [
        this.create(m.confirmed ? 'confirm' : 'accept', row, m.party, m.user, m.termIds),
        this.create('agree', row, m.party, m.user, m.termIds),
      ]
    }
    return [
      this.create(m.kind, row, m.party, m.user, m.termIds, {
        name: m.name,
        reason: m.reason,
        byEdit: m.kind === 'reopen' && m.via === 'board',
        commentAction: m.comment?.action,
        adReferendum: m.adReferendum,
        packageHash: m.packageHash,
      }),
    ]
  }

  // ── versions ────────────────────────────────────────────────────────────

  /** Brings a grown edit version's summary and hash up to date (before it is written or followed). */
  seal(v: VersionRecord, beforeRow?: ReadonlyMap<string, RunText>): VersionRecord {
    if (v === this.last && this.stale) {
      this.stale = false
      v.summary = this.editSummary(v, beforeRow)
      v.hash = versionRowHash(v.prevHash, v)
    }
    return v
  }

  private create(
    kind: VersionKind,
    row: LogRow,
    party: string | null,
    user: string,
    termIds: string[],
    extra: {
      name?: string
      reason?: string
      restoredFrom?: number
      byEdit?: boolean
      layoutOnly?: boolean
      commentAction?: CommentAction
      adReferendum?: { principal: string; until?: string }
      chose?: string
      packageHash?: string
    } = {},
  ): FoldEvent {
    if (this.last) this.seal(this.last)
    const prevHash = this.last?.hash ?? GENESIS_HASH
    const v: VersionRecord = {
      negotiationId: this.negotiationId,
      n: (this.last?.n ?? 0) + 1,
      at: row.at,
      lastAt: row.at,
      party,
      user,
      kind,
      termIds: [...termIds],
      summary: '',
      ...(kind === 'checkpoint' && extra.name !== undefined ? { name: extra.name } : {}),
      ...(extra.layoutOnly ? { layoutOnly: true } : {}),
      boardSeq: this.pos.boardSeq,
      ledgerSeq: this.pos.ledgerSeq,
      hash: '',
      prevHash,
    }
    // An edit's summary is made when it is sealed (written or followed), from the board then.
    v.summary =
      kind === 'edit'
        ? ''
        : summarize({
            kind,
            // A term of the opening draft has no proposing party.
            partyName: this.partyName(party) ?? (party === null && kind === 'propose' ? null : user),
            titles: termIds.map((id) => this.titleOf(id)),
            name: extra.name,
            reason: extra.reason,
            restoredFrom: extra.restoredFrom,
            byEdit: extra.byEdit,
            commentAction: extra.commentAction,
            adReferendum: extra.adReferendum,
            chose: extra.chose,
            packageHash: extra.packageHash,
          })
    this.last = v
    this.stale = kind === 'edit'
    if (!this.stale) v.hash = versionRowHash(prevHash, v)
    return { type: 'created', version: v }
  }

  /** Computed from the board as it is now: the fold seals a run before any row that could change it without growing it. */
  private editSummary(v: VersionRecord, beforeRow?: ReadonlyMap<string, RunText>): string {
    const terms = boardOf(this.board).terms
    const only = v.termIds.length === 1 ? v.termIds[0]! : null
    // The one term's text is read to quote what changed — unless it is long (an annex): the summary
    // then names the term only, and no version costs the length of a long text.
    const quoted = only !== null && !v.layoutOnly && this.runBefore.has(only) ? terms.get(only) : undefined
    // A term the sealing row took away is read as that row found it (beforeRow).
    const lastText = only !== null && !(terms.get(only) instanceof Y.Map) ? beforeRow?.get(only) : undefined
    const after: RunText | null =
      quoted instanceof Y.Map && !isLong(quoted.get('body'))
        ? runTextOf(quoted)
        : lastText && this.runBefore.has(only!) && lastText.body.length <= LONG_TEXT
          ? lastText
          : null
    const before = after ? this.runBefore.get(only!) : undefined
    // Either end holds suggestions: the texts with them accepted tell what was suggested.
    const suggestions = !!(before?.proposed || after?.proposed)
    return summarize({
      kind: 'edit',
      partyName: this.partyName(v.party) ?? v.user,
      titles: v.termIds.map((id) => beforeRow?.get(id)?.title || this.titleOf(id)),
      before,
      after: after ?? undefined,
      ...(suggestions && before && after
        ? { proposedBefore: before.proposed ?? before, proposedAfter: after.proposed ?? after }
        : {}),
      layoutOnly: v.layoutOnly === true,
      removed:
        !v.layoutOnly &&
        v.termIds.length > 0 &&
        v.termIds.every((id) => !(terms.get(id) instanceof Y.Map) && !beforeRow?.has(id)),
      // Only the server edits the board without a party: it puts back terms removed without the right to.
      putBack: v.party === null,
    })
  }

  private titleOf(id: string): string {
    const term = boardOf(this.board).terms.get(id)
    const title = term instanceof Y.Map ? textOf(term, 'title') : this.removedTexts.get(id)?.title
    if (title) return title
    const agreed = readStatus(this.ledger, id)?.agreedText
    return agreed ? agreed.split('\n')[0]! : id
  }
}

/**
 * The order in which a negotiation's two logs are folded: the store's gseq
 * (Store.appendUpdates), which every instance and every later rebuild reads
 * the same. A row written in reaction to another — a command's move after
 * the edit it read, the ledger writer's propose after the board update it
 * saw (appended before it in the same commit) — always has the larger gseq,
 * whatever the writers' clocks said. Takes the next row off one of the two
 * queues, or returns undefined.
 */
export function nextRow(board: RowQueue, ledger: RowQueue): LogRow | undefined {
  const b = board.peek()
  const l = ledger.peek()
  if (!l) return board.shift()
  if (!b) return ledger.shift()
  return b.gseq < l.gseq ? board.shift() : ledger.shift()
}

/** Rows waiting to be folded, in seq order (a catch-up may hold many: no Array.shift). */
export class RowQueue {
  private items: LogRow[] = []
  private head = 0

  static of(rows: LogRow[]): RowQueue {
    const q = new RowQueue()
    for (const r of rows) q.push(r)
    return q
  }

  get length(): number {
    return this.items.length - this.head
  }

  push(row: LogRow): void {
    this.items.push(row)
  }

  peek(): LogRow | undefined {
    return this.items[this.head]
  }

  shift(): LogRow | undefined {
    const row = this.items[this.head]
    if (!row) return undefined
    this.head++
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return row
  }
}
