/**
 * A small reader of the Word files Parley writes, for tests: the paragraphs
 * of word/document.xml with every stretch of text and its revision (w:ins,
 * w:del, or both nested), the paragraph marks' revisions, and the comments of
 * word/comments.xml — and "Accept all" / "Reject all" done as Word does them,
 * so a test can check that they give the two ends of a redline.
 *
 * It reads only what the writer (server/word/docxWriter.ts) puts in: runs
 * of w:t, w:delText, w:tab and w:br, in paragraphs, in w:ins / w:del.
 */
import JSZip from 'jszip'
import { XMLParser } from 'fast-xml-parser'

export interface Revision {
  id: string
  author: string
  date?: string
}

export interface Piece {
  text: string
  ins?: Revision
  del?: Revision
}

export interface DocxParagraph {
  style: string | null
  pieces: Piece[]
  mark: { ins?: Revision; del?: Revision }
}

export interface DocxComment {
  id: string
  author: string
  date?: string
  text: string
}

export interface DocxContents {
  paragraphs: DocxParagraph[]
  comments: DocxComment[]
  /** comment ids in the order their ranges start in the document */
  commentRanges: string[]
  /** the raw parts, for checks by pattern */
  documentXml: string
  commentsXml: string
  settingsXml: string
}

type Node = Record<string, unknown>

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
})

const tagOf = (n: Node) => Object.keys(n).find((k) => k !== ':@')!
const kids = (n: Node) => (n[tagOf(n)] as Node[]) ?? []
const attrs = (n: Node) => (n[':@'] as Record<string, string> | undefined) ?? {}
const textOf = (n: Node): string =>
  kids(n)
    .map((k) => (tagOf(k) === '#text' ? String(k['#text']) : ''))
    .join('')
const child = (n: Node, tag: string) => kids(n).find((k) => tagOf(k) === tag)
const rev = (n: Node): Revision => {
  const a = attrs(n)
  return { id: a['w:id']!, author: a['w:author']!, ...(a['w:date'] !== undefined ? { date: a['w:date'] } : {}) }
}

function runText(r: Node): string {
  let s = ''
  for (const k of kids(r)) {
    const tag = tagOf(k)
    if (tag === 'w:t' || tag === 'w:delText') s += textOf(k)
    else if (tag === 'w:tab') s += '\t'
    else if (tag === 'w:br' || tag === 'w:cr') s += '\n'
  }
  return s
}

function pieces(nodes: Node[], outer: { ins?: Revision; del?: Revision }, out: Piece[], ranges: string[]): void {
  for (const k of nodes) {
    const tag = tagOf(k)
    if (tag === 'w:r') {
      const text = runText(k)
      if (text) out.push({ text, ...outer })
    } else if (tag === 'w:ins') pieces(kids(k), { ...outer, ins: rev(k) }, out, ranges)
    else if (tag === 'w:del') pieces(kids(k), { ...outer, del: rev(k) }, out, ranges)
    else if (tag === 'w:commentRangeStart') ranges.push(attrs(k)['w:id']!)
  }
}

