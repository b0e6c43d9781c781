/**
 * Word documents on the wire (CONTRACT.md "Word documents"): the upload bound,
 * the content types, and what `POST /api/terms/parse` answers. Server and
 * client read the same numbers, so the client can refuse a file before it
 * uploads ten megabytes to hear 413.
 */

/** A Word file in a request body may be at most this long (413 beyond). */
export const MAX_WORD_FILE_BYTES = 10 * 1024 * 1024

/** The registered media type of a .docx. */
export const DOCX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'

/** Content types a Word upload may carry; browsers send `''` for a file whose type they do not know. */
export const WORD_UPLOAD_CONTENT_TYPES: readonly string[] = [DOCX_CONTENT_TYPE, 'application/octet-stream']

export interface ParsedTerm {
  title: string
  body: string
}

/** The answer of `POST /api/terms/parse`. */
export interface ParsedTermSheet {
  terms: ParsedTerm[]
  /** what the reader did that a reviewer should know: tracked changes read as accepted, text left out or cut, guesses made */
  warnings: string[]
  /** the document's title (its first Title-styled paragraph), when it has one: a suggestion for the negotiation's title */
  title?: string
}
