/**
 * What changed in a text, in words a reader takes in at a glance: "30 → 45
 * days", "added “and binding”", "added 12 words and removed 3 in 4 places".
 * The server words each edit version with it, the History panel an edit
 * session (from its redline), so both read alike.
 */
import { simpleDiffString } from 'lib0/diff'
import { diffWordsWithSpace } from 'diff'
import type { TermText } from './negotiation'
import type { Seg, TermDiff } from './schemas'

const MAX_SPAN = 48

export const clip = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s)

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
  const d = simpleDiffString(a, b)
  // One character typed or deleted changes the text in one place: the word diff, which costs the whole
  // text's length, would find no second place. Most versions are this while two delegations type at once.
  const scattered = d.remove + d.insert.length > 1 ? countedChange(a, b) : null
  if (scattered) return scattered
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

/** The same words for one term of a redline (`TermDiff`): its text before is what was kept and removed, after what was kept and put in. */
export function describeTermDiff(d: TermDiff): string | null {
  const before = (segs: Seg[]) =>
    segs
      .filter((s) => s.op !== 'ins')
      .map((s) => s.text)
      .join('')
  // What `to` holds, read with its pending suggestions left out (the text, as the sheet reads it) or all taken.
  const after = (segs: Seg[], leaveOut: 'ins' | 'del') =>
    segs
      .filter((s) => s.op !== 'del' && s.suggestion?.kind !== leaveOut)
      .map((s) => s.text)
      .join('')
  const from = { title: before(d.title), body: before(d.body) }
  const text = { title: after(d.title, 'ins'), body: after(d.body, 'ins') }
  const changed = describeChange(from, text)
  if (changed !== null) return changed
  // The text stands as it was: what changed is what is suggested for it.
  const proposed = describeChange(text, { title: after(d.title, 'del'), body: after(d.body, 'del') })
  return proposed === null ? null : `suggested ${proposed}`
}
