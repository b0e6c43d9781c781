/**
 * The Word exports (CONTRACT.md "Word documents"): `GET …/export?format=docx`
 * and `npm run export -- <id> --format docx`.
 *
 *  - the sheet at version n (default: the newest): a heading per term, its
 *    state and acceptances, its body, and the shared comment threads as they
 *    stood then as Word comments;
 *  - the redline from version N to M: the sheet at M with every change since
 *    N as a Word tracked change in the name of the delegation and person
 *    whose row made it, at that row's time — "Accept all" gives the sheet at
 *    M, "Reject all" the sheet at N.
 *
 * Both are read through the history's queries (history/queries.ts): the
 * sheet (`sheetAt`: states, acceptances, threads) and the redline (`redline`:
 * `diff`'s segments with the row that made each change). The version export
 * is the redline from n to n — nothing changed, pending suggestions marked —
 * so the two documents are one layout. Rows become who and when in
 * rowAuthors.ts; a changed run of text is credited to the last row that
 * added to it (the materialised history merges a delegation's adjacent
 * inserts and keeps the later row), so two people of one delegation typing
 * into the same words within the window show as the later one.
 */
import { boardDocName } from '../../shared/docNames'
import { termHash } from '../../shared/negotiation'
import type { SheetTerm } from '../../shared/schemas'
import type { HistoryQueries } from '../history/queries'
import type { RowTermDiff } from '../history/pastStates'
import type { Store } from '../store/types'
import { when } from '../history/exportRender'
import { fieldSpans, suggester, type Span, type Who } from './redlineSpans'
import { rowAuthors } from './rowAuthors'
import { writeDocx, type SuggestionMode, type WordTerm } from './docxWriter'

export interface DocxDeps {
  history: HistoryQueries
  store: Store
  now?: () => number
}

export interface DocxFile {
  bytes: Buffer
  filename: string
  /** the versions it shows: `from` = `to` for a sheet */
  from: number
  to: number
  terms: number
}

export type DocxRequest =
  { n?: number; suggestions?: SuggestionMode } | { from: number; to: number; suggestions?: SuggestionMode }

/** The request of a parsed `…/export?format=docx` query (ExportQuerySchema has checked the combination). */
export const docxRequest = (q: { n?: number; from?: number; to?: number; suggestions?: SuggestionMode }): DocxRequest =>
  q.from !== undefined && q.to !== undefined
    ? { from: q.from, to: q.to, ...(q.suggestions ? { suggestions: q.suggestions } : {}) }
    : { ...(q.n !== undefined ? { n: q.n } : {}), ...(q.suggestions ? { suggestions: q.suggestions } : {}) }

const STATE_LABEL: Record<string, string> = {
  proposed: 'Proposed',
  accepted: 'Accepted by some',
  agreed: 'Agreed',
  rejected: 'Rejected',
  withdrawn: 'Withdrawn',
  reopened: 'Reopened',
}

