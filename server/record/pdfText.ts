/**
 * Paragraphs of any script on a pdfkit page: the Unicode Bidirectional
 * Algorithm (bidi-js) for direction, fontkit (inside pdfkit) for shaping, and
 * line breaking of our own, because pdfkit does neither bidi nor right-to-left
 * lines.
 *
 * How it fits together:
 *  - a paragraph's levels come from bidi-js; its lines are broken greedily at
 *    spaces in logical order (a word wider than the line is cut between code
 *    points), then each line is reordered for display (rules L1–L2);
 *  - a line is drawn as pieces — runs of one level and one font, spaces left
 *    out as gaps — each at its own x, so pdfkit never wraps or reorders;
 *  - Arabic-script characters are set in the Arabic font, everything else in
 *    the Latin/Cyrillic/Greek one (marks and joiners stay with the character
 *    before them, so a word is never split between fonts by them);
 *  - fontkit shapes an Arabic run (contextual forms, lam-alef) and, when the
 *    run holds a character of a right-to-left script, hands the glyphs back
 *    reversed: such a right-to-left piece is therefore given in logical order
 *    (so it is shaped right). Any other right-to-left piece (neutrals such as
 *    "?!" between Arabic words) is reversed here, by code point, and so is a
 *    left-to-right one fontkit would reverse (Arabic-Indic digits, which sit
 *    at an even level). Mirrored characters are swapped at odd levels (L4);
 *  - a paragraph whose base direction is right-to-left is set flush right.
 *
 * pdfkit lays a string out word by word when no OpenType features are asked
 * for, each word shaped apart: pieces never hold a space, so that never
 * changes what a piece looks like.
 *
 * Copying text out: pdfkit maps each glyph to one text (ToUnicode), and Noto
 * Sans Arabic draws some dotted letters as a dotless base and its dots, so a
 * reader may copy ذ as د where both occur; what is drawn is right. (ActualText
 * spans would fix the letters, but poppler then reverses the words.)
 */
import bidiFactory from 'bidi-js'
import type PDFDocument from 'pdfkit'

const bidi = bidiFactory()

/** The registered pdfkit font names: a Latin/Cyrillic/Greek face and an Arabic one, each regular and bold. */
export interface FontFaces {
  regular: string
  bold: string
  arabic: string
  arabicBold: string
}

export interface TextStyle {
  size: number
  bold?: boolean
  color?: string
  /** line height as a multiple of the size (default 1.5: Arabic marks reach far above and below) */
  leading?: number
}

/** The part of a PDFKit document this module uses. */
type Doc = InstanceType<typeof PDFDocument>

interface Piece {
  text: string
  font: string
  width: number
}

interface Line {
  /** visual order, left to right; null is a space */
  pieces: Array<Piece | null>
  width: number
}

const ARABIC = /[\u0600-\u06FF\u0750-\u077F\u0870-\u089F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]/
/** Characters of the scripts fontkit sets right to left (its run direction follows the run's script). */
const RTL_SCRIPT =
  /[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}]/u
/** Marks, joiners and format characters: they belong with the character before them. */
const CLINGING = /[\p{Mn}\p{Me}\p{Cf}]/u
const SPACE = /[ \t\u00A0\u2000-\u200A\u202F\u205F\u3000]/

export class PdfText {
  constructor(
    private readonly doc: Doc,
    private readonly faces: FontFaces,
  ) {}

  /**
   * Sets `text` (paragraphs split at "\n") from `left`, `width` points wide, starting at the
   * document's y; moves y below it, adding pages as they fill.
   */
  paragraphs(text: string, style: TextStyle, left: number, width: number): void {
    for (const para of text.replace(/\r\n?/g, '\n').split('\n')) this.paragraph(para, style, left, width)
  }

  private paragraph(text: string, style: TextStyle, left: number, width: number): void {
    const lineHeight = style.size * (style.leading ?? 1.5)
    if (text.trim() === '') {
      this.room(lineHeight)
      this.doc.y += lineHeight
      return
    }
    const levels = bidi.getEmbeddingLevels(text)
    const rtl = (levels.paragraphs[0]?.level ?? 0) % 2 === 1
    const fonts = this.fontsOf(text, style)
    for (const [start, end] of this.breakLines(text, fonts, style, width)) {
      const line = this.lineOf(text, fonts, levels, start, end, style)
      this.room(lineHeight)
      // pdfkit moves y below each piece it draws: the line's top is kept to step from it, once per line.
      const top = this.doc.y
      const baseline = top + style.size * 1.15
      let x = rtl ? left + width - line.width : left
      const space = this.spaceWidth(style)
      this.doc.fillColor(style.color ?? '#000')
      for (const p of line.pieces) {
        if (!p) {
          x += space
          continue
        }
        this.doc.font(p.font).fontSize(style.size).text(p.text, x, baseline, { lineBreak: false, baseline: 'alphabetic' })
        x += p.width
      }
      this.doc.y = top + lineHeight
    }
    this.doc.x = left
  }

  /** A new page when `height` more does not fit on this one. */
  private room(height: number): void {
    const bottom = this.doc.page.height - this.doc.page.margins.bottom
    if (this.doc.y + height > bottom) {
      this.doc.addPage()
      this.doc.y = this.doc.page.margins.top
    }
  }

