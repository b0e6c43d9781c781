/**
 * The XML of a .docx part, parsed without trusting it. WordprocessingML has
 * no use for a DTD, so a part that declares one (`<!DOCTYPE`) or an entity
 * (`<!ENTITY`) is refused before parsing: nothing is expanded (no billion
 * laughs) and nothing is fetched (no external entity). fast-xml-parser runs
 * with entity processing off; the five predefined entities and character
 * references are decoded here, one character each, so no input grows.
 *
 * Namespace prefixes are dropped (`w:p` → `p`): Word writes `w:`, but any
 * prefix may be bound to the namespace, and the reader only descends into
 * WordprocessingML elements, where the local names are unambiguous. Only the
 * attributes the reader uses are kept, and subtrees it never reads (drawings,
 * section and table geometry) are kept as raw text, not parsed into objects.
 */
import { XMLParser } from 'fast-xml-parser'
import { BadDocumentError } from './badDocument'

/** A node of fast-xml-parser's `preserveOrder` output: `{tag: children, ':@'?: attrs}` or `{'#text': text}`. */
export type XmlNode = Record<string, unknown>

const KEPT_ATTRIBUTES = new Set(['val', 'author', 'styleId', 'type', 'numId', 'abstractNumId', 'ilvl', 'id', 'default'])

/** Elements whose content the reader never looks into. */
const UNREAD = [
  'drawing',
  'pict',
  'object',
  'AlternateContent',
  'sectPr',
  'tblGrid',
  'tblPr',
  'tcPr',
  'rFonts',
  'instrText',
  'txbxContent',
]

const parser = new XMLParser({
  preserveOrder: true,
  removeNSPrefix: true,
  attributeNamePrefix: '',
  ignoreAttributes: (name: string) => !KEPT_ATTRIBUTES.has(name),
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  stopNodes: UNREAD.map((n) => `*.${n}`),
  maxNestedTags: 128,
})

/** Bytes of an XML part as text: UTF-8 unless a byte-order mark or the first bytes say UTF-16. */
export function decodeXmlBytes(bytes: Uint8Array): string {
  const [a, b] = bytes
  const le = (a === 0xff && b === 0xfe) || (a === 0x3c && b === 0x00)
  const be = (a === 0xfe && b === 0xff) || (a === 0x00 && b === 0x3c)
  return new TextDecoder(le ? 'utf-16le' : be ? 'utf-16be' : 'utf-8').decode(bytes)
}

/**
 * A part's text, refused (BadDocumentError) if it declares a DTD or an
 * entity. `part` names it in refusals ("word/document.xml declares …").
 */
export function wordXmlText(bytes: Uint8Array, part: string): string {
  const xml = decodeXmlBytes(bytes)
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml))
    throw new BadDocumentError(
      `not a Word document: ${part} declares a DTD or entities, which Word never writes; it was not read`,
    )
  return xml
}

function parseXml(xml: string, part: string): XmlNode[] {
  try {
    return parser.parse(xml) as XmlNode[]
  } catch (err) {
    throw new BadDocumentError(`not a Word document: ${part} is not well-formed XML (${(err as Error).message})`)
  }
}

/** Parses one whole part (styles, numbering: small ones). Throws BadDocumentError for a DTD, an entity declaration, or XML the parser gives up on. */
export function parseWordXml(bytes: Uint8Array, part: string): XmlNode[] {
  return parseXml(wordXmlText(bytes, part), part)
}

/** Parses a run of body children (a slice of `bodySlices`) into their nodes. */
export function parseBodySlice(slice: string, part: string): XmlNode[] {
  const root = rootNamed(parseXml(`<body>${slice}</body>`, part), 'body')
  return root ? childrenOf(root) : []
}

export interface SliceBounds {
  /** a slice gathers body children until it is at least this long */
  slice: number
  /** a single body child (a paragraph, a table) may be at most this long */
  element: number
}

export const DEFAULT_SLICE_BOUNDS: SliceBounds = { slice: 64 * 1024, element: 4 * 1024 * 1024 }

/**
 * The children of a document's `<w:body>`, as XML text in slices of whole
 * elements, for parsing one slice at a time: the object tree of a large
 * document never exists at once, and the caller can let the event loop run
 * between slices. A light scan, not a parser: it follows tags, comments,
 * CDATA and quoted attribute values to find where each top-level child ends.
 * Throws BadDocumentError when the root is not a `document`, there is no
 * body, the body never ends, or one child is longer than `bounds.element`.
 */
