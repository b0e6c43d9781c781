/**
 * Fits parsed terms to what a negotiation accepts at creation
 * (NEGOTIATION_LIMITS of shared/schemas.ts): a title or body over its length
 * is cut, at a word where one is near, and terms past the count are left out
 * — each said in a warning naming the term, so the reviewer sees what to fix
 * before creating. The document's title is only a suggestion: cut silently.
 */
import { NEGOTIATION_LIMITS } from '../../shared/schemas'
import type { ParsedTermSheet } from '../../shared/word'

export type TermLimits = Pick<typeof NEGOTIATION_LIMITS, 'title' | 'termTitle' | 'termBody' | 'terms'>

function cut(text: string, max: number): string {
  if (text.length <= max) return text
  const room = text.slice(0, max - 1)
  const space = room.search(/\s\S*$/)
  return `${(space > max * 0.8 ? room.slice(0, space) : room).trimEnd()}…`
}

export function fitTerms(sheet: ParsedTermSheet, limits: TermLimits = NEGOTIATION_LIMITS): ParsedTermSheet {
  const warnings = [...sheet.warnings]
  let terms = sheet.terms.map((t, i) => {
    const name = `Term ${i + 1} ('${cut(t.title, 40)}')`
    const title = cut(t.title, limits.termTitle)
    const body = cut(t.body, limits.termBody)
    if (title !== t.title) warnings.push(`${name}: its title was cut to ${limits.termTitle} characters.`)
    if (body !== t.body)
      warnings.push(
        `${name}: its text was cut to ${limits.termBody} characters; ${t.body.length - body.length + 1} were left out.`,
      )
    return { title, body }
  })
  if (terms.length > limits.terms) {
    const dropped = terms.length - limits.terms
    warnings.push(
      `The document has ${terms.length} terms and a negotiation opens with at most ${limits.terms}: the last ${dropped} (from '${cut(terms[limits.terms]!.title, 40)}') were left out.`,
    )
    terms = terms.slice(0, limits.terms)
  }
  const title = sheet.title === undefined ? {} : { title: cut(sheet.title, limits.title) }
  return { ...sheet, ...title, terms, warnings }
}
