/**
 * Which term of a Word draft is which term of the board (CONTRACT.md "Word
 * documents", `POST …/drafts`). Pure: the board's terms in order, the draft's
 * in order, and the pairs out.
 *
 * 1. **By title.** A draft term goes with the first board term not yet
 *    taken whose title reads the same once case, spacing, quotation marks,
 *    trailing punctuation and a typed number ("1.", "§1", "Article 1") are
 *    set aside — the export numbers its headings "§3 Title", and a lawyer
 *    renumbers freely.
 * 2. **By place, for edited titles.** A draft term left over is looked for
 *    in the same place on the board: among the board terms left over between
 *    the two board terms that its neighbours in the draft were matched to.
 *    It goes with the first of them, in order, whose text is similar —
 *    sharing at least half its words (the Dice coefficient of the two texts'
 *    words, counted with repeats, is ≥ SIMILAR_TEXT; two empty texts are
 *    similar). A clause whose heading and text were both rewritten is not
 *    taken for the old one: it is a new term.
 *
 * What is left over on either side is reported: draft terms to add, board
 * terms the draft no longer has.
 */
import { numberLabel } from './termSheet'

export interface TitledText {
  title: string
  body: string
}

export interface DraftPair {
  /** index into the board's terms */
  board: number
  /** index into the draft's terms */
  draft: number
  by: 'title' | 'place'
}

export interface DraftMatch {
  /** in the draft's order */
  pairs: DraftPair[]
  /** draft terms that match no board term, in the draft's order */
  newInDraft: number[]
  /** board terms the draft has no term for, in the board's order */
  notInDraft: number[]
}

/** Texts this similar (Dice coefficient of their words) are taken for one clause edited. */
export const SIMILAR_TEXT = 0.5

const QUOTES = /["'`´‘’‚‛“”„‟«»‹›「」『』]/g

/**
 * A title as matching reads it: no typed number in front, no quotation
 * marks, no punctuation at the end, one space between words, lower case.
 */
export function titleKey(title: string): string {
  let t = title.normalize('NFKC').replace(/\s+/g, ' ').trim()
  for (let label = numberLabel(t); label && label.length < t.length; label = numberLabel(t)) t = t.slice(label.length).trim()
  const key = t
    .replace(QUOTES, '')
    .replace(/[\s.:;,–—-]+$/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()
  return key || title.trim().toLowerCase()
}

const wordsOf = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

/** A text's words, each with how often it occurs. */
interface Bag {
  size: number
  counts: Map<string, number>
}

function bagOf(text: string): Bag {
  const words = wordsOf(text)
  const counts = new Map<string, number>()
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1)
  return { size: words.length, counts }
}

function dice(a: Bag, b: Bag): number {
  if (a.size === 0 && b.size === 0) return 1
  const [small, large] = a.counts.size <= b.counts.size ? [a, b] : [b, a]
  let common = 0
  for (const [w, n] of small.counts) common += Math.min(n, large.counts.get(w) ?? 0)
  return (2 * common) / (a.size + b.size)
}

/** The Dice coefficient of two texts' words (with repeats): 1 for the same words, 0 for none in common. */
export const textSimilarity = (a: string, b: string): number => dice(bagOf(a), bagOf(b))

export function matchDraft(board: readonly TitledText[], draft: readonly TitledText[]): DraftMatch {
  /** draft index → board index */
  const boardOf = new Map<number, number>()
  const by = new Map<number, DraftPair['by']>()
  const taken = new Set<number>()

  const byKey = new Map<string, number[]>()
  board.forEach((t, j) => {
    const key = titleKey(t.title)
    byKey.set(key, [...(byKey.get(key) ?? []), j])
  })
  draft.forEach((d, i) => {
    const j = byKey.get(titleKey(d.title))?.find((k) => !taken.has(k))
    if (j === undefined) return
    boardOf.set(i, j)
    by.set(i, 'title')
    taken.add(j)
  })

  // Each text is read into words once, however many places it is compared in.
  const boardBags = new Map<number, Bag>()
  const draftBags = new Map<number, Bag>()
  const bag = (cache: Map<number, Bag>, k: number, text: string) => cache.get(k) ?? cache.set(k, bagOf(text)).get(k)!
  const similar = (j: number, i: number) => {
    const [a, b] = [bag(boardBags, j, board[j]!.body), bag(draftBags, i, draft[i]!.body)]
    // Dice ≤ 2·min / (min + max), under SIMILAR_TEXT (½) when one text has over three times the other's words.
    if (3 * Math.min(a.size, b.size) < Math.max(a.size, b.size)) return false
    return dice(a, b) >= SIMILAR_TEXT
  }

  // By place: walk the draft; `prev` is the board place of the last draft term matched before.
  let prev = -1
  for (let i = 0; i < draft.length; i++) {
    const known = boardOf.get(i)
    if (known !== undefined) {
      prev = known
      continue
    }
    let next = board.length
    for (let k = i + 1; k < draft.length; k++) {
      const j = boardOf.get(k)
      if (j !== undefined) {
        next = j
        break
      }
    }
    for (let j = prev + 1; j < next; j++) {
      if (taken.has(j) || !similar(j, i)) continue
      boardOf.set(i, j)
      by.set(i, 'place')
      taken.add(j)
      prev = j
      break
    }
  }

  const pairs: DraftPair[] = []
  const newInDraft: number[] = []
  draft.forEach((_, i) => {
    const j = boardOf.get(i)
    if (j === undefined) newInDraft.push(i)
    else pairs.push({ board: j, draft: i, by: by.get(i)! })
  })
  const notInDraft = board.flatMap((_, j) => (taken.has(j) ? [] : [j]))
  return { pairs, newInDraft, notInDraft }
}
