/**
 * The answer of `POST /api/negotiations/:id/drafts` (CONTRACT.md "Word
 * documents": a Word draft of the sheet whose differences become the
 * caller's suggestions). `suggested`, `added` and `unmatched` are the
 * contract's; the other fields are additive: what else the uploader needs to
 * know so that nothing in the file is passed over without a word.
 */

/** Why a term (or part of its changes) was left as it was. */
export type DraftSkipReason =
  /** the term is agreed: its text is settled, reopen it first */
  | 'agreed'
  /** a change touches another delegation's pending suggestion: decide that first */
  | 'conflict'
  /** the draft's text is longer than a term may be */
  | 'too-long'

export interface DraftSkip {
  termId: string
  title: string
  reason: DraftSkipReason
  /** for the uploader: what was left out, and what to do */
  message: string
}

export interface DraftAnswer {
  ok: true
  /** board terms that now carry new suggestions of the caller (their edits, or the removal of their whole text) */
  suggested: string[]
  /** the draft's terms that matched none on the board, now proposed by the caller's delegation */
  added: string[]
  /** titles of the draft's terms that match none on the board and could not be added (see `warnings`) */
  unmatched: string[]
  /** board terms the draft no longer has: their whole title and text are suggested for removal (also in `suggested`) */
  removed: string[]
  /** terms left as they were, wholly or in part, and why */
  skipped: DraftSkip[]
  /** what reading the file noticed (tracked changes read as accepted, text left out) and why terms went unmatched */
  warnings: string[]
  /** the title of every term named above, as the board (or the draft, for added ones) has it */
  titles: Record<string, string>
}
