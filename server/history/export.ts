/**
 * The export of a negotiation (`GET …/export`, `npm run export`): the sheet
 * as it stands at the newest version — every term the ledger knows, with its
 * state, who proposed it, who accepted which text when, when it was agreed,
 * rejected or withdrawn, and its redline since it was proposed — followed by
 * the full concession history (every version), and the heads of the hash
 * chains so the record can be checked against the store later
 * (`npm run verify -- <id> --against export.json`).
 *
 * A term's `title` and `body` are its text without pending suggestions, as
 * its hash is (CONTRACT.md "Suggestions and authorship"); the suggestions
 * are beside them (`suggestions`), and its redline marks what is a pending
 * suggestion at the end (Seg `suggestion`) rather than showing it as a change.
 *
 * Built from the store alone; caucus docs and a delegation's internal
 * comment threads are never read. The per-term
 * redlines come from one replay of the board's log (redline.ts), which is
 * the only part whose cost grows with the history; `onProgress` reports it.
 */
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import type * as Y from 'yjs'
import { allStatuses, board as boardOf, malformedEntries, notesOf, readConclusion, termsInOrder } from '../../shared/docLayout'
import { openBracketGroups } from '../../shared/brackets'
import { currentInitials, type PackageState } from '../../shared/conclusion'
import { fieldPieces, withoutSuggestions, type SuggestionPiece } from '../../shared/suggestions'
import { termHash, type PartyInfo, type TermState } from '../../shared/negotiation'
import type { Seg, Version } from '../../shared/schemas'
import { GENESIS_HASH } from '../store/chain'
import type { NegotiationRecord, Store, VersionRecord } from '../store/types'
import { BoardReplay, wordSegs, type Run } from './redline'
import { docAt } from './reconstruct'
import { toVersion } from './versionIndex'
import { sharedThreadsAt } from './threadsAt'
import type { PlainThread } from '../../shared/comments'

export const EXPORT_FORMAT = 'parley-export/1'

export interface ChainHead {
  seq: number
  hash: string
}

export interface ExportHeads {
  board: ChainHead
  ledger: ChainHead
  versions: { n: number; hash: string }
}

export interface Stamp {
  n: number
  at: string
  party: string | null
  user: string
}

/**
 * A pending suggestion in a term's title or body (CONTRACT.md "Suggestions
 * and authorship"), one per stretch of text it covers. The term's `title`
 * and `body` are its text without pending suggestions (what its hash is
 * over); `index` is where in that field the suggestion stands: a suggested
 * insertion goes in there, text suggested for removal starts there.
 */
export interface ExportSuggestion {
  id: string
  kind: 'ins' | 'del'
  party: string
  user: string
  /** when it was suggested (ISO 8601; '' when the stored time is not one) */
  at: string
  field: 'title' | 'body'
  index: number
  text: string
}

export interface ExportTerm {
  id: string
  /** the title and body without pending suggestions (the text its hash is over); `suggestions` has those */
  title: string
  body: string
  state: TermState
  /** false for a term taken off the board (its last text is shown) */
  onBoard: boolean
  proposedBy: string | null
  proposed: Stamp | null
  /** party → SHA-256 of the text it accepted, as in the ledger */
  acceptedBy: Record<string, string>
  acceptances: Array<Stamp & { party: string; current: boolean }>
  agreed: Stamp | null
  /** the move that closed or reopened the term most recently */
  lastMove: (Stamp & { kind: Version['kind'] }) | null
  /** redline from the version that proposed the term to the newest one (for a term off the board: to its last text) */
  redline: { since: number; title: Seg[]; body: Seg[] }
  /** versions that touched the term */
  versions: number[]
  /** pending suggestions in its title and body, in text order; absent when there are none */
  suggestions?: ExportSuggestion[]
  /** acceptances ad referendum not yet confirmed (they do not count towards agreement); absent when none */
  adReferendum?: Array<{ party: string; principal: string; until?: string; at: string; user: string; current: boolean }>
  /** open `[`…`]` groups in its title and body; absent when none */
  brackets?: number
}

