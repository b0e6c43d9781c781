/**
 * One-line human summaries of versions ("Russian Federation accepted 'Equal
 * obligations'", "United States edited 'Response deadline': 30 → 45 days").
 */
import { describeChange } from '../../shared/describeChange'
import type { CommentAction } from '../../shared/moveMeta'
import type { VersionKind } from '../../shared/schemas'
import type { TermText } from '../../shared/negotiation'

export interface SummaryInput {
  kind: VersionKind
  partyName: string | null
  /** term titles, in the order of the version's termIds */
  titles: string[]
  name?: string
  reason?: string
  restoredFrom?: number
  /** for a one-term edit: the text when the run began and now (without pending suggestions) */
  before?: TermText
  after?: TermText
  /** the same with every pending suggestion accepted, when either holds one: a run that only suggested reads as such */
  proposedBefore?: TermText
  proposedAfter?: TermText
  /** the edit only moved cards */
  layoutOnly?: boolean
  /** the server put back terms that were removed by someone who may not withdraw them */
  putBack?: boolean
  /** every term of the edit is gone from the board */
  removed?: boolean
  /** a reopen caused by editing the agreed text (not the `term:reopen` command) */
  byEdit?: boolean
  /** for comment and resolve versions */
  commentAction?: CommentAction
  /** an accept subject to confirmation by a principal */
  adReferendum?: { principal: string; until?: string }
  /** for choose: the option chosen */
  chose?: string
  /** for package-accept, initial, conclude */
  packageHash?: string
}

const COMMENT_WORDS: Record<CommentAction, string> = {
  add: 'commented on',
  reply: 'replied on',
  edit: 'edited a comment on',
  delete: 'deleted a comment on',
  resolve: 'resolved a thread on',
  reopen: 'reopened a thread on',
}

import { clip } from '../../shared/describeChange'

const quote = (title: string) => `'${clip(title.trim() || 'untitled term', 60)}'`

function listTitles(titles: string[]): string {
  if (titles.length === 0) return 'the board'
  if (titles.length <= 2) return titles.map(quote).join(' and ')
  return `${quote(titles[0]!)}, ${quote(titles[1]!)} and ${titles.length - 2} more`
}

export function summarize(s: SummaryInput): string {
  const who = s.partyName ?? 'The opening draft'
  const what = listTitles(s.titles)
  switch (s.kind) {
    case 'propose':
      return s.partyName ? `${who} proposed ${what}` : `${what} is in the opening draft`
    case 'accept':
      if (s.adReferendum)
        return `${who} accepted ${what} ad referendum, subject to ${clip(s.adReferendum.principal, 60)}${s.adReferendum.until ? ` by ${s.adReferendum.until}` : ''}`
      return `${who} accepted ${what}`
    case 'confirm':
      return `${who} confirmed its acceptance of ${what}`
    case 'choose':
      return `${who} chose ${s.chose !== undefined ? `'${clip(s.chose, 60)}'` : 'an option'} in ${what}`
    case 'package-accept':
      return `${who} accepted the package${s.packageHash ? ` ${s.packageHash.slice(0, 12)}` : ''}`
    case 'initial':
      return `${who} initialled the package${s.packageHash ? ` ${s.packageHash.slice(0, 12)}` : ''}`
    case 'conclude':
      return `The negotiation is concluded${s.packageHash ? `: package ${s.packageHash.slice(0, 12)}` : ''}`
    case 'agree':
      return `${what} agreed by all parties`
    case 'reject':
      return `${who} rejected ${what}${s.reason ? `: ${clip(s.reason, 80)}` : ''}`
    case 'withdraw':
      return `${who} withdrew ${what}`
    case 'reopen':
      if (s.byEdit) return `${who} reopened ${what} by editing its agreed text`
      return `${who} reopened ${what}${s.reason ? `: ${clip(s.reason, 80)}` : ''}`
    case 'checkpoint':
      return `${who} marked checkpoint '${clip(s.name ?? '', 60)}'`
    case 'restore':
      return `${who} restored ${what}${s.restoredFrom ? ` to its text at version ${s.restoredFrom}` : ''}`
    case 'suggestion-accept':
      return `${who} accepted a suggestion in ${what}`
    case 'suggestion-reject':
      return `${who} rejected a suggestion in ${what}`
    case 'comment':
    case 'resolve':
      return `${who} ${COMMENT_WORDS[s.commentAction ?? (s.kind === 'resolve' ? 'resolve' : 'add')]} ${what}`
    case 'edit': {
      if (s.putBack) return `${what} put back on the board: removing it was not a withdrawal`
      if (s.titles.length === 0) return `${who} edited the board`
      if (s.removed) return `${who} removed ${what} from the board`
      if (s.layoutOnly) return `${who} moved ${what}`
      if (s.titles.length === 1 && s.before && s.after) {
        const change = describeChange(s.before, s.after)
        if (change) return `${who} edited ${what}: ${change}`
        // The text itself is as it was: what changed is what is suggested for it.
        const suggested = s.proposedBefore && s.proposedAfter ? describeChange(s.proposedBefore, s.proposedAfter) : null
        return suggested ? `${who} suggested a change to ${what}: ${suggested}` : `${who} edited ${what}`
      }
      return `${who} edited ${what}`
    }
  }
}

export { describeChange }
