/**
 * A term's redline as the Word export writes it: stretches of text that are
 * plain, a tracked change (inserted or deleted, by whom and when), or a
 * pending suggestion — decided per character from where it stands in the
 * sheet's text at each end of the window.
 *
 * The sheet's text is a term's text without its pending suggestions
 * (CONTRACT.md "Suggestions and authorship": suggested insertions left out,
 * text suggested for removal kept). A redline segment (history/redline.ts
 * RowSeg) says what the *raw* text did — eq, ins, del — and which pending
 * suggestion its text is at `to`; the pieces at `from` say which it was
 * then. So a character is
 *  - in the sheet at `from` when the raw text held it then (eq, del) and it
 *    was no pending suggested insertion then;
 *  - in the sheet at `to` when the raw text holds it (eq, ins) and it is no
 *    pending suggested insertion now;
 * and a tracked insertion is exactly what is in `to`'s sheet and not in
 * `from`'s, a tracked deletion the other way round: accepting every tracked
 * change gives the sheet at `to`, rejecting them all the sheet at `from`.
 * Pending suggestions are spans of their own; the writer decides how they
 * show (docxWriter.ts).
 *
 * Who made a change: the row that wrote or removed the characters (RowSeg
 * `seq`, looked up by the caller); for text a suggestion put in and another
 * delegation accepted within the window — plain text at both ends of the raw
 * redline — the suggester, when they suggested it.
 */
import { alongPieces, type Suggestion, type SuggestionPiece } from '../../shared/suggestions'
import type { RowSeg } from '../history/redline'

/** Who made a change and when (ms since the epoch; NaN or out of range: unknown). */
export interface Who {
  party: string | null
  user: string
  at: number
}

export type Span =
  | { kind: 'text'; text: string }
  /** in the sheet at `to`, not at `from`; `pendingRemoval`: and now suggested for removal */
  | { kind: 'ins'; text: string; by: Who; pendingRemoval?: Suggestion }
  /** in the sheet at `from`, not at `to` */
  | { kind: 'del'; text: string; by: Who }
  /** a pending suggestion at `to`: an insertion (not in the sheet) or a removal (still in it) */
  | { kind: 'suggested'; text: string; suggestion: Suggestion }

export const suggester = (s: Suggestion): Who => ({ party: s.party, user: s.user, at: s.at })

/** Is the span's text part of the sheet's text at `to`? */
export const inSheet = (s: Span): boolean =>
  s.kind === 'text' || s.kind === 'ins' || (s.kind === 'suggested' && s.suggestion.kind === 'del')

/** The sheet's text at `to` (accept every tracked change, leave suggestions pending). */
export const sheetText = (spans: readonly Span[]): string =>
  spans
    .filter(inSheet)
    .map((s) => s.text)
    .join('')

/** The sheet's text at `from` (reject every tracked change). */
export const fromText = (spans: readonly Span[]): string =>
  spans
    .filter((s) => s.kind === 'text' || s.kind === 'del' || (s.kind === 'suggested' && s.suggestion.kind === 'del'))
    .map((s) => s.text)
    .join('')

/** A segment cut where the pieces at `from` change, each part with the suggestion its text was then. */
interface Part {
  seg: RowSeg
  text: string
  was: Suggestion | null
}

/**
 * The parts of the segments, each knowing what its text was at `from`. The
 * from side (eq and del text) is walked alongside `fromPieces`; when the two
 * do not spell the same text (they should), the text is read as having been
 * what it is at `to` (eq) or plain (del) — the best guess, never a crash.
 */
function withFromMarks(segs: readonly RowSeg[], fromPieces: readonly SuggestionPiece[] | undefined): Part[] {
  if (!fromPieces) return segs.map((seg) => ({ seg, text: seg.text, was: null }))
  const fromSide = segs.filter((s) => s.op !== 'ins')
  if (fromPieces.map((p) => p.text).join('') !== fromSide.map((s) => s.text).join('')) {
    return segs.map((seg) => ({ seg, text: seg.text, was: seg.op === 'eq' ? (seg.suggestion ?? null) : null }))
  }
  const out: Part[] = []
  alongPieces(
    segs,
    (seg) => seg.text,
    fromPieces,
    (seg, text, piece) => out.push({ seg, text, was: piece ? piece.suggestion : null }),
    (seg) => seg.op !== 'ins',
  )
  return out
}

/**
 * One field's spans. `fromPieces`: the field's suggestion pieces at `from`
 * (undefined: it held no suggestion then); `authorOf`: who made the row `seq`
 * (`party`: the segment's, should the row be unknown).
 */
export function fieldSpans(
  segs: readonly RowSeg[],
  fromPieces: readonly SuggestionPiece[] | undefined,
  authorOf: (seq: number | undefined, party: string | null) => Who,
): Span[] {
  const spans: Span[] = []
  const push = (span: Span) => {
    if (!span.text) return
    const last = spans[spans.length - 1]
    if (last && sameKind(last, span)) last.text += span.text
    else spans.push(span)
  }
  for (const { seg, text, was } of withFromMarks(segs, fromPieces)) {
    const now = seg.op === 'del' ? null : (seg.suggestion ?? null)
    const inFrom = seg.op !== 'ins' && was?.kind !== 'ins'
    const inTo = seg.op !== 'del' && now?.kind !== 'ins'
    const byRow = () => authorOf(seg.seq, seg.party ?? null)
    if (inFrom && inTo) push(now ? { kind: 'suggested', text, suggestion: now } : { kind: 'text', text })
    else if (inFrom) push({ kind: 'del', text, by: seg.op === 'del' ? byRow() : suggester(now!) })
    else if (inTo) {
      // Written in the window (its row), or a suggestion pending at `from` that was accepted since (its suggester).
      const by = seg.op === 'ins' ? byRow() : suggester(was!)
      push(now ? { kind: 'ins', text, by, pendingRemoval: now } : { kind: 'ins', text, by })
    } else if (now) push({ kind: 'suggested', text, suggestion: now })
    // else: a suggested insertion gone within the window (rejected, withdrawn): never in either sheet
  }
  return spans
}

const sameWho = (a: Who, b: Who) =>
  a.party === b.party && a.user === b.user && (a.at === b.at || (Number.isNaN(a.at) && Number.isNaN(b.at)))
const sameSug = (a: Suggestion | undefined, b: Suggestion | undefined) =>
  (!a && !b) || (!!a && !!b && a.id === b.id && a.kind === b.kind)

function sameKind(a: Span, b: Span): boolean {
  if (a.kind !== b.kind) return false
  switch (a.kind) {
    case 'text':
      return true
    case 'del':
      return sameWho(a.by, (b as typeof a).by)
    case 'ins':
      return sameWho(a.by, (b as typeof a).by) && sameSug(a.pendingRemoval, (b as typeof a).pendingRemoval)
    case 'suggested':
      return sameSug(a.suggestion, (b as typeof a).suggestion)
  }
}
