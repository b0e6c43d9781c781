/**
 * The body of word/document.xml as a list of paragraphs and tables of plain
 * text, with every tracked change read as accepted:
 *
 * - `w:ins` / `w:moveTo` content is kept, `w:del` / `w:moveFrom` content (and
 *   so every `w:delText`) is dropped; a paragraph whose mark was deleted joins
 *   the next one, as "Accept all" would join them; a deleted table row goes;
 * - `w:t` is text, `w:tab` a tab, `w:br` / `w:cr` a line break;
 * - hyperlinks, smart tags, content controls (`w:sdt`), custom XML, simple
 *   fields (`w:fldSimple`) and bidi runs are descended into; a complex field
 *   gives its result runs (its instructions are `w:instrText`, never read);
 * - what has no place in a term's plain text — pictures, text boxes,
 *   equations, footnote and comment references, hidden text, a table of
 *   contents — is left out and counted, so the caller can say so.
 *
 * Each change is counted once per element (`w:ins`, `w:del`, a move's either
 * end, a formatting change), and a paragraph mark's own insertion or deletion
 * only where the paragraph has no other change of that kind.
 */
import { BadDocumentError } from './badDocument'
import { PARLEY_NOTE_STYLE } from './parleyStyles'
import { WordNumbering, WordStyles, readNumPr, readOutlineLevel, type HeadingLevel } from './wordStyles'
import { attrOf, childNamed, childrenOf, isOn, rootNamed, tagOf, textOf, type XmlNode } from './wordXml'

export interface Paragraph {
  kind: 'paragraph'
  text: string
  /** heading level from the paragraph's style or outline level */
  heading?: HeadingLevel
  /** shown with a number (not a bullet): which list, at which level */
  list?: { numId: string; level: number }
  /** the text in runs, each bold/underlined or not: where a run-in title ("**Price.** The price is …") ends */
  runs: Segment[]
  /** every visible character is bold or underlined */
  allStrong: boolean
}

export interface Table {
  kind: 'table'
  rows: Array<{ cells: string[]; header: boolean }>
}

export type Block = Paragraph | Table

export interface TrackedChanges {
  insertions: number
  deletions: number
  moves: number
  formatting: number
  /** author → changes */
  authors: Map<string, number>
}

export interface WordBody {
  blocks: Block[]
  changes: TrackedChanges
  /** what was left out, by kind ("footnote", "picture", …) */
  leftOut: Map<LeftOut, number>
}

export type LeftOut = 'footnote' | 'comment' | 'picture' | 'equation' | 'hidden text' | 'table of contents' | 'embedded document'

export interface Segment {
  text: string
  /** bold or underlined */
  strong: boolean
}

/** A paragraph being read: its text as segments, and its properties. */
interface Draft {
  segments: Segment[]
  heading?: HeadingLevel
  list?: { numId: string; level: number }
  skip: boolean
  markDeleted: boolean
}

/** Inline containers whose content is read as if it stood in their place. */
const TRANSPARENT_INLINE = new Set(['hyperlink', 'smartTag', 'customXml', 'fldSimple', 'dir', 'bdo', 'ins', 'moveTo'])
const DROPPED_INLINE = new Set(['del', 'moveFrom'])

/** A whole parsed word/document.xml at once (small documents, tests); WordBodyReader reads one in slices. */
export function readWordBody(document: XmlNode[], styles: WordStyles, numbering: WordNumbering): WordBody {
  const root = rootNamed(document, 'document')
  const body = root && childNamed(root, 'body')
  if (!body) throw new BadDocumentError('not a Word document: word/document.xml has no document body')
  const reader = new WordBodyReader(styles, numbering)
  reader.feed(childrenOf(body))
  return reader.finish()
}

/** Block-level content being read: what is done, and a paragraph whose deleted mark joins it to the next. */
interface BlockRun {
  out: Block[]
  carry: Draft | null
}

/** Reads a body's children in order, in as many `feed` calls as the caller cuts them into. */
export class WordBodyReader {
  private readonly changes: TrackedChanges = { insertions: 0, deletions: 0, moves: 0, formatting: 0, authors: new Map() }
  private readonly leftOut = new Map<LeftOut, number>()
  private readonly comments = new Set<string>()
  private readonly body: BlockRun = { out: [], carry: null }

  constructor(
    private readonly styles: WordStyles,
    private readonly numbering: WordNumbering,
  ) {}

  /** The next top-level children of the body. */
  feed(nodes: XmlNode[]): void {
    this.blockRun(nodes, this.body)
  }

  finish(): WordBody {
    this.flush(this.body)
    if (this.comments.size) this.leave('comment', this.comments.size)
    return { blocks: this.body.out, changes: this.changes, leftOut: this.leftOut }
  }

  private leave(kind: LeftOut, n = 1): void {
    this.leftOut.set(kind, (this.leftOut.get(kind) ?? 0) + n)
  }