export async function readDocx(bytes: Uint8Array | ArrayBuffer): Promise<DocxContents> {
  const zip = await JSZip.loadAsync(bytes)
  const part = async (name: string) => (await zip.file(name)?.async('string')) ?? ''
  const [documentXml, commentsXml, settingsXml] = await Promise.all([
    part('word/document.xml'),
    part('word/comments.xml'),
    part('word/settings.xml'),
  ])
  const doc = parser.parse(documentXml) as Node[]
  const root = doc.find((n) => tagOf(n) === 'w:document')!
  const body = child(root, 'w:body')!
  const paragraphs: DocxParagraph[] = []
  const commentRanges: string[] = []
  for (const p of kids(body)) {
    if (tagOf(p) !== 'w:p') continue
    const pPr = child(p, 'w:pPr')
    const style = pPr && child(pPr, 'w:pStyle') ? attrs(child(pPr, 'w:pStyle')!)['w:val']! : null
    const rPr = pPr && child(pPr, 'w:rPr')
    const mark: DocxParagraph['mark'] = {}
    if (rPr && child(rPr, 'w:ins')) mark.ins = rev(child(rPr, 'w:ins')!)
    if (rPr && child(rPr, 'w:del')) mark.del = rev(child(rPr, 'w:del')!)
    const out: Piece[] = []
    pieces(kids(p), {}, out, commentRanges)
    paragraphs.push({ style, pieces: out, mark })
  }
  const comments: DocxComment[] = []
  if (commentsXml) {
    const c = (parser.parse(commentsXml) as Node[]).find((n) => tagOf(n) === 'w:comments')
    for (const k of c ? kids(c) : []) {
      if (tagOf(k) !== 'w:comment') continue
      const a = attrs(k)
      const text = kids(k)
        .filter((p) => tagOf(p) === 'w:p')
        .map((p) => {
          const out: Piece[] = []
          pieces(kids(p), {}, out, [])
          return out.map((x) => x.text).join('')
        })
        .join('\n')
      comments.push({ id: a['w:id']!, author: a['w:author']!, ...(a['w:date'] ? { date: a['w:date'] } : {}), text })
    }
  }
  return { paragraphs, comments, commentRanges, documentXml, commentsXml, settingsXml }
}

/** Every revision of the text, in document order (paragraph marks left out). */
export const revisions = (d: DocxContents): Array<Piece & { kind: 'ins' | 'del' | 'ins+del' }> =>
  d.paragraphs.flatMap((p) =>
    p.pieces
      .filter((x) => x.ins || x.del)
      .map((x) => ({ ...x, kind: x.ins && x.del ? ('ins+del' as const) : x.ins ? ('ins' as const) : ('del' as const) })),
  )

/**
 * The document as Word shows it after "Accept all" (or "Reject all"): deleted text gone (or inserted
 * text gone), and each paragraph whose mark goes joined to the next one, which keeps its properties.
 */
export function resolveAll(d: DocxContents, how: 'accept' | 'reject'): Array<{ style: string | null; text: string }> {
  const goes = (x: { ins?: Revision; del?: Revision }) => (how === 'accept' ? !!x.del : !!x.ins)
  const out: Array<{ style: string | null; text: string }> = []
  let carried = ''
  for (const p of d.paragraphs) {
    const text =
      carried +
      p.pieces
        .filter((x) => !goes(x))
        .map((x) => x.text)
        .join('')
    if (goes(p.mark)) carried = text
    else {
      out.push({ style: p.style, text })
      carried = ''
    }
  }
  return out
}

/** Terms read back: a Heading1 paragraph per term ("§n " left out), notes (its state line) skipped, the rest its body, line by line. */
export function termsOf(paragraphs: Array<{ style: string | null; text: string }>): Array<{ title: string; body: string }> {
  const terms: Array<{ title: string; lines: string[] }> = []
  for (const p of paragraphs) {
    if (p.style === 'Heading1') terms.push({ title: p.text.replace(/^§\d+ /, ''), lines: [] })
    else if (p.style === 'Title' || p.style === 'ParleyNote') continue
    else terms.at(-1)?.lines.push(p.text)
  }
  return terms.map((t) => ({ title: t.title, body: t.lines.join('\n') }))
}

/** Each term's state line: the note right under its heading. */
export const stateLines = (d: DocxContents): string[] =>
  d.paragraphs.flatMap((p, i) =>
    d.paragraphs[i - 1]?.style === 'Heading1' && p.style === 'ParleyNote' ? [p.pieces.map((x) => x.text).join('')] : [],
  )

/** The document as it reads with its revisions left as they are shown (both kinds of text), for eyeballing. */
export const shownText = (d: DocxContents) => d.paragraphs.map((p) => p.pieces.map((x) => x.text).join('')).join('\n')
