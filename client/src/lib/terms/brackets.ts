/**
 * Open bracket groups (shared/brackets.ts) as the board shows them: per term
 * for the card's marks and badge, summed for the sheet's meter. A term is read
 * once per version of it: the board model keeps an unchanged term's object
 * (boardModel.svelte.ts), so a keystroke reads the one term it changed.
 */
import { bracketGroups, type BracketGroup } from '../../../../shared/brackets'
import type { TermText } from '../../../../shared/negotiation'
import { m } from '../../paraglide/messages'

export interface TermBrackets {
  title: BracketGroup[]
  body: BracketGroup[]
  /** open groups in title and body: what the ledger's `brackets` counts */
  count: number
}

const NONE: TermBrackets = Object.freeze({ title: [], body: [], count: 0 }) as TermBrackets
const read = new WeakMap<TermText, TermBrackets>()

/** A text's open groups; none without reading it when it holds no `[`. */
export const groupsIn = (text: string): BracketGroup[] => (text.includes('[') ? bracketGroups(text) : [])

/** A term's open groups, read once per term object. */
export function bracketsOf(term: TermText): TermBrackets {
  let b = read.get(term)
  if (!b) {
    const title = groupsIn(term.title)
    const body = groupsIn(term.body)
    b = title.length + body.length === 0 ? NONE : { title, body, count: title.length + body.length }
    read.set(term, b)
  }
  return b
}

/** The sheet's meter: open groups over the terms still on the table, and in how many terms. */
export function bracketMeter(terms: readonly TermText[]): { groups: number; terms: number } {
  let groups = 0
  let termCount = 0
  for (const t of terms) {
    const n = bracketsOf(t).count
    if (n > 0) {
      groups += n
      termCount++
    }
  }
  return { groups, terms: termCount }
}

/** "2 open [ ]"-style counts, in words. */
export const groupWords = (n: number): string => m.terms_bracket_groups({ count: n })

export interface Segment {
  text: string
  /** part of an open group */
  group: boolean
}

/** A text cut at its groups' edges, for drawing the groups marked. */
export function segments(text: string, groups: readonly BracketGroup[]): Segment[] {
  const out: Segment[] = []
  let at = 0
  for (const g of groups) {
    if (g.from > at) out.push({ text: text.slice(at, g.from), group: false })
    out.push({ text: text.slice(g.from, g.to), group: true })
    at = g.to
  }
  if (at < text.length) out.push({ text: text.slice(at), group: false })
  return out
}
