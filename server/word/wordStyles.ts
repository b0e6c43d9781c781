/**
 * What word/styles.xml and word/numbering.xml tell the term reader: which
 * paragraph styles are headings (and at which level), which carry numbering,
 * and which numbered lists are bullets rather than numbers.
 *
 * A style is a heading when its id or name says so (`Heading1`, "heading 1",
 * `Title`), or when it — or a style it is based on — has an outline level,
 * which is how Word itself decides what the navigation pane lists. Without
 * styles.xml only the built-in ids are recognised.
 */
import { attrOf, childNamed, childrenOf, isOn, rootNamed, tagOf, type XmlNode } from './wordXml'

/** `title` for the Title style, 1–9 for headings. */
export type HeadingLevel = number | 'title'

export interface StyleInfo {
  id: string
  name?: string
  basedOn?: string
  outlineLevel?: number
  numbering?: { numId: string; level: number }
  /** bold (or underlined) in its run properties: "Strong", a "Clause Heading" style … */
  strong?: boolean
}

/** Word's names for a table of contents and its entries. */
const TOC = /^(toc ?(heading|\d)|table of contents|contents heading)$/i

export class WordStyles {
  private readonly byId = new Map<string, StyleInfo>()

  constructor(styles?: XmlNode[]) {
    const root = styles && rootNamed(styles, 'styles')
    if (!root) return
    for (const s of childrenOf(root)) {
      // every type, not only paragraph styles: a run's character style ("Strong") says whether it is bold
      if (tagOf(s) !== 'style') continue
      const id = attrOf(s, 'styleId')
      if (!id) continue
      const info: StyleInfo = { id }
      const name = childNamed(s, 'name')
      if (name) info.name = attrOf(name, 'val')
      const basedOn = childNamed(s, 'basedOn')
      if (basedOn) info.basedOn = attrOf(basedOn, 'val')
      const pPr = childNamed(s, 'pPr')
      if (pPr) {
        const outline = readOutlineLevel(pPr)
        if (outline !== undefined) info.outlineLevel = outline
        const num = readNumPr(pPr)
        if (num) info.numbering = num
      }
      const rPr = childNamed(s, 'rPr')
      if (rPr && (isOn(childNamed(rPr, 'b')) || isOn(childNamed(rPr, 'u')))) info.strong = true
      this.byId.set(id, info)
    }
  }

  /** The style and those it is based on, nearest first (cycles and absurd chains cut). */
  private *chain(id: string | undefined): Generator<StyleInfo | { id: string }> {
    const seen = new Set<string>()
    while (id && !seen.has(id) && seen.size < 16) {
      seen.add(id)
      const s = this.byId.get(id)
      yield s ?? { id }
      id = s?.basedOn
    }
  }

  headingLevel(styleId: string | undefined): HeadingLevel | undefined {
    for (const s of this.chain(styleId)) {
      const byName = headingByName(s.id) ?? headingByName((s as StyleInfo).name)
      if (byName !== undefined) return byName
      const outline = (s as StyleInfo).outlineLevel
      if (outline !== undefined) return outline < 9 ? outline + 1 : undefined
    }
    return undefined
  }

  numbering(styleId: string | undefined): { numId: string; level: number } | undefined {
    for (const s of this.chain(styleId)) {
      const n = (s as StyleInfo).numbering
      if (n) return n
    }
    return undefined
  }

  strong(styleId: string | undefined): boolean {
    for (const s of this.chain(styleId)) if ((s as StyleInfo).strong) return true
    return false
  }

  /** A table-of-contents style (its paragraphs repeat the headings; the reader leaves them out). */
  isToc(styleId: string | undefined): boolean {
    if (!styleId) return false
    const name = this.byId.get(styleId)?.name
    return TOC.test(styleId) || (name !== undefined && TOC.test(name))
  }
}

function headingByName(name: string | undefined): HeadingLevel | undefined {
  if (!name) return undefined
  if (/^title$/i.test(name)) return 'title'
  const m = /^heading ?([1-9])$/i.exec(name)
  return m ? Number(m[1]) : undefined
}

export function readOutlineLevel(pPr: XmlNode): number | undefined {
  const o = childNamed(pPr, 'outlineLvl')
  const v = o ? Number(attrOf(o, 'val')) : NaN
  return Number.isInteger(v) && v >= 0 ? v : undefined
}

/** `w:numPr` of a paragraph's (or style's) properties; numId 0 means "no numbering" and is kept as such. */
export function readNumPr(pPr: XmlNode): { numId: string; level: number } | undefined {
  const numPr = childNamed(pPr, 'numPr')
  if (!numPr) return undefined
  const numId = attrOf(childNamed(numPr, 'numId') ?? {}, 'val')
  const ilvl = Number(attrOf(childNamed(numPr, 'ilvl') ?? {}, 'val') ?? 0)
  if (numId === undefined) return undefined
  return { numId, level: Number.isInteger(ilvl) && ilvl >= 0 && ilvl < 9 ? ilvl : 0 }
}

/**
 * numbering.xml: which (list, level) pairs are numbers rather than bullets.
 * Without the part every list counts as numbered, which is what a reader
 * would assume from `w:numPr` alone.
 */
export class WordNumbering {
  /** numId → abstractNumId */
  private readonly nums = new Map<string, string>()
  /** abstractNumId → level → numFmt */
  private readonly formats = new Map<string, Map<number, string>>()
  private readonly known: boolean

  constructor(numbering?: XmlNode[]) {
    const root = numbering && rootNamed(numbering, 'numbering')
    this.known = !!root
    if (!root) return
    for (const n of childrenOf(root)) {
      const tag = tagOf(n)
      if (tag === 'abstractNum') {
        const id = attrOf(n, 'abstractNumId')
        if (id === undefined) continue
        const levels = new Map<number, string>()
        for (const lvl of childrenOf(n)) {
          if (tagOf(lvl) !== 'lvl') continue
          const fmt = childNamed(lvl, 'numFmt')
          levels.set(Number(attrOf(lvl, 'ilvl') ?? 0), (fmt && attrOf(fmt, 'val')) ?? 'decimal')
        }
        this.formats.set(id, levels)
      } else if (tag === 'num') {
        const id = attrOf(n, 'numId')
        const abs = childNamed(n, 'abstractNumId')
        const absId = abs && attrOf(abs, 'val')
        if (id !== undefined && absId !== undefined) this.nums.set(id, absId)
      }
    }
  }

  /** True when list `numId` at `level` shows a number (not a bullet, not nothing). */
  isNumbered(numId: string, level: number): boolean {
    if (numId === '0') return false
    if (!this.known) return true
    const abs = this.nums.get(numId)
    const fmt = abs === undefined ? undefined : this.formats.get(abs)?.get(level)
    if (fmt === undefined) return abs !== undefined
    return fmt !== 'bullet' && fmt !== 'none'
  }
}
