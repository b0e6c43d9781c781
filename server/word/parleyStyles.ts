/**
 * Paragraph styles Parley gives meaning to in a .docx it writes and reads
 * back. The export may put its own notes — a term's state and acceptances,
 * when the file was made — in paragraphs of this style; the term reader
 * leaves such paragraphs out, so an exported sheet parses back into exactly
 * its terms.
 */
export const PARLEY_NOTE_STYLE = { id: 'ParleyNote', name: 'Parley note' } as const