export function* bodySlices(xml: string, part: string, bounds: SliceBounds = DEFAULT_SLICE_BOUNDS): Generator<string> {
  const broken = (why: string) => new BadDocumentError(`not a Word document: ${part} ${why}`)
  const root = /<(?![?!])([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)/.exec(xml)
  if (!root || root[2] !== 'document') throw broken('has no document body')
  const open = /<([A-Za-z_][\w.-]*:)?body(?=[\s/>])/g
  open.lastIndex = root.index
  const body = open.exec(xml)
  if (!body) throw broken('has no document body')
  let pos = tagEnd(xml, body.index, broken) + 1
  if (xml[pos - 2] === '/') return // <w:body/>
  let depth = 0
  let sliceStart = pos
  let elementStart = pos
  const tooLong = () =>
    new BadDocumentError(
      `${part} holds a paragraph or table over ${bounds.element / 1024 / 1024} MiB, more than a term sheet has`,
    )
  const skip = (close: string, from: number) => {
    const j = xml.indexOf(close, from)
    if (j < 0) throw broken('ends inside a comment or CDATA section')
    return j + close.length
  }
  for (;;) {
    const i = xml.indexOf('<', pos)
    if (i < 0) throw broken('ends before its body does')
    let closed = false
    if (xml.startsWith('<!--', i)) pos = skip('-->', i + 4)
    else if (xml.startsWith('<![CDATA[', i)) pos = skip(']]>', i + 9)
    else if (xml.startsWith('<?', i)) pos = skip('?>', i + 2)
    else if (xml[i + 1] === '!') throw broken('holds a declaration Word never writes')
    else if (xml[i + 1] === '/') {
      const end = xml.indexOf('>', i)
      if (end < 0) throw broken('ends inside a tag')
      if (depth === 0) {
        // </w:body>
        if (xml.slice(sliceStart, i).trim()) yield xml.slice(sliceStart, i)
        return
      }
      depth--
      pos = end + 1
      closed = depth === 0
    } else {
      const end = tagEnd(xml, i, broken)
      if (depth === 0) elementStart = i
      pos = end + 1
      if (xml[end - 1] !== '/') depth++
      else closed = depth === 0
    }
    if (closed) {
      // a body child ended at pos
      if (pos - elementStart > bounds.element) throw tooLong()
      if (pos - sliceStart >= bounds.slice) {
        yield xml.slice(sliceStart, pos)
        sliceStart = pos
      }
    } else if (depth > 0 && pos - elementStart > bounds.element) throw tooLong()
  }
}

/** Where the tag opened at `at` ends (its `>`), past quoted attribute values. */
function tagEnd(xml: string, at: number, broken: (why: string) => Error): number {
  for (let k = at + 1; k < xml.length; k++) {
    const c = xml.charCodeAt(k)
    if (c === 0x22 || c === 0x27) {
      k = xml.indexOf(c === 0x22 ? '"' : "'", k + 1)
      if (k < 0) break
    } else if (c === 0x3e) return k
  }
  throw broken('ends inside a tag')
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** Decodes the predefined entities and character references; anything else is left as written. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED[ref]!
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
    // XML's Char production: no NUL or other C0 controls but tab and line breaks, no surrogates
    const allowed =
      code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0x10ffff)
    return allowed && code !== 0xfffe && code !== 0xffff ? String.fromCodePoint(code) : whole
  })
}

/** The element name of a node, or undefined for a text node. */
export function tagOf(node: XmlNode): string | undefined {
  for (const k in node) if (k !== ':@' && k !== '#text') return k
  return undefined
}

/** Child nodes of an element node. */
export function childrenOf(node: XmlNode): XmlNode[] {
  const tag = tagOf(node)
  const kids = tag === undefined ? undefined : node[tag]
  return Array.isArray(kids) ? (kids as XmlNode[]) : []
}

/** An attribute of an element node (local name, entity-decoded). */
export function attrOf(node: XmlNode, name: string): string | undefined {
  const attrs = node[':@'] as Record<string, unknown> | undefined
  const v = attrs?.[name]
  return typeof v === 'string' ? decodeEntities(v) : undefined
}

/** The first child element named `tag`. */
export function childNamed(node: XmlNode, tag: string): XmlNode | undefined {
  return childrenOf(node).find((c) => tagOf(c) === tag)
}

/** The first element named `tag` at the top of a parsed part (its root). */
export function rootNamed(nodes: XmlNode[], tag: string): XmlNode | undefined {
  return nodes.find((n) => tagOf(n) === tag)
}

/** Concatenated text children of an element (entity-decoded). */
export function textOf(node: XmlNode): string {
  let out = ''
  for (const c of childrenOf(node)) if (typeof c['#text'] === 'string') out += c['#text']
  return decodeEntities(out)
}

/** An on/off property (`<w:b/>`, `<w:b w:val="false"/>`): on unless its val says off. */
export function isOn(node: XmlNode | undefined): boolean {
  if (!node) return false
  const v = attrOf(node, 'val')
  return v === undefined || !['0', 'false', 'off', 'none'].includes(v)
}
