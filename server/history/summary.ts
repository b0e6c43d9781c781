/**
 * One-line human summaries of versions ("Russian Federation accepted 'Equal
 * obligations'", "United States edited 'Response deadline': 30 → 45 days").
 */
import { simpleDiffString } from 'lib0/diff'
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
  /** for a one-term edit: the text when the run began and now */
  before?: TermText
  after?: TermText
  /** the edit only moved cards */
  layoutOnly?: boolean
}

const MAX_SPAN = 48

const quote = (title: string) => `'${clip(title.trim() || 'untitled term', 60)}'`
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s)

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
      return `${who} accepted ${what}`
    case 'agree':
      return `${what} agreed by all parties`
    case 'reject':
      return `${who} rejected ${what}${s.reason ? `: ${clip(s.reason, 80)}` : ''}`
    case 'withdraw':
      return `${who} withdrew ${what}`
    case 'reopen':
      return `${who} reopened ${what}${s.reason ? `: ${clip(s.reason, 80)}` : ''}`
    case 'checkpoint':
      return `${who} marked checkpoint '${clip(s.name ?? '', 60)}'`
    case 'restore':
      return `${who} restored ${what}${s.restoredFrom ? ` to its text at version ${s.restoredFrom}` : ''}`
    case 'edit': {
      if (s.layoutOnly) return `${who} moved ${what}`
      if (s.titles.length === 1 && s.before && s.after) {
        const change = describeChange(s.before, s.after)
        return change ? `${who} edited ${what}: ${change}` : `${who} edited ${what}`
      }
      return `${who} edited ${what}`
    }
  }
}

/** "30 → 45 days": the changed words, widened to whole words, of the body (or the title). */
export function describeChange(before: TermText, after: TermText): string | null {
  const field = before.body !== after.body ? 'body' : before.title !== after.title ? 'title' : null
  if (!field) return null
  const a = before[field]
  const b = after[field]
  const d = simpleDiffString(a, b)
  let start = d.index
  while (start > 0 && !/\s/.test(a[start - 1]!)) start--
  let endA = d.index + d.remove
  let endB = d.index + d.insert.length
  // widen both ends over the rest of the word they cut into
  while (endA < a.length && !/\s/.test(a[endA]!)) endA++
  while (endB < b.length && !/\s/.test(b[endB]!)) endB++
  const removed = a.slice(start, endA).trim()
  const inserted = b.slice(start, endB).trim()
  if (!removed && !inserted) return null
  if (!removed) return `added “${clip(inserted, MAX_SPAN)}”`
  if (!inserted) return `removed “${clip(removed, MAX_SPAN)}”`
  return `${clip(removed, MAX_SPAN)} → ${clip(inserted, MAX_SPAN)}`
}
