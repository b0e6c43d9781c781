/**
 * Edits of a term's text written as suggestions (CONTRACT.md "Suggestions and
 * authorship"), planned once and carried out on a Y.Text. The editor's Suggest
 * mode plans against what it shows (client/src/lib/editor/suggestionMarks.ts);
 * tests and the server plan against the Y.Text itself (`spansOf`).
 *
 * Replacing [from, to) by `insert` as a suggestion of `author`:
 * - the author's own pending insertions in the range are removed outright
 *   (taking back what one suggested is no suggestion);
 * - plain text in the range stays, marked for removal;
 * - anyone else's pending suggestion, and text already marked for removal, is
 *   left as it is (it is decided with Accept / Reject, not typed over);
 * - `insert` goes in after the range, marked as a suggested insertion.
 * An edit touching one of the author's own pending suggestions continues it
 * (same id): typing "45" is one suggestion, not two, and replacing "30" by
 * "45" is one suggestion with a removal and an insertion.
 *
 * Where text may go in at all: Yjs writes, after text inserted with other
 * attributes than those in force where it goes, an item that restores them —
 * inside another author's suggestion that item would carry their name, and
 * the server refuses it as forged. `insertionAllowed` says where that cannot
 * happen.
 */
import * as Y from 'yjs'
import { mayHoldSuggestions, SUGGESTION_KEY, type Suggestion } from './suggestions'

export interface SuggestionAuthor {
  party: string
  user: string
}

/** A stretch of text and the suggestion it carries (null: plain text). */
export interface TextSpan {
  from: number
  to: number
  suggestion: Suggestion | null
}

export interface TextRange {
  from: number
  to: number
}

/** One edit as it is carried out; every position is in the text before the edit. */
export interface SuggestedEditPlan {
  /** the author's own suggested insertions taken out, ascending */
  remove: TextRange[]
  /** plain text marked for removal, ascending */
  mark: TextRange[]
  /** where the suggested text goes in (the end of the replaced range) */
  at: number
  insert: string
  /** what the edit writes under; `kind` is set per use */
  suggestion: Suggestion
}

export const isOwnSuggestion = (s: Suggestion | null, author: SuggestionAuthor): s is Suggestion =>
  s !== null && s.party === author.party && s.user === author.user

/** The suggestion on the character at `pos`, from spans covering it (null when plain or outside). */
export function suggestionAt(spans: readonly TextSpan[], pos: number): Suggestion | null {
  for (const s of spans) if (s.from <= pos && pos < s.to) return s.suggestion
  return null
}

/**
 * May text go in at `pos` (between the characters at pos-1 and pos) without
 * restating another author's suggestion? Yes unless the character before it
 * carries someone else's suggestion and the text does not return to plain
 * right there (the end of the text counts as plain).
 */
export function insertionAllowed(spans: readonly TextSpan[], pos: number, length: number, author: SuggestionAuthor): boolean {
  if (pos === 0) return true
  const before = suggestionAt(spans, pos - 1)
  if (before === null || isOwnSuggestion(before, author)) return true
  return pos >= length || suggestionAt(spans, pos) === null
}

/**
 * Plans replacing [from, to) by `insert` as a suggestion of `author`; `spans`
 * must cover [from - 1, to + 1) within the text. Null when the edit changes
 * nothing (e.g. deleting text that is already marked for removal).
 */
export function planSuggestedEdit(
  spans: readonly TextSpan[],
  from: number,
  to: number,
  insert: string,
  author: SuggestionAuthor,
  fresh: () => { id: string; at: number },
): SuggestedEditPlan | null {
  const remove: TextRange[] = []
  const mark: TextRange[] = []
  let continued: Suggestion | null = null
  const push = (list: TextRange[], a: number, b: number) => {
    const last = list[list.length - 1]
    if (last && last.to === a) last.to = b
    else list.push({ from: a, to: b })
  }
  for (const s of spans) {
    const a = Math.max(s.from, from)
    const b = Math.min(s.to, to)
    if (isOwnSuggestion(s.suggestion, author)) {
      // One's own suggestion within or right beside the edit is what the edit continues.
      if (s.to >= from && s.from <= to) continued ??= s.suggestion
      if (b > a && s.suggestion.kind === 'ins') push(remove, a, b)
    } else if (s.suggestion === null && b > a) {
      push(mark, a, b)
    }
  }
  if (remove.length === 0 && mark.length === 0 && insert.length === 0) return null
  const f = fresh()
  // A continuation keeps the id but takes its own time — always a later one — so its text carries a
  // mark of its own: written with the same attributes Yjs would write no format item, and the text
  // would be a suggestion only by standing after the earlier text's mark, which a concurrent decision
  // on that text deletes (the text then came out plain, accepted by nobody).
  const base = continued ? { ...continued, at: Math.max(f.at, continued.at + 1) } : { ...f, kind: 'ins' as const, ...author }
  return { remove, mark, at: to, insert, suggestion: { ...base, kind: 'ins' } }
}

