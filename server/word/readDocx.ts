/**
 * Reads a term sheet out of a .docx: the module the import route and Word
 * drafts build on. `readTermSheet(bytes)` opens the archive from memory
 * (docxArchive.ts: bounded, never touching the filesystem), parses its XML
 * with DTDs and entities refused (wordXml.ts) — the body a slice of
 * paragraphs and tables at a time, yielding to the event loop in between —,
 * reads the body with tracked changes accepted (wordBody.ts) and finds the
 * terms (termSheet.ts, where the layouts it recognises are listed).
 *
 * Anything wrong with the file is a BadDocumentError (400 `bad-document`),
 * whose message is written for the person who uploaded it. The text is not
 * cut to any limit here; `fitTerms` (fitTerms.ts) fits it to a negotiation's.
 */
import type { ParsedTermSheet } from '../../shared/word'
import { BadDocumentError } from './badDocument'
import { DEFAULT_DOCX_BOUNDS, openDocx, type DocxBounds } from './docxArchive'
import { WordBodyReader } from './wordBody'
import { WordNumbering, WordStyles } from './wordStyles'
import { bodySlices, parseBodySlice, parseWordXml, wordXmlText, type SliceBounds } from './wordXml'
import { termsFromBody } from './termSheet'

export { BadDocumentError } from './badDocument'
export { DEFAULT_DOCX_BOUNDS, type DocxBounds } from './docxArchive'
export { fitTerms } from './fitTerms'
export type { ParsedTerm, ParsedTermSheet } from '../../shared/word'

export interface ReadOptions {
  /** how far the archive may unpack (tests lower them) */
  bounds?: DocxBounds
  /** how word/document.xml is cut for parsing (tests lower them) */
  slices?: SliceBounds
}

/**
 * The terms of a Word term sheet: `{terms:[{title, body}], warnings, title?}`.
 * Throws BadDocumentError for anything that is not a readable .docx within
 * the bounds.
 */
export async function readTermSheet(bytes: Uint8Array, opts: ReadOptions = {}): Promise<ParsedTermSheet> {
  const parts = await openDocx(bytes, opts.bounds ?? DEFAULT_DOCX_BOUNDS)
  const part = 'word/document.xml'
  const xml = wordXmlText(parts.document, part)
  const styles = new WordStyles(parts.styles && parseOptional(parts.styles, 'word/styles.xml'))
  const numbering = new WordNumbering(parts.numbering && parseOptional(parts.numbering, 'word/numbering.xml'))
  const reader = new WordBodyReader(styles, numbering)
  // A slice at a time, letting the event loop run between: a large document stalls no one's editing.
  for (const slice of bodySlices(xml, part, opts.slices)) {
    reader.feed(parseBodySlice(slice, part))
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  return termsFromBody(reader.finish())
}

/** A part the reader can do without: a DTD there is still refused, but broken XML only costs its help. */
function parseOptional(bytes: Uint8Array, part: string) {
  try {
    return parseWordXml(bytes, part)
  } catch (err) {
    if (err instanceof BadDocumentError && /DTD/.test(err.message)) throw err
    return undefined
  }
}
