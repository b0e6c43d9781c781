/** Versions on screen, in the History panel and the replay alike: their kinds, times and the merged list. */
import type { Version, VersionKind } from '../../../../shared/schemas'
import type { IconName } from '../design/icons'

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
}

/** The headline of a version: its kind, or the checkpoint's name. */
export const headline = (v: Version): string => (v.kind === 'checkpoint' && v.name ? `Checkpoint: ${v.name}` : KIND[v.kind].label)

const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

export function when(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : time.format(d)
}

/** Date, hour, minute and second: versions of one session are often minutes apart. */
export function whenExact(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : exact.format(d)
}

/** The versions loaded from the API plus those that arrived live since, oldest first, each once. */
export function mergeVersions(loaded: readonly Version[], live: readonly Version[]): Version[] {
  const byN = new Map<number, Version>()
  for (const v of loaded) byN.set(v.n, v)
  for (const v of live) byN.set(v.n, v)
  return [...byN.values()].sort((a, b) => a.n - b.n)
}
