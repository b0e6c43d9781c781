/**
 * From a Word body (paragraphs and tables of plain text) to terms, the way a
 * lawyer's term sheet is laid out. The first layout found wins:
 *
 * 1. **Headings** (Heading 1–9, a style based on one, or an outline level):
 *    each heading starts a term, its title the heading's text; the paragraphs
 *    and tables up to the next heading are its body. A heading followed
 *    directly by a deeper one ("Financial terms" over "Price", "Deposit") is a
 *    section, not a term, and is reported.
 * 2. **Numbered paragraphs** (a Word numbered list at its first level, or text
 *    typed as "1.", "1)", "(1)", "Article 1", "Section 1", "Clause 1", "§ 1"):
 *    each starts a term. Its title is, in this order of preference: a run-in
 *    title in bold or underline ("1. **Price.** The price is …"); the whole
 *    paragraph when it reads as a title (short, one phrase, not a sentence);
 *    a label before a colon ("1. Price: 10 million"); the next paragraph when
 *    the number stands alone ("ARTICLE 1" / "DEFINITIONS"). Otherwise the
 *    paragraph is a clause with no title: it is titled "Term n" and becomes
 *    the body. Deeper levels ("1.1", "(a)") stay in the body.
 * 3. **Bold lines**: with neither, short paragraphs set wholly in bold or
 *    underline are read as headings.
 * 4. **A term table**: rows of a table of two or more columns, the first
 *    column the title and the others the body (a header row is skipped).
 * 5. Otherwise every paragraph is a term "Term n".
 *
 * The number typed before a title ("1.", "Article 5 –") is taken off: the
 * board has its own order. Text before the first term becomes a term
 * "Preamble", never dropped. The first paragraph in the Title style is the
 * document's title (offered as the negotiation's), not a term. Every guess is
 * said in the warnings.
 */
import type { ParsedTerm, ParsedTermSheet } from '../../shared/word'
import { blocksAsText, type Block, type Paragraph, type WordBody } from './wordBody'

/** Any number label at the start of a paragraph, with what separates it from the text. */
const NUMBER_LABEL =
  /^(?:(?:article|art\.|section|clause)\s+(?:\d+[a-z]?(?:\.\d+)*|[ivxlcdm]+)\b\.?|§+\s*\d+[a-z]?(?:\.\d+)*\.?|\(\d+[a-z]?\)|\d+(?:\.\d+)*[.)](?!\d))(?:\s*[-–—:.]\s*|\s+|$)/i
/** A label of the first level only: "1.", "1)", "(1)", "Article 1", "§ 1" — not "1.1". */
const TOP_LABEL =
  /^(?:(?:article|art\.|section|clause)\s+(?:\d+[a-z]?|[ivxlcdm]+)\b(?!\.\d)\.?|§+\s*\d+[a-z]?(?!\.\d)\.?|\(\d+\)|\d+[.)](?!\d))(?:\s*[-–—:.]\s*|\s+|$)/i
const HEADER_CELL = /^(terms?|items?|provisions?|clauses?|headings?|topics?|subjects?|issues?|sections?|key terms?)$/i

export const PREAMBLE_TITLE = 'Preamble'
export const TRAILING_TITLE = 'Other text'

