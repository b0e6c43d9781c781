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
 * Parses one part. `part` names it in refusals ("word/document.xml declares a
 * DTD …"). Throws BadDocumentError for a DTD, an entity declaration, or XML
 * the parser gives up on.
 */
export function parseWordXml(bytes: Uint8Array, part: string): XmlNode[] {
  const xml = decodeXmlBytes(bytes)
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml))
    throw new BadDocumentError(
      `not a Word document: ${part} declares a DTD or entities, which Word never writes; it was not read`,
    )
  try {
    return parser.parse(xml) as XmlNode[]
  } catch (err) {
    throw new BadDocumentError(`not a Word document: ${part} is not well-formed XML (${(err as Error).message})`)
  }
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