  private change(kind: 'insertions' | 'deletions' | 'moves' | 'formatting', node: XmlNode): void {
    this.changes[kind]++
    const author = (attrOf(node, 'author') ?? '')
      .replace(/[\p{Cc}\p{Cf}]/gu, '')
      .trim()
      .slice(0, 80)
    if (author) this.changes.authors.set(author, (this.changes.authors.get(author) ?? 0) + 1)
  }

  /** Block-level content (a cell, a content control) in order, as blocks. */
  private blocks(nodes: XmlNode[]): Block[] {
    const run: BlockRun = { out: [], carry: null }
    this.blockRun(nodes, run)
    this.flush(run)
    return run.out
  }

  private flush(run: BlockRun): void {
    if (run.carry && !run.carry.skip) run.out.push(finish(run.carry))
    run.carry = null
  }

  /** Block-level nodes into `run`; a deleted paragraph mark joins its paragraph to the next. */
  private blockRun(nodes: XmlNode[], run: BlockRun): void {
    const out = run.out
    const emit = (d: Draft) => {
      if (!d.skip) out.push(finish(d))
    }
    for (const node of nodes) {
      switch (tagOf(node)) {
        case 'p': {
          let d = this.paragraph(node)
          const carry = run.carry
          if (carry) {
            // Accepting the deleted mark joins the two; the first keeps its properties unless all its text went too.
            const keepFirst = carry.segments.some((s) => s.text.trim())
            d = keepFirst ? { ...carry, segments: [...carry.segments, ...d.segments], markDeleted: d.markDeleted } : d
            run.carry = null
          }
          if (d.markDeleted) run.carry = d
          else emit(d)
          break
        }
        case 'tbl': {
          const t = this.table(node)
          if (t.rows.length) out.push(t)
          break
        }
        case 'sdt':
          if (this.isTocControl(node)) this.leave('table of contents')
          else out.push(...this.blocks(childrenOf(childNamed(node, 'sdtContent') ?? {})))
          break
        case 'customXml':
        case 'ins':
        case 'moveTo':
          out.push(...this.blocks(childrenOf(node)))
          break
        case 'del':
          this.change('deletions', node)
          break
        case 'moveFrom':
          this.change('moves', node)
          break
        case 'altChunk':
          this.leave('embedded document')
          break
        default:
          break
      }
    }
  }

  private isTocControl(sdt: XmlNode): boolean {
    const gallery = childNamed(childNamed(childNamed(sdt, 'sdtPr') ?? {}, 'docPartObj') ?? {}, 'docPartGallery')
    return /table of contents/i.test((gallery && attrOf(gallery, 'val')) ?? '')
  }

  private paragraph(p: XmlNode): Draft {
    const pPr = childNamed(p, 'pPr')
    const styleNode = pPr && childNamed(pPr, 'pStyle')
    const styleId = styleNode && attrOf(styleNode, 'val')
    const draft: Draft = { segments: [], skip: false, markDeleted: false }
    const before = { insertions: this.changes.insertions, deletions: this.changes.deletions }
    const styleStrong = this.styles.strong(styleId)
    this.inline(childrenOf(p), draft, styleStrong)

    if (styleId && (styleId === PARLEY_NOTE_STYLE.id || this.styles.isToc(styleId))) draft.skip = true
    if (styleId && this.styles.isToc(styleId)) this.leave('table of contents')
    const outline = pPr && readOutlineLevel(pPr)
    draft.heading = outline !== undefined ? (outline < 9 ? outline + 1 : undefined) : this.styles.headingLevel(styleId)
    const num = (pPr && readNumPr(pPr)) ?? this.styles.numbering(styleId)
    if (num && this.numbering.isNumbered(num.numId, num.level)) draft.list = num

    if (pPr) {
      if (childNamed(pPr, 'pPrChange')) this.change('formatting', childNamed(pPr, 'pPrChange')!)
      const mark = childNamed(pPr, 'rPr')
      const ins = mark && childNamed(mark, 'ins')
      const del = mark && childNamed(mark, 'del')
      if (ins && this.changes.insertions === before.insertions) this.change('insertions', ins)
      if (del) {
        draft.markDeleted = true
        if (this.changes.deletions === before.deletions) this.change('deletions', del)
      }
    }
    return draft
  }

  private inline(nodes: XmlNode[], draft: Draft, styleStrong: boolean): void {
    for (const node of nodes) {
      const tag = tagOf(node)
      if (tag === undefined) continue
      if (tag === 'r') this.run(node, draft, styleStrong)
      else if (TRANSPARENT_INLINE.has(tag)) {
        if (tag === 'ins') this.change('insertions', node)
        if (tag === 'moveTo') this.change('moves', node)
        this.inline(childrenOf(node), draft, styleStrong)
      } else if (DROPPED_INLINE.has(tag)) {
        if (tag === 'del') this.change('deletions', node)
        // a move counts once, at its destination
      } else if (tag === 'sdt') this.inline(childrenOf(childNamed(node, 'sdtContent') ?? {}), draft, styleStrong)
      else if (tag === 'oMath' || tag === 'oMathPara') this.leave('equation')
      else if (tag === 'commentRangeStart') this.comments.add(attrOf(node, 'id') ?? '')
    }
  }