/** The label typed before a title ("1. ", "Article 5 – "), or '' if none. */
export function numberLabel(text: string): string {
  return NUMBER_LABEL.exec(text)?.[0] ?? ''
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length

/** Short, one phrase, no sentence: what a title looks like. */
function readsAsTitle(s: string, strong = false): boolean {
  if (!s || s.length > 120 || words(s) > 12 || s.includes('\n')) return false
  if (/[.;!?]\s/.test(s)) return false
  return strong || !/[.;,]$/.test(s)
}

/** A title without the punctuation that tied it to the text after it. */
const cleanTitle = (s: string) =>
  s
    .replace(/\s+/g, ' ')
    .replace(/\s*[.:—–-]+$/, '')
    .trim()

/** A heading's text without its typed number, unless nothing else is left. */
function titleOfHeading(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim()
  const label = numberLabel(t)
  const rest = t.slice(label.length).trim()
  return rest ? rest : t
}

/** An empty paragraph: spacing, never a term's start, but kept inside a body as an empty line. */
const blank = (b: Block | undefined) => b?.kind === 'paragraph' && b.text.trim() === ''
const isParagraph = (b: Block | undefined): b is Paragraph => b?.kind === 'paragraph' && b.text.trim() !== ''

const levelOf = (p: Paragraph): number | undefined =>
  p.heading === undefined ? undefined : p.heading === 'title' ? 0 : p.heading

/** The bold/underlined text that opens a paragraph once its first `skip` characters are passed. */
function strongLeadAfter(p: Paragraph, skip: number): string {
  let lead = ''
  let at = 0
  for (const run of p.runs) {
    const from = Math.max(0, skip - at)
    at += run.text.length
    if (from >= run.text.length) continue
    const piece = run.text.slice(from)
    if (run.strong || !piece.trim()) lead += piece
    else break
  }
  return lead.trim() ? lead : ''
}

function list(items: string[], max = 5, quote = true): string {
  const q = quote ? "'" : ''
  const quoted = items.slice(0, max).map((s) => `${q}${s.length > 60 ? `${s.slice(0, 59)}…` : s}${q}`)
  if (items.length > max) quoted.push(`${items.length - max} more`)
  return quoted.length <= 1 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

export function termsFromBody(body: WordBody): ParsedTermSheet {
  const warnings: string[] = []
  const changes = describeChanges(body)
  if (changes) warnings.push(changes)

  let blocks = body.blocks
  let title: string | undefined
  const firstTitle = blocks.findIndex((b) => isParagraph(b) && b.heading === 'title')
  const firstHeading = blocks.findIndex((b) => isParagraph(b) && typeof b.heading === 'number')
  if (firstTitle >= 0 && (firstHeading < 0 || firstTitle < firstHeading)) {
    title = (blocks[firstTitle] as Paragraph).text.replace(/\s+/g, ' ').trim()
    blocks = blocks.filter((_, i) => i !== firstTitle)
  }

  const reading =
    byHeadings(blocks, warnings) ??
    byNumbers(blocks, warnings) ??
    byBoldLines(blocks, warnings) ??
    byTable(blocks, warnings) ??
    byParagraphs(blocks, warnings)

  const leftOut = describeLeftOut(body)
  if (leftOut) warnings.push(leftOut)
  return { terms: reading, warnings, ...(title ? { title } : {}) }
}

/** Blocks before the first term as a term of their own. */
function preamble(blocks: Block[], warnings: string[]): ParsedTerm[] {
  const body = blocksAsText(blocks)
  if (!body) return []
  warnings.push(`The text before the first term became a term of its own, '${PREAMBLE_TITLE}'.`)
  return [{ title: PREAMBLE_TITLE, body }]
}

function byHeadings(blocks: Block[], warnings: string[]): ParsedTerm[] | undefined {
  const starts = blocks.flatMap((b, i) => (isParagraph(b) && levelOf(b) !== undefined ? [i] : []))
  if (starts.length === 0) return undefined
  const terms = preamble(blocks.slice(0, starts[0]), warnings)
  const sections: string[] = []
  starts.forEach((at, k) => {
    const end = starts[k + 1] ?? blocks.length
    const heading = blocks[at] as Paragraph
    const text = blocksAsText(blocks.slice(at + 1, end))
    const next = starts[k + 1] === undefined ? undefined : (blocks[starts[k + 1]!] as Paragraph)
    if (!text && next && levelOf(next)! > levelOf(heading)!) {
      sections.push(titleOfHeading(heading.text))
      return
    }
    terms.push({ title: titleOfHeading(heading.text), body: text })
  })
  if (sections.length)
    warnings.push(
      sections.length === 1
        ? `A heading with sub-headings and no text of its own was read as a section, not a term: ${list(sections)}.`
        : `${sections.length} headings with sub-headings and no text of their own were read as sections, not terms: ${list(sections)}.`,
    )
  return terms
}

function byNumbers(blocks: Block[], warnings: string[]): ParsedTerm[] | undefined {
  const firstList = blocks.find((b): b is Paragraph => isParagraph(b) && b.list?.level === 0)
  const termList = firstList?.list?.numId
  const isStart = (b: Block): b is Paragraph =>
    isParagraph(b) &&
    ((termList !== undefined && b.list?.numId === termList && b.list.level === 0) || (!b.list && TOP_LABEL.test(b.text.trim())))
  const starts = blocks.flatMap((b, i) => (isStart(b) ? [i] : []))
  if (starts.length === 0) return undefined
  warnings.push('The document has no headings: its numbered paragraphs were read as terms.')
  const terms = preamble(blocks.slice(0, starts[0]), warnings)
  const untitled: number[] = []
  starts.forEach((at, k) => {
    const end = starts[k + 1] ?? blocks.length
    const p = blocks[at] as Paragraph
    const text = p.text.trim()
    const label = p.list ? '' : numberLabel(text)
    const rest = text.slice(label.length).trim()
    const skip = p.text.length - p.text.trimStart().length + label.length
    let rest0 = rest
    let from = at + 1
    let title: string
    const lead = strongLeadAfter(p, skip).trim()
    const colon = /^([^:.;\n]{1,60}):\s+(\S[\s\S]*)$/.exec(rest)
    if (!rest) {
      // "ARTICLE 1" on its own: the title may be the next paragraph with text
      let n = at + 1
      while (n < end && blank(blocks[n])) n++
      const next = blocks[n]
      if (n < end && isParagraph(next) && readsAsTitle(next.text.trim(), next.allStrong)) {
        title = cleanTitle(next.text)
        from = n + 1
      } else title = /^[\d(]/.test(label.trim()) || !label ? `Term ${terms.length + 1}` : cleanTitle(label)
      rest0 = ''
    } else if (lead && lead.length < rest.length && rest.startsWith(lead) && readsAsTitle(cleanTitle(lead), true)) {
      title = cleanTitle(lead)
      rest0 = rest.slice(lead.length).trim()
    } else if (readsAsTitle(rest, p.allStrong)) {
      title = cleanTitle(rest)
      rest0 = ''
    } else if (colon && words(colon[1]!) <= 6) {
      title = cleanTitle(colon[1]!)
      rest0 = colon[2]!.trim()
    } else {
      title = `Term ${terms.length + 1}`
      untitled.push(terms.length + 1)
    }
    const body = [rest0, blocksAsText(blocks.slice(from, end))].filter(Boolean).join('\n')
    terms.push({ title, body })
  })
  if (untitled.length)
    warnings.push(
      `${plural(untitled.length, 'numbered paragraph')} read as ${untitled.length === 1 ? 'a clause' : 'clauses'} with no title of ${untitled.length === 1 ? 'its' : 'their'} own: titled ${list(untitled.map((n) => `Term ${n}`))}, with the paragraph as the text.`,
    )
  return terms
}

function byBoldLines(blocks: Block[], warnings: string[]): ParsedTerm[] | undefined {
  const isStart = (b: Block): b is Paragraph => isParagraph(b) && b.allStrong && readsAsTitle(b.text.trim(), true)
  const starts = blocks.flatMap((b, i) => (isStart(b) ? [i] : []))
  if (starts.length < 2) return undefined
  warnings.push('The document has no headings or numbered paragraphs: its short lines in bold were read as term titles.')
  const terms = preamble(blocks.slice(0, starts[0]), warnings)
  starts.forEach((at, k) => {
    const end = starts[k + 1] ?? blocks.length
    terms.push({
      title: cleanTitle(titleOfHeading((blocks[at] as Paragraph).text)),
      body: blocksAsText(blocks.slice(at + 1, end)),
    })
  })
  return terms
}

function byTable(blocks: Block[], warnings: string[]): ParsedTerm[] | undefined {
  const tables = blocks.flatMap((b, i) => (b.kind === 'table' && b.rows.some((r) => r.cells.length >= 2) ? [i] : []))
  if (tables.length === 0) return undefined
  warnings.push(
    'The document has no headings or numbered paragraphs: the rows of its table were read as terms, the first column as the title and the others as the text.',
  )
  const terms = preamble(blocks.slice(0, tables[0]), warnings)
  const between: Block[] = []
  for (let i = tables[0]!; i < blocks.length; i++) {
    const b = blocks[i]!
    if (!tables.includes(i)) {
      between.push(b)
      continue
    }
    if (between.length && terms.length)
      terms.at(-1)!.body = [terms.at(-1)!.body, blocksAsText(between.splice(0))].filter(Boolean).join('\n')
    if (b.kind !== 'table') continue
    b.rows.forEach((row, r) => {
      const [first = '', ...others] = row.cells
      const head = first.replace(/\s+/g, ' ').trim()
      const text = others
        .map((c) => c.trim())
        .filter(Boolean)
        .join('\n')
      if (row.header || (r === 0 && HEADER_CELL.test(head))) return
      if (!head) {
        // a continuation row (the first cell merged from above)
        if (text && terms.length) terms.at(-1)!.body = [terms.at(-1)!.body, text].filter(Boolean).join('\n')
        return
      }
      terms.push({ title: cleanTitle(titleOfHeading(head)), body: text })
    })
  }
  const trailing = blocksAsText(between)
  if (trailing) {
    terms.push({ title: TRAILING_TITLE, body: trailing })
    warnings.push(`The text after the table became a term of its own, '${TRAILING_TITLE}'.`)
  }
  return terms
}

function byParagraphs(blocks: Block[], warnings: string[]): ParsedTerm[] {
  const lines = blocks.map((b) => blocksAsText([b])).filter(Boolean)
  if (lines.length === 0) {
    warnings.push('The document has no text.')
    return []
  }
  warnings.push(
    'The document has no headings, numbered paragraphs or table of terms: each paragraph became a term titled "Term n"; review the titles.',
  )
  return lines.map((body, i) => ({ title: `Term ${i + 1}`, body }))
}

function describeChanges(body: WordBody): string | undefined {
  const c = body.changes
  const total = c.insertions + c.deletions + c.moves + c.formatting
  if (total === 0) return undefined
  const kinds = [
    c.insertions && plural(c.insertions, 'insertion'),
    c.deletions && plural(c.deletions, 'deletion'),
    c.moves && plural(c.moves, 'move'),
    c.formatting && plural(c.formatting, 'formatting change'),
  ].filter(Boolean)
  const authors = [...c.authors.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name)
  const by = authors.length ? ` by ${list(authors, 3, false)}` : ''
  return `${plural(total, 'tracked change')} ${total === 1 ? 'was' : 'were'} read as accepted (${kinds.join(', ')}${by}).`
}

function describeLeftOut(body: WordBody): string | undefined {
  const parts: string[] = []
  for (const [kind, n] of body.leftOut) {
    if (kind === 'table of contents') parts.push('the table of contents')
    else if (kind === 'hidden text') parts.push('hidden text')
    else if (kind === 'comment') parts.push(plural(n, 'comment'))
    else parts.push(plural(n, kind))
  }
  if (parts.length === 0) return undefined
  const joined = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`
  return `Left out, as a term's text is plain text: ${joined}.`
}