/** The suggestion spans of a whole text, from its delta (for callers that hold no marks of their own). */
export function spansOf(t: Y.Text): TextSpan[] {
  const spans: TextSpan[] = []
  let pos = 0
  for (const op of t.toDelta() as Array<{ insert?: unknown; attributes?: Record<string, unknown> }>) {
    const length = typeof op.insert === 'string' ? op.insert.length : 1
    const s = op.attributes?.[SUGGESTION_KEY]
    spans.push({ from: pos, to: pos + length, suggestion: s && typeof s === 'object' ? (s as Suggestion) : null })
    pos += length
  }
  return spans
}

/**
 * Carries out a plan on the Y.Text it was made against, in one transaction
 * with `origin`. Text going in right after a suggestion it does not continue
 * goes in after the item that ends that suggestion, so Yjs does not restate it.
 */
export function applySuggestedEdit(t: Y.Text, plan: SuggestedEditPlan, spans: readonly TextSpan[], origin?: unknown): void {
  const apply = (tr?: Y.Transaction) => {
    if (plan.insert.length > 0) {
      if (tr) dropOverriddenFormats(t, tr, plan.at)
      const ins = { [SUGGESTION_KEY]: { ...plan.suggestion, kind: 'ins' } }
      const before = plan.at > 0 ? suggestionAt(spans, plan.at - 1) : null
      const continues = before !== null && before.id === plan.suggestion.id && before.kind === 'ins'
      if (before !== null && !continues) {
        // After a suggestion (another's, or one's own removal): past the item that ends it first (a
        // retain of nothing steps over it), so the text goes in with its marks as one run after it.
        // Inserted before that end, Yjs would restate the suggestion after the text — in its
        // author's name — and a decision of it made meanwhile elsewhere leaves that restatement
        // marking whatever follows; and a mark put before their end lets another edit typed there
        // at the same time land between the mark and the text.
        t.applyDelta([{ retain: plan.at }, { retain: 0 }, { insert: plan.insert, attributes: ins }])
      } else {
        t.insert(plan.at, plan.insert, ins)
      }
    }
    // Everything else lies before `at`: from the end, so earlier positions hold.
    const steps = [
      ...plan.remove.map((r) => ({ ...r, remove: true })),
      ...plan.mark.map((r) => ({ ...r, remove: false })),
    ].sort((a, b) => b.from - a.from)
    const del = { [SUGGESTION_KEY]: { ...plan.suggestion, kind: 'del' } }
    for (const s of steps) {
      if (s.remove) t.delete(s.from, s.to - s.from)
      else t.format(s.from, s.to - s.from, del)
    }
  }
  if (t.doc) t.doc.transact(apply, origin)
  else apply()
}

/**
 * Before text goes in at `pos`: drops the suggestion format items between the characters at pos-1
 * and pos that a later one there overrides. Yjs leaves such items (text inserted before the end of
 * a differing run restates that run just before its end, concurrent edits leave others, and its
 * cleanup after remote updates does not reach them), and an insert after another author's
 * suggestion takes the first of them for what follows it: unless it is that suggestion's end, Yjs
 * restates the suggestion there, in its author's name (refused as forged). What each character
 * carries is unchanged; the item left says what holds after the gap (at the end of the text: its end).
 */
function dropOverriddenFormats(t: Y.Text, tr: Y.Transaction, pos: number): void {
  // A text that never held formatting has no such item: typing there walks nothing. (With suggestions
  // in it, this walks the items up to `pos` once per edit — the term, not the board.)
  if (pos === 0 || !mayHoldSuggestions(t)) return
  let item = t._start
  let index = 0
  // the item holding the character at pos - 1
  while (item && !(item.countable && !item.deleted && index + item.length >= pos)) {
    if (item.countable && !item.deleted) index += item.length
    item = item.right
  }
  if (!item || index + item.length > pos) return // no gap: pos - 1 and pos in one item
  let last: Y.Item | null = null
  for (let r = item.right; r && !(r.countable && !r.deleted); r = r.right) {
    if (r.deleted || !(r.content instanceof Y.ContentFormat) || r.content.key !== SUGGESTION_KEY) continue
    last?.delete(tr)
    last = r
  }
}

/**
 * Replaces [from, to) by `insert` outright (no suggestion): inserted text is plain whatever surrounds it.
 * It goes in at `to`, where `insertionAllowed` was asked, and then [from, to) goes: inserted at `from`
 * after the deletion it would sit between other neighbours, e.g. right after another author's
 * suggestion and before a further one, and Yjs would restate the first in its author's name.
 */
export function applyPlainEdit(t: Y.Text, from: number, to: number, insert: string, origin?: unknown): void {
  const apply = (tr?: Y.Transaction) => {
    if (insert.length > 0) {
      if (tr) dropOverriddenFormats(t, tr, to)
      // Empty attributes, not none: Yjs would otherwise carry the neighbouring suggestion over the new text.
      t.insert(to, insert, {})
    }
    if (to > from) t.delete(from, to - from)
  }
  if (t.doc) t.doc.transact(apply, origin)
  else apply()
}
