/**
 * Brackets, as in treaty drafting (CONTRACT.md "Concluding a negotiation"):
 * text in `[`…`]` is not yet agreed. Brackets next to each other, with only
 * whitespace between, are alternatives of one group — `within [30][45] days`
 * is one open group with two options. A term with an open group cannot be
 * accepted; `term:choose {termId, group, option}` replaces a group by one of
 * its options.
 *
 * Read the way a drafter reads them: a bracket inside a bracket belongs to
 * the outer one (it is part of that option's text), and a `[` never closed,
 * or a `]` never opened, brackets nothing (a typo is not an open question).
 * Pure and linear in the text; no Yjs.
 */

export interface BracketOption {
  /** where the option's `[` stands, and just past its `]` */
  from: number
  to: number
  /** the option's text, brackets left out */
  text: string
}

export interface BracketGroup {
  /** from the first option's `[` to just past the last option's `]` */
  from: number
  to: number
  options: BracketOption[]
}

/** The bracketed options of a text, outermost brackets only, in order. */
function options(text: string): BracketOption[] {
  const out: BracketOption[] = []
  let depth = 0
  let start = -1
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '[') {
      if (depth === 0) start = i
      depth++
    } else if (c === ']' && depth > 0) {
      depth--
      if (depth === 0) out.push({ from: start, to: i + 1, text: text.slice(start + 1, i) })
    }
  }
  return out
}

/** The open groups of a text: its bracketed options, those with only whitespace between them joined. */
export function bracketGroups(text: string): BracketGroup[] {
  const groups: BracketGroup[] = []
  for (const o of options(text)) {
    const last = groups[groups.length - 1]
    if (last && text.slice(last.to, o.from).trim() === '') {
      last.options.push(o)
      last.to = o.to
    } else groups.push({ from: o.from, to: o.to, options: [o] })
  }
  return groups
}

/** How many groups a term's title and body hold open together: what the ledger's `brackets` counts. */
export const openBracketGroups = (t: { title: string; body: string }): number =>
  bracketGroups(t.title).length + bracketGroups(t.body).length

/**
 * The edit that settles group `group` (0-based, in reading order) on option
 * `option`: the whole group is replaced by that option's text. Null when the
 * text has no such group or the group no such option.
 */
export function chooseOption(text: string, group: number, option: number): { from: number; to: number; insert: string } | null {
  const g = bracketGroups(text)[group]
  const o = g?.options[option]
  if (!g || !o) return null
  return { from: g.from, to: g.to, insert: o.text }
}
