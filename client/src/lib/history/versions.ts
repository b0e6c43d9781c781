/** Versions on screen, in the History panel and the replay alike: their kinds, times and the merged list. */
import type { Version, VersionKind } from '../../../../shared/schemas'
import { ApiError } from '../api/http'
import type { IconName } from '../design/icons'
import { formatDateTime } from '../i18n/format'

export const KIND: Record<VersionKind, { icon: IconName; label: string }> = {
  propose: { icon: 'plus', label: 'Proposed' },
  edit: { icon: 'pen', label: 'Edited' },
  accept: { icon: 'check', label: 'Accepted' },
  reject: { icon: 'reject', label: 'Rejected' },
  withdraw: { icon: 'withdraw', label: 'Withdrew' },
  reopen: { icon: 'reopen', label: 'Reopened' },
  agree: { icon: 'lock', label: 'Agreed' },
  checkpoint: { icon: 'bookmark', label: 'Checkpoint' },
  restore: { icon: 'history', label: 'Restored' },
  comment: { icon: 'note', label: 'Commented' },
  resolve: { icon: 'check', label: 'Resolved' },
  'suggestion-accept': { icon: 'check', label: 'Suggestion accepted' },
  'suggestion-reject': { icon: 'reject', label: 'Suggestion rejected' },
  /** a bracketed group settled on one of its options (term:choose) */
  choose: { icon: 'brackets', label: 'Chose an option' },
  /** an acceptance ad referendum confirmed by the party's principal */
  confirm: { icon: 'checkCircle', label: 'Confirmed' },
  'package-accept': { icon: 'package', label: 'Accepted the package' },
  initial: { icon: 'signature', label: 'Initialled' },
  conclude: { icon: 'seal', label: 'Concluded' },
}

/**
 * A version that only moved cards (`layoutOnly: true`; absent means false).
 * Lists and the timeline leave these out unless "Show moves" is on: a month
 * of negotiation has thousands of them and they change no text or state.
 */
export const isMove = (v: Version): boolean => 'layoutOnly' in v && v.layoutOnly === true

/** The headline of a version: its kind, or the checkpoint's name. */
export const headline = (v: Version): string =>
  v.kind === 'checkpoint' && v.name ? `Checkpoint: ${v.name}` : isMove(v) ? 'Moved' : KIND[v.kind].label

/** The icon of a version: its kind's, or the move arrows for a version that only moved cards. */
export const iconOf = (v: Version): IconName => (isMove(v) ? 'move' : KIND[v.kind].icon)

export function when(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : formatDateTime(d)
}

/** Date, hour, minute and second: versions of one session are often minutes apart. */
export function whenExact(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : formatDateTime(d, { dateStyle: 'medium', timeStyle: 'medium' })
}

/** The versions loaded from the API plus those that arrived live since, oldest first, each once. */
export function mergeVersions(loaded: readonly Version[], live: readonly Version[]): Version[] {
  const byN = new Map<number, Version>()
  for (const v of loaded) byN.set(v.n, v)
  for (const v of live) byN.set(v.n, v)
  return [...byN.values()].sort((a, b) => a.n - b.n)
}

/** What to tell a person when part of the history could not be loaded. */
export const explain = (err: unknown, what: string): string =>
  err instanceof ApiError
    ? err.network
      ? `The ${what} could not be loaded: the server is not reachable.`
      : err.message
    : `The ${what} could not be loaded.`