export interface ExportDoc {
  format: typeof EXPORT_FORMAT
  negotiation: { id: string; title: string; parties: PartyInfo[]; createdAt: string }
  generatedAt: string
  /** the newest version the export shows (0: none yet) */
  asOf: { n: number; at: string | null }
  heads: ExportHeads
  terms: ExportTerm[]
  notes: Array<{ id: string; text: string }>
  /** the shared comment threads as of the export's version (a delegation's internal ones never leave it) */
  threads: PlainThread[]
  versions: Array<Version & { hash: string }>
  /** board entries that do not fit the layout and are left out (`terms/<id>` …); absent when there are none */
  skipped?: string[]
  /** the way to conclusion (CONTRACT.md "Concluding a negotiation"), as of the export's version; absent before any package */
  conclusion?: {
    package: PackageState | null
    initials: Array<{ party: string; user: string; at: string }>
    concluded: { at: string; hash: string } | null
  }
}

export type ExportProgress = (phase: 'history', done: number, total: number) => void

export interface ExportInput {
  store: Store
  record: NegotiationRecord
  versions: VersionRecord[]
  now?: () => number
  onProgress?: ExportProgress
}

const iso = (ms: number) => new Date(ms).toISOString()
const stamp = (v: VersionRecord): Stamp => ({ n: v.n, at: iso(v.at), party: v.party, user: v.user })

/** A time a client wrote (a suggestion's `at`): '' when it is no date. */
export const isoOrEmpty = (ms: number): string => {
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? '' : d.toISOString()
}

/**
 * The pending suggestions of one field, from its pieces (shared/suggestions.ts
 * `suggestionPieces`), placed in its text without suggestions.
 */
export function exportSuggestions(field: 'title' | 'body', pieces: readonly SuggestionPiece[]): ExportSuggestion[] {
  const out: ExportSuggestion[] = []
  let index = 0
  for (const { text, suggestion: s } of pieces) {
    if (s) out.push({ id: s.id, kind: s.kind, party: s.party, user: s.user, at: isoOrEmpty(s.at), field, index, text })
    if (s?.kind !== 'ins') index += text.length
  }
  return out
}

/** What the window's end holds of a field (runs from `runs(id, field, at, at)`), as pieces. */
const piecesOfRuns = (runs: Run[]): SuggestionPiece[] =>
  runs.filter((r) => r.op !== 'del').map((r) => ({ text: r.text, suggestion: r.suggestion ?? null }))

/**
 * The chain head of a doc: its last row and that row's full hash, as the
 * store recorded them with the append (rows keep only a 32-bit check of their
 * hash, server/store/chain.ts). `npm run verify -- --against` recomputes it.
 */
export async function docHead(store: Store, doc: string): Promise<ChainHead> {
  return store.chainHead(doc)
}

/** The ledger's way to conclusion, as the export shows it (nothing before a package ever stood). */
function conclusionOf(ledger: Y.Doc): Pick<ExportDoc, 'conclusion'> {
  const c = readConclusion(ledger)
  if (!c.package && !c.concluded) return {}
  return {
    conclusion: {
      package: c.package,
      initials: Object.entries(currentInitials(c.initials, c.concluded?.hash ?? c.package?.hash)).map(([party, i]) => ({
        party,
        user: i.user,
        at: iso(i.at),
      })),
      concluded: c.concluded ? { at: iso(c.concluded.at), hash: c.concluded.hash } : null,
    },
  }
}