  /** The font of each UTF-16 unit of `text` (a surrogate pair's two units get the same). */
  private fontsOf(text: string, style: TextStyle): string[] {
    const latin = style.bold ? this.faces.bold : this.faces.regular
    const arabic = style.bold ? this.faces.arabicBold : this.faces.arabic
    const fonts: string[] = []
    for (const ch of text) {
      const previous = fonts.at(-1)
      const font = previous && CLINGING.test(ch) ? previous : ARABIC.test(ch) ? arabic : latin
      for (let k = 0; k < ch.length; k++) fonts.push(font)
    }
    return fonts
  }

  private measure(s: string, font: string, style: TextStyle): number {
    return this.doc.font(font).fontSize(style.size).widthOfString(s)
  }

  private spaceWidth(style: TextStyle): number {
    return this.measure(' ', style.bold ? this.faces.bold : this.faces.regular, style)
  }

  /** Width of a logical stretch of text, set run by run in its fonts. */
  private widthOf(text: string, fonts: string[], start: number, end: number, style: TextStyle): number {
    let width = 0
    let runStart = start
    for (let i = start + 1; i <= end; i++) {
      if (i < end && fonts[i] === fonts[runStart]) continue
      width += this.measure(text.slice(runStart, i), fonts[runStart]!, style)
      runStart = i
    }
    return width
  }

  /** Lines as [start, end) of `text`, broken at spaces; a word wider than a line is cut between code points. */
  private breakLines(text: string, fonts: string[], style: TextStyle, width: number): Array<[number, number]> {
    const words: Array<[number, number]> = []
    const re = /[^ \t\u00A0\u2000-\u200A\u202F\u205F\u3000]+/g
    for (let m = re.exec(text); m; m = re.exec(text))
      words.push(...this.cutWord(text, fonts, m.index, m.index + m[0].length, style, width))
    const space = this.spaceWidth(style)
    const lines: Array<[number, number]> = []
    let current: [number, number] | null = null
    let used = 0
    for (const [s, e] of words) {
      const w = this.widthOf(text, fonts, s, e, style)
      if (current && used + space + w <= width) {
        current[1] = e
        used += space + w
      } else {
        if (current) lines.push(current)
        current = [s, e]
        used = w
      }
    }
    if (current) lines.push(current)
    return lines
  }

  private cutWord(
    text: string,
    fonts: string[],
    start: number,
    end: number,
    style: TextStyle,
    width: number,
  ): Array<[number, number]> {
    if (this.widthOf(text, fonts, start, end, style) <= width) return [[start, end]]
    const out: Array<[number, number]> = []
    let s = start
    let i = start
    while (i < end) {
      const next = i + (text.codePointAt(i)! > 0xffff ? 2 : 1)
      if (i > s && this.widthOf(text, fonts, s, next, style) > width) {
        out.push([s, i])
        s = i
      }
      i = next
    }
    out.push([s, end])
    return out
  }

  /** One line, reordered for display and cut into pieces (see the module comment). */
  private lineOf(
    text: string,
    fonts: string[],
    levels: ReturnType<typeof bidi.getEmbeddingLevels>,
    start: number,
    end: number,
    style: TextStyle,
  ): Line {
    const visual = bidi.getReorderedIndices(text, levels, start, end - 1).slice(start, end)
    const mirrored = bidi.getMirroredCharactersMap(text, levels.levels, start, end - 1)
    const pieces: Array<Piece | null> = []
    let run: { from: number; to: number; level: number; font: string; last: number } | null = null
    const flush = () => {
      if (!run) return
      pieces.push(this.piece(text, run.from, run.to, run.level, run.font, mirrored, style))
      run = null
    }
    for (const i of visual) {
      if (SPACE.test(text[i]!)) {
        flush()
        if (pieces.at(-1) !== null) pieces.push(null)
        continue
      }
      const level = levels.levels[i]!
      const font = fonts[i]!
      const step = level % 2 === 1 ? -1 : 1
      if (run && run.level === level && run.font === font && i === run.last + step) {
        run.from = Math.min(run.from, i)
        run.to = Math.max(run.to, i + 1)
        run.last = i
      } else {
        flush()
        run = { from: i, to: i + 1, level, font, last: i }
      }
    }
    flush()
    while (pieces.at(-1) === null) pieces.pop()
    while (pieces[0] === null) pieces.shift()
    const space = this.spaceWidth(style)
    const width = pieces.reduce((w, p) => w + (p ? p.width : space), 0)
    return { pieces, width }
  }

  private piece(
    text: string,
    from: number,
    to: number,
    level: number,
    font: string,
    mirrored: Map<number, string>,
    style: TextStyle,
  ): Piece {
    let logical = ''
    for (let i = from; i < to; i++) logical += mirrored.get(i) ?? text[i]
    // fontkit hands back a run holding a right-to-left script's character (Arabic-Indic digits
    // included) reversed; the piece must come out in visual order whatever its level.
    const reversedByFontkit = RTL_SCRIPT.test(logical)
    const shown = (level % 2 === 1) !== reversedByFontkit ? Array.from(logical).reverse().join('') : logical
    return { text: shown, font, width: this.measure(shown, font, style) }
  }
}