const andList = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`)
const isoOf = (ms: number | undefined) =>
  ms === undefined || Number.isNaN(new Date(ms).getTime()) ? '' : new Date(ms).toISOString()

/** A file name of safe characters only (the id is the server's, but stores made by hand hold anything). */
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_')

/** The .docx for a request; null when the negotiation is gone. Unknown versions: 404 unknown-version; from > to: 400. */
export async function exportDocx(
  deps: DocxDeps,
  negotiationId: string,
  req: DocxRequest,
  onProgress?: (done: number, total: number) => void,
): Promise<DocxFile | null> {
  const { history } = deps
  const redline = 'from' in req
  const to = redline ? req.to : (req.n ?? (await history.latest(negotiationId)))
  const from = redline ? req.from : to
  // the window first: it says 400 / 404 for a bad pair before anything else is read
  const diff = await history.redline(negotiationId, from, to)
  const [sheet, posFrom, posTo] = await Promise.all([
    history.sheetAt(negotiationId, to),
    history.position(negotiationId, from),
    history.position(negotiationId, to),
  ])
  if (!sheet) return null

  const seqs = diff.terms.flatMap((t) => [...t.title, ...t.body].map((s) => s.seq ?? 0))
  const rows = await rowAuthors(deps.store, boardDocName(negotiationId), seqs, onProgress)
  const authorOf = (seq: number | undefined, party: string | null): Who =>
    (seq !== undefined && rows.get(seq)) || { party, user: party === null ? 'Parley' : 'unknown', at: NaN }

  const names = new Map(sheet.parties.map((p) => [p.id, p.name]))
  const name = (id: string | null) => (id === null ? null : (names.get(id) ?? id))
  const sheetTerms = new Map(sheet.terms.map((t) => [t.id, t]))
  const suggestions = req.suggestions ?? 'comments'
  let pending = false

  const terms: WordTerm[] = diff.terms.map((d, i) => {
    const marks = diff.marksFrom.get(d.id)
    const title = fieldSpans(d.title, marks?.title, authorOf)
    const body = fieldSpans(d.body, marks?.body, authorOf)
    if ([...title, ...body].some((s) => s.kind === 'suggested' || (s.kind === 'ins' && s.pendingRemoval))) pending = true
    const t = sheetTerms.get(d.id)
    return {
      number: i + 1,
      title,
      body,
      stateLine: stateLine(t, d, { redline, from, name }),
      ...(d.change === 'added' || d.change === 'removed' ? { whole: wholeChange(d.change, [...title, ...body], authorOf) } : {}),
      threads: t ? sheet.threads.filter((th) => th.termId === d.id) : [],
    }
  })

  const at = (p: typeof posTo) => when(isoOf(p?.version ? Math.max(p.version.at, p.version.lastAt) : undefined))
  const now = (deps.now ?? Date.now)()
  const notes = redline
    ? [
        `Changes from version ${from} (${from === 0 ? 'before the first' : at(posFrom)}) to version ${to} (${at(posTo)}), as tracked changes in the name of the delegation and person who made each. Accept them all for the text at version ${to}; reject them all for the text at version ${from}.`,
      ]
    : [`The term sheet at version ${to}${to === 0 ? ' (before the first)' : `, ${at(posTo)}`}.`]
  if (pending)
    notes.push(
      suggestions === 'tracked'
        ? 'Pending suggestions are tracked changes in their suggester’s name too, each with a comment: they are not part of the agreed text until accepted in Parley, and accepting all accepts them.'
        : 'Pending suggestions are comments in their suggester’s name: they are not part of the text until accepted in Parley.',
    )
  if (terms.some((t) => t.threads.length > 0)) notes.push(`Shared comments as they stood at version ${to}.`)
  notes.push(`Exported from Parley on ${when(isoOf(now))}.`)

  const bytes = await writeDocx({ title: sheet.title, notes, terms, parties: names, suggestions })
  const id = safeName(negotiationId)
  return {
    bytes,
    filename: redline ? `${id}-v${from}-v${to}-redline.docx` : `${id}-v${to}.docx`,
    from,
    to,
    terms: terms.length,
  }
}

/** Who added (or removed) a term in the window: who wrote (or removed) its first text. */
function wholeChange(
  change: 'added' | 'removed',
  spans: Span[],
  authorOf: (seq: number | undefined, party: string | null) => Who,
) {
  const kind = change === 'added' ? ('ins' as const) : ('del' as const)
  const first = spans.find((s) => s.kind === kind || s.kind === 'suggested')
  const by = !first
    ? authorOf(undefined, null)
    : first.kind === 'suggested'
      ? suggester(first.suggestion)
      : (first as { by: Who }).by
  return { kind, by }
}

/** "Agreed — proposed by United States; accepted by United States and Russian Federation." */
function stateLine(
  t: SheetTerm | undefined,
  d: RowTermDiff,
  ctx: { redline: boolean; from: number; name: (id: string | null) => string | null },
): string {
  if (!t) return `Removed from the board (at version ${ctx.from}: ${STATE_LABEL[d.state.from ?? ''] ?? 'on the board'}).`
  const label = STATE_LABEL[t.state] ?? t.state
  const was =
    ctx.redline && d.change !== 'added' && d.state.from && d.state.from !== t.state
      ? ` (at version ${ctx.from}: ${STATE_LABEL[d.state.from] ?? d.state.from})`
      : ''
  const proposed = t.proposedBy === null ? 'in the opening draft' : `proposed by ${ctx.name(t.proposedBy)}`
  const hash = termHash({ title: t.title, body: t.body })
  const accepted = Object.entries(t.acceptedBy).map(([p, h]) => `${ctx.name(p)}${h === hash ? '' : ' (an earlier text)'}`)
  return `${label}${was} — ${proposed}${accepted.length ? `; accepted by ${andList(accepted)}` : ''}.`
}
