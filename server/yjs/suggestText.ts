/**
 * Brings a term's title or body to a new wording as one author's
 * suggestions, the way the editor's Suggest mode would have typed them
 * (Word drafts: server/negotiation/wordDrafts.ts). The difference is taken
 * word by word (the `diff` package, as describeChange does) between the
 * text without pending suggestions — the term's text, what its hash is over
 * — and the new wording; each changed stretch becomes one suggestion
 * (shared/suggestEdit.ts: the old words marked for removal, the new ones a
 * suggested insertion after them, under one id), carried out from the end
 * backwards so the positions of the stretches before it hold.
 *
 * - Stretches that only a space between them separates are one change:
 *   "30 days" → "45 weeks" is one suggestion, not two.
 * - A change of spacing alone (a blank line, two spaces) is left out: Word
 *   does not keep blank paragraphs, and nobody negotiates a space.
 * - A stretch the author already suggests word for word (the same draft
 *   brought in twice) is not suggested again.
 * - A stretch that touches another author's pending suggestion — inside
 *   the words it replaces, or where its text would go in (insertionAllowed)
 *   — is left alone and reported: it is for the others to decide theirs
 *   first.
 */
import * as Y from 'yjs'
import { diffWordsWithSpace } from 'diff'
import {
  applySuggestedEdit,
  insertionAllowed,
  planSuggestedEdit,
  spansOf,
  type SuggestionAuthor,
  type TextSpan,
} from '../../shared/suggestEdit'
import type { Suggestion } from '../../shared/suggestions'

/** One change, in the text without suggestions: [from, to) replaced by `insert`. */
export interface Stretch {
  from: number
  to: number
  insert: string
}

export interface SuggestOutcome {
  /** suggestions made */
  made: number
  /** stretches the author already suggests (or that change nothing once their pending removals are counted) */
  already: number
  /** stretches left alone: each touches a pending suggestion of `by` */
  blocked: Array<{ text: string; by: Suggestion }>
}

/** A word diff that takes longer than this is given up for one stretch from the first change to the last. */
export const DIFF_TIMEOUT_MS = 1000

const blank = (s: string) => s.trim() === ''

/** The changed stretches from `a` to `b`, word by word; changes of spacing alone are left out. */
export function changedStretches(a: string, b: string, timeoutMs = DIFF_TIMEOUT_MS): Stretch[] {
  if (a === b) return []
  const parts = diffWordsWithSpace(a, b, { timeout: timeoutMs })
  const raw: Stretch[] = []
  if (!parts) raw.push(oneStretch(a, b))
  else {
    let pos = 0
    let cur: Stretch | null = null
    for (const p of parts) {
      if (!p.added && !p.removed) {
        if (cur) raw.push(cur)
        cur = null
        pos += p.value.length
        continue
      }
      cur ??= { from: pos, to: pos, insert: '' }
      if (p.added) cur.insert += p.value
      else {
        cur.to += p.value.length
        pos += p.value.length
      }
    }
    if (cur) raw.push(cur)
  }
  const merged: Stretch[] = []
  for (const s of raw) {
    const last = merged[merged.length - 1]
    const gap = last ? a.slice(last.to, s.from) : ''
    if (last && blank(gap)) merged[merged.length - 1] = { from: last.from, to: s.to, insert: last.insert + gap + s.insert }
    else merged.push({ ...s })
  }
  return merged.filter((s) => !(blank(a.slice(s.from, s.to)) && blank(s.insert)))
}

/** From the first difference to the last, as one stretch. */
function oneStretch(a: string, b: string): Stretch {
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  return { from: start, to: endA, insert: b.slice(start, endB) }
}

/** A text as readers see it without pending suggestions: the text, and where each of its characters is in the Y.Text. */
interface PlainView {
  text: string
  at: number[]
}

function plainView(t: Y.Text, spans: readonly TextSpan[]): PlainView {
  const full = t.toString()
  let text = ''
  const at: number[] = []
  for (const s of spans) {
    if (s.suggestion?.kind === 'ins') continue
    text += full.slice(s.from, s.to)
    for (let i = s.from; i < s.to; i++) at.push(i)
  }
  return { text, at }
}

const isOwn = (s: Suggestion | null, author: SuggestionAuthor): boolean =>
  s !== null && s.party === author.party && s.user === author.user

/** What each of the author's pending suggestions does, as a stretch of the text without suggestions. */
function ownChanges(full: string, spans: readonly TextSpan[], author: SuggestionAuthor): Stretch[] {
  const byId = new Map<string, { from?: number; to?: number; insert: string; insAt?: number }>()
  let plain = 0
  for (const s of spans) {
    const sug = s.suggestion
    if (sug && isOwn(sug, author)) {
      const c = byId.get(sug.id) ?? { insert: '' }
      if (sug.kind === 'del') {
        c.from ??= plain
        c.to = plain + (s.to - s.from)
      } else {
        c.insert += full.slice(s.from, s.to)
        c.insAt ??= plain
      }
      byId.set(sug.id, c)
    }
    if (sug?.kind !== 'ins') plain += s.to - s.from
  }
  return [...byId.values()].flatMap((c) => {
    if (c.from === undefined) return [{ from: c.insAt!, to: c.insAt!, insert: c.insert }]
    // A removal with an insertion elsewhere than right after it is no replacement a diff would make.
    return c.insert && c.insAt !== c.to ? [] : [{ from: c.from, to: c.to!, insert: c.insert }]
  })
}

/**
 * Suggests, in `t`'s own transaction (join a surrounding one by calling it
 * inside it), whatever it takes to bring its text without suggestions to
 * `next`. Returns what was done.
 */
export function suggestText(
  t: Y.Text,
  next: string,
  author: SuggestionAuthor,
  fresh: () => { id: string; at: number },
  /** how long the word diff may take (then the change is one stretch) */
  timeoutMs = DIFF_TIMEOUT_MS,
): SuggestOutcome {
  const outcome: SuggestOutcome = { made: 0, already: 0, blocked: [] }
  const spans0 = spansOf(t)
  const view0 = plainView(t, spans0)
  const stretches = changedStretches(view0.text, next, timeoutMs)
  if (stretches.length === 0) return outcome
  const own = ownChanges(t.toString(), spans0, author)
  const apply = () => {
    for (const s of [...stretches].reverse()) {
      if (own.some((c) => c.from === s.from && c.to === s.to && c.insert === s.insert)) {
        outcome.already++
        continue
      }
      // Positions before this stretch are as they were: the stretches after it were carried out first.
      const spans = spansOf(t)
      const { at } = plainView(t, spans)
      const from = s.to > s.from ? at[s.from]! : s.from === 0 ? 0 : at[s.from - 1]! + 1
      const to = s.to > s.from ? at[s.to - 1]! + 1 : from
      const theirs = spans.find((p) => p.from < to && p.to > from && p.suggestion !== null && !isOwn(p.suggestion, author))
      const blockedAt =
        theirs ??
        (s.insert && !insertionAllowed(spans, to, t.length, author) ? spans.find((p) => p.from < to && p.to >= to) : undefined)
      if (blockedAt?.suggestion) {
        outcome.blocked.unshift({ text: view0.text.slice(s.from, s.to) || s.insert, by: blockedAt.suggestion })
        continue
      }
      const plan = planSuggestedEdit(spans, from, to, s.insert, author, fresh)
      if (!plan) {
        outcome.already++
        continue
      }
      applySuggestedEdit(t, plan, spans)
      outcome.made++
    }
  }
  if (t.doc) t.doc.transact(apply)
  else apply()
  return outcome
}