export async function buildExport(input: ExportInput): Promise<ExportDoc> {
  const { store, record, versions } = input
  const now = input.now ?? Date.now
  const boardName = boardDocName(record.id)
  const ledgerName = ledgerDocName(record.id)
  const last = versions[versions.length - 1] ?? null
  const pos = last ? { boardSeq: last.boardSeq, ledgerSeq: last.ledgerSeq } : { boardSeq: 0, ledgerSeq: 0 }

  const [boardHead, ledgerHead, board, ledger, threads] = await Promise.all([
    docHead(store, boardName),
    docHead(store, ledgerName),
    docAt(store, boardName, pos.boardSeq),
    docAt(store, ledgerName, pos.ledgerSeq),
    sharedThreadsAt(store, record.id, pos.ledgerSeq),
  ])
  const replay = await BoardReplay.build(store, boardName, 0, pos.boardSeq, (done, total) =>
    input.onProgress?.('history', done, total),
  )
  try {
    const statuses = allStatuses(ledger)
    const onBoard = termsInOrder(board)
    const onBoardIds = new Set(onBoard.map((t) => t.id))
    // Terms taken off the board (withdrawn by removal) still belong to the record.
    const skipped = malformedEntries(board)
    const malformedTerms = new Set(skipped.filter((e) => e.startsWith('terms/')).map((e) => e.slice('terms/'.length)))
    const offBoard = replay.allTermIds().filter((id) => !onBoardIds.has(id) && !malformedTerms.has(id) && statuses.has(id))
    const byTerm = new Map<string, VersionRecord[]>()
    for (const v of versions) for (const id of v.termIds) byTerm.set(id, [...(byTerm.get(id) ?? []), v])

    const termOf = (
      id: string,
      text: { title: string; body: string },
      present: boolean,
      pieces: { title: SuggestionPiece[]; body: SuggestionPiece[] },
      until = pos.boardSeq,
    ): ExportTerm => {
      const suggestions = [...exportSuggestions('title', pieces.title), ...exportSuggestions('body', pieces.body)]
      const s = statuses.get(id)
      const history = byTerm.get(id) ?? []
      const latest = (pred: (v: VersionRecord) => boolean) => [...history].reverse().find(pred) ?? null
      const proposal = history.find((v) => v.kind === 'propose') ?? null
      const currentHash = termHash(text)
      const acceptances = Object.entries(s?.acceptedBy ?? {}).map(([party, hash]) => {
        const v =
          latest((x) => x.kind === 'accept' && x.party === party) ?? latest((x) => x.kind === 'agree' && x.party === party)
        return { party, n: v?.n ?? 0, at: v ? iso(v.at) : '', user: v?.user ?? '', current: hash === currentHash }
      })
      const agreed = s?.state === 'agreed' ? latest((v) => v.kind === 'agree') : null
      const move = latest((v) => ['reject', 'withdraw', 'reopen', 'agree'].includes(v.kind))
      const since = proposal?.boardSeq ?? 0
      const adRef = Object.entries(s?.adReferendum ?? {}).map(([party, a]) => ({
        party,
        principal: a.principal,
        ...(a.until ? { until: a.until } : {}),
        at: isoOrEmpty(a.at),
        user: a.user,
        current: a.hash === currentHash,
      }))
      const brackets = openBracketGroups(text)
      return {
        id,
        title: text.title,
        body: text.body,
        state: s?.state ?? 'proposed',
        onBoard: present,
        proposedBy: s?.proposedBy ?? null,
        proposed: proposal ? stamp(proposal) : null,
        acceptedBy: s?.acceptedBy ?? {},
        acceptances: acceptances.map((a) => ({ n: a.n, at: a.at, party: a.party, user: a.user, current: a.current })),
        agreed: agreed ? stamp(agreed) : null,
        lastMove: move ? { ...stamp(move), kind: move.kind } : null,
        redline: {
          since: proposal?.n ?? 0,
          title: wordSegs(replay.runs(id, 'title', since, until)),
          body: wordSegs(replay.runs(id, 'body', since, until)),
        },
        versions: history.map((v) => v.n),
        ...(suggestions.length > 0 ? { suggestions } : {}),
        ...(adRef.length > 0 ? { adReferendum: adRef } : {}),
        ...(brackets > 0 ? { brackets } : {}),
      }
    }
    const boardPieces = (id: string) => {
      const m = boardOf(board).terms.get(id)
      return { title: fieldPieces(m?.get('title')), body: fieldPieces(m?.get('body')) }
    }

    const terms = [
      ...onBoard.map((t) => termOf(t.id, t, true, boardPieces(t.id))),
      ...offBoard.map((id) => {
        const seen = replay.lastSeen(id)
        const pieces = {
          title: piecesOfRuns(replay.runs(id, 'title', seen, seen)),
          body: piecesOfRuns(replay.runs(id, 'body', seen, seen)),
        }
        // its last text, read as a term on the board is (without pending suggestions)
        const text = { title: withoutSuggestions(pieces.title), body: withoutSuggestions(pieces.body) }
        // its changes while it was on the board; taking it off is its withdrawal, shown as such
        return termOf(id, text, false, pieces, seen)
      }),
    ]
    return {
      format: EXPORT_FORMAT,
      negotiation: { id: record.id, title: record.title, parties: record.parties, createdAt: iso(record.createdAt) },
      generatedAt: iso(now()),
      asOf: { n: last?.n ?? 0, at: last ? iso(last.lastAt) : null },
      heads: {
        board: boardHead,
        ledger: ledgerHead,
        versions: { n: last?.n ?? 0, hash: last?.hash ?? GENESIS_HASH },
      },
      terms,
      notes: notesOf(board).map(({ id, text }) => ({ id, text })),
      threads,
      versions: versions.map((v) => ({ ...toVersion(v), hash: v.hash })),
      ...(skipped.length > 0 ? { skipped } : {}),
      ...conclusionOf(ledger),
    }
  } finally {
    replay.destroy()
    board.destroy()
    ledger.destroy()
  }
}
