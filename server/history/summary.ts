/**
 * One-line human summaries of versions ("Russian Federation accepted 'Equal
 * obligations'", "United States edited 'Response deadline': 30 → 45 days").
 */
import { simpleDiffString } from 'lib0/diff'
import { diffWordsWithSpace } from 'diff'
import type { VersionKind } from '../../shared/schemas'
import type { TermText } from '../../shared/negotiation'

export interface SummaryInput {
  kind: VersionKind
  partyName: string | null
  /** term titles, in the order of the version's termIds */
  titles: string[]
  name?: string
  reason?: string
  restoredFrom?: number
  /** for a one-term edit: the text when the run began and now */
  before?: TermText
  after?: TermText
  /** the edit only moved cards */
  layoutOnly?: boolean
  /** the server put back terms that were removed by someone who may not withdraw them */
  putBack?: boolean
  /** every term of the edit is gone from the board */
  removed?: boolean
  /** a reopen caused by editing the agreed text (not the `term:reopen` command) */
  byEdit?: boolean
}

const MAX_SPAN = 48

const quote = (title: string) => `'${clip(title.trim() || 'untitled term', 60)}'`
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s)

function listTitles(titles: string[]): string {
  if (titles.length === 0) return 'the board'
  if (titles.length <= 2) return titles.map(quote).join(' and ')
  return `${quote(titles[0]!)}, ${quote(titles[1]!)} and ${titles.length - 2} more`
}

export function summarize(s: SummaryInput): string {
  const who = s.partyName ?? 'The opening draft'
  const what = listTitles(s.titles)
  switch (s.kind) {
    case 'propose':
      return s.partyName ? `${who} proposed ${what}` : `${what} is in the opening draft`
    case 'accept':
      return `${who} accepted ${what}`
    case 'agree':
      return `${what} agreed by all parties`
    case 'reject':
      return `${who} rejected ${what}${s.reason ? `: ${clip(s.reason, 80)}` : ''}`
    case 'withdraw':
      return `${who} withdrew ${what}`
    case 'reopen':
      if (s.byEdit) return `${who} reopened ${what} by editing its agreed text`
      return `${who} reopened ${what}${s.reason ? `: ${clip(s.reason, 80)}` : ''}`
    case 'checkpoint':
      return `${who} marked checkpoint '${clip(s.name ?? '', 60)}'`
    case 'restore':
      return `${who} restored ${what}${s.restoredFrom ? ` to its text at version ${s.restoredFrom}` : ''}`
    case 'edit': {
      if (s.putBack) return `${what} put back on the board: removing it was not a withdrawal`
      if (s.titles.length === 0) return `${who} edited the board`
      if (s.removed) return `${who} removed ${what} from the board`
      if (s.layoutOnly) return `${who} moved ${what}`
      if (s.titles.length === 1 && s.before && s.after) {
        const change = describeChange(s.before, s.after)
        return change ? `${who} edited ${what}: ${change}` : `${who} edited ${what}`
      }
      return `${who} edited ${what}`
    }
  }
}

/** Texts longer than this are summarised from their one changed span only (a word diff costs more than a keystroke should). */
const MAX_COUNTED = 20_000
const wordCount = (t: string) => t.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu)?.length ?? 0
const words = (n: number) => `${n} word${n === 1 ? '' : 's'}`

/**
 * An edit made in several places ("added 12 words and removed 3 in 4
 * places"): quoting one span from the first change to the last would show
 * unchanged text as changed, or fragments of words. Null for a change in one
 * place, which `describeChange` quotes.
 */
function countedChange(a: string, b: string): string | null {
  if (a.length > MAX_COUNTED || b.length > MAX_COUNTED) return null
  let places = 0
  let added = 0
  let removed = 0
  let inChange = false
  // where the changes start and end, in the old text and in the new
  const at = { a: 0, b: 0 }
  let first: { a: number; b: number } | null = null
  let last = { a: 0, b: 0 }
  for (const part of diffWordsWithSpace(a, b)) {
    const n = part.value.length
    if (!part.added && !part.removed) {
      // Whitespace alone between two changes does not separate them.
      if (part.value.trim() !== '') inChange = false
      at.a += n
      at.b += n
      continue
    }
    if (!inChange) places++
    inChange = true
    first ??= { ...at }
    if (part.added) {
      added += wordCount(part.value)
      at.b += n
    } else {
      removed += wordCount(part.value)
      at.a += n
    }
    last = { ...at }
  }
  if (!first || places < 2 || added + removed === 0) return null
  // Two nearby changes still read best quoted: "equal and reciprocal → equal, reciprocal and binding".
  const span = Math.max(last.a - first.a, last.b - first.b)
  if (places < 3 && span <= MAX_SPAN) return null
  const what = [added > 0 ? `added ${words(added)}` : '', removed > 0 ? `removed ${added > 0 ? removed : words(removed)}` : '']
  return `${what.filter(Boolean).join(' and ')} in ${places} places`
}

/**
 * "30 → 45 days": the changed words of the body (or else the title), widened
 * to whole words; a one-word change is followed by the next unchanged word
 * for context.
 */
export function describeChange(before: TermText, after: TermText): string | null {
  const field = before.body !== after.body ? 'body' : before.title !== after.title ? 'title' : null
  if (!field) return null
  const a = before[field]
  const b = after[field]
  const scattered = countedChange(a, b)
  if (scattered) return scattered
  const d = simpleDiffString(a, b)
  const space = (ch: string | undefined) => ch === undefined || /\s/.test(ch)
  let start = d.index
  let endA = d.index + d.remove
  let endB = d.index + d.insert.length
  // Widen to whole words only where the change cuts into one.
  const cutsLeft = !space(a[start - 1]) && (!space(a[start]) || !space(d.insert[0])) && (d.remove > 0 || !space(d.insert[0]))
  if (cutsLeft) while (start > 0 && !space(a[start - 1])) start--
  const cutsRight = !space(a[endA]) && ((d.remove > 0 && !space(a[endA - 1])) || (d.insert.length > 0 && !space(d.insert.at(-1))))
  if (cutsRight) {
    while (endA < a.length && !space(a[endA])) endA++
    while (endB < b.length && !space(b[endB])) endB++
  }
  let removed = a.slice(start, endA).trim()
  let inserted = b.slice(start, endB).trim()
  // The same closing punctuation on both sides is not part of the change: "evidence." → "evidence and more." added words.
  const closing = /[.,;:!?)»”]+$/.exec(removed)?.[0]
  if (closing && inserted.endsWith(closing)) {
    removed = removed.slice(0, -closing.length).trim()
    inserted = inserted.slice(0, -closing.length).trim()
  }
  if (!removed && !inserted) return null
  if (!removed) return `added “${clip(inserted, MAX_SPAN)}”`
  if (!inserted) return `removed “${clip(removed, MAX_SPAN)}”`
  const oneWord = (w: string) => !/\s/.test(w) && w.length <= 16
  const next = oneWord(removed) && oneWord(inserted) ? /^\s+([^\s]+)/.exec(b.slice(endB))?.[1]?.replace(/[.,;:!?)»”]+$/, '') : ''
  const context = next && a.slice(endA).trimStart().startsWith(next) ? ` ${next}` : ''
  return `${clip(removed, MAX_SPAN)} → ${clip(inserted, MAX_SPAN)}${context}`
}
