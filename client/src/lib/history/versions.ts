/** Versions on screen, in the History panel and the replay alike: their kinds, times and the merged list. */
import type { Version, VersionKind } from '../../../../shared/schemas'
import { ApiError } from '../api/http'
import type { IconName } from '../design/icons'
import { formatDateTime } from '../i18n/format'
import { m } from '../../paraglide/messages'

export const KIND: Record<VersionKind, { icon: IconName; label: string }> = {
  propose: { icon: 'plus', get label() { return m.history_kind_proposed() } },
  edit: { icon: 'pen', get label() { return m.history_kind_edited() } },
  accept: { icon: 'check', get label() { return m.history_kind_accepted() } },
  reject: { icon: 'reject', get label() { return m.history_kind_rejected() } },
  withdraw: { icon: 'withdraw', get label() { return m.history_kind_withdrew() } },
  reopen: { icon: 'reopen', get label() { return m.history_kind_reopened() } },
  agree: { icon: 'lock', get label() { return m.history_kind_agreed() } },
  checkpoint: { icon: 'bookmark', get label() { return m.history_kind_checkpoint() } },
  restore: { icon: 'history', get label() { return m.history_kind_restored() } },
  comment: { icon: 'note', get label() { return m.history_kind_commented() } },
  resolve: { icon: 'check', get label() { return m.history_kind_resolved() } },
  'suggestion-accept': { icon: 'check', get label() { return m.history_kind_suggestion_accepted() } },
  'suggestion-reject': { icon: 'reject', get label() { return m.history_kind_suggestion_rejected() } },
  /** a bracketed group settled on one of its options (term:choose) */
  choose: { icon: 'brackets', get label() { return m.history_kind_chose_option() } },
  /** an acceptance ad referendum confirmed by the party's principal */
  confirm: { icon: 'checkCircle', get label() { return m.history_kind_confirmed() } },
  'package-accept': { icon: 'package', get label() { return m.history_kind_package_accepted() } },
  initial: { icon: 'signature', get label() { return m.history_kind_initialled() } },
  conclude: { icon: 'seal', get label() { return m.history_kind_concluded() } },
}

/**
 * A version that only moved cards (`layoutOnly: true`; absent means false).
 * Lists and the timeline leave these out unless "Show moves" is on: a month
 * of negotiation has thousands of them and they change no text or state.
 */
export const isMove = (v: Version): boolean => 'layoutOnly' in v && v.layoutOnly === true

/** The headline of a version: its kind, or the checkpoint's name. */
export const headline = (v: Version): string =>
  v.kind === 'checkpoint' && v.name ? m.history_kind_checkpoint_named({ name: v.name }) : isMove(v) ? m.history_kind_moved() : KIND[v.kind].label

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

/** What could not be loaded: the history, a page of versions, the redline, or the board at version n. */
export type Unloaded = 'history' | 'versions' | 'redline' | { board: number }

/** What to tell a person when part of the history could not be loaded. */
export function explain(err: unknown, what: Unloaded): string {
  if (err instanceof ApiError && !err.network) return err.message
  const unreachable = err instanceof ApiError
  if (typeof what === 'object')
    return unreachable ? m.history_error_board_unreachable({ n: what.board }) : m.history_error_board({ n: what.board })
  switch (what) {
    case 'history':
      return unreachable ? m.history_error_history_unreachable() : m.history_error_history()
    case 'versions':
      return unreachable ? m.history_error_versions_unreachable() : m.history_error_versions()
    case 'redline':
      return unreachable ? m.history_error_redline_unreachable() : m.history_error_redline()
  }
}