  private run(r: XmlNode, draft: Draft, styleStrong: boolean): void {
    const rPr = childNamed(r, 'rPr')
    let strong = styleStrong
    if (rPr) {
      if (childNamed(rPr, 'rPrChange')) this.change('formatting', childNamed(rPr, 'rPrChange')!)
      if (isOn(childNamed(rPr, 'vanish'))) {
        if (childrenOf(r).some((c) => tagOf(c) === 't')) this.leave('hidden text')
        return
      }
      const rStyle = childNamed(rPr, 'rStyle')
      const inherited = styleStrong || (!!rStyle && this.styles.strong(attrOf(rStyle, 'val')))
      const b = childNamed(rPr, 'b')
      const u = childNamed(rPr, 'u')
      strong = (b ? isOn(b) : inherited) || (u !== undefined && isOn(u))
    }
    let text = ''
    for (const c of childrenOf(r)) {
      switch (tagOf(c)) {
        case 't':
          text += textOf(c)
          break
        case 'tab':
        case 'ptab':
          text += '\t'
          break
        case 'br':
        case 'cr':
          text += '\n'
          break
        case 'noBreakHyphen':
          text += '-'
          break
        case 'footnoteReference':
        case 'endnoteReference':
          this.leave('footnote')
          break
        case 'commentReference':
          this.comments.add(attrOf(c, 'id') ?? '')
          break
        case 'drawing':
        case 'pict':
        case 'object':
          this.leave('picture')
          break
        case 'AlternateContent':
          this.leave('picture')
          break
        default:
          break // delText, instrText, fldChar, softHyphen, sym, lastRenderedPageBreak …
      }
    }
    if (text) draft.segments.push({ text, strong })
  }

  private table(tbl: XmlNode): Table {
    const rows: Table['rows'] = []
    for (const tr of childrenOf(tbl)) {
      const tag = tagOf(tr)
      if (tag === 'sdt' || tag === 'customXml') {
        // a control around rows: read its rows as the table's own
        const inner = this.table({ tbl: childrenOf(tag === 'sdt' ? (childNamed(tr, 'sdtContent') ?? {}) : tr) })
        rows.push(...inner.rows)
        continue
      }
      if (tag !== 'tr') continue
      const trPr = childNamed(tr, 'trPr')
      const del = trPr && childNamed(trPr, 'del')
      const ins = trPr && childNamed(trPr, 'ins')
      if (del) {
        this.change('deletions', del)
        continue
      }
      if (ins) this.change('insertions', ins)
      const cells: string[] = []
      for (const tc of childrenOf(tr)) {
        const cellTag = tagOf(tc)
        const cellNodes =
          cellTag === 'tc'
            ? [tc]
            : cellTag === 'sdt'
              ? childrenOf(childNamed(tc, 'sdtContent') ?? {}).filter((c) => tagOf(c) === 'tc')
              : []
        for (const cell of cellNodes) cells.push(blocksAsText(this.blocks(childrenOf(cell))))
      }
      rows.push({ cells, header: !!trPr && isOn(childNamed(trPr, 'tblHeader')) })
    }
    return { kind: 'table', rows: rows.filter((r) => r.cells.some((c) => c.trim())) }
  }
}

function finish(d: Draft): Paragraph {
  const text = d.segments.map((s) => s.text).join('')
  const visible = d.segments.filter((s) => s.text.trim())
  const allStrong = visible.length > 0 && visible.every((s) => s.strong)
  const p: Paragraph = { kind: 'paragraph', text, runs: d.segments, allStrong }
  if (d.heading !== undefined) p.heading = d.heading
  if (d.list) p.list = d.list
  return p
}

/**
 * Blocks as plain lines: a paragraph per line, a table row per line with its
 * cells split by tabs. Empty paragraphs inside stay as empty lines (a body
 * "a\n\nb" exported as three paragraphs reads back as itself); at either end
 * they are dropped.
 */
export function blocksAsText(blocks: Block[]): string {
  const lines: string[] = []
  for (const b of blocks) {
    // spaces around a line break inside a paragraph are layout, not text
    if (b.kind === 'paragraph') lines.push(b.text.replace(/ *\n */g, '\n').trim())
    else for (const row of b.rows) lines.push(row.cells.map((c) => c.replace(/\s*\n\s*/g, ' ').trim()).join('\t'))
  }
  return lines.join('\n').replace(/^\n+|\n+$/g, '')
}
