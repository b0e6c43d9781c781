/**
 * The grouping rule of CONTRACT.md `Version`: consecutive edits by one user
 * with no other author or status move in between and pauses under 5 s form
 * one `edit` version; every status move, agreement, restore and named
 * checkpoint is a version of its own. Pure, so it is tested with a fake clock.
 */
import { EDIT_PAUSE_MS } from '../../shared/editSessions'
import type { VersionKind } from '../../shared/schemas'

export { EDIT_PAUSE_MS }

export interface HistoryEvent {
  kind: VersionKind
  at: number
  party: string | null
  user: string
  termIds: string[]
}

export interface OpenVersion {
  kind: VersionKind
  party: string | null
  user: string
  lastAt: number
}

/** True when `ev` continues `last` instead of starting a new version. */
export function extendsVersion(last: OpenVersion | null, ev: HistoryEvent): boolean {
  return (
    last !== null &&
    ev.kind === 'edit' &&
    last.kind === 'edit' &&
    last.user === ev.user &&
    last.party === ev.party &&
    ev.at - last.lastAt < EDIT_PAUSE_MS
  )
}

/** Term ids of a grown edit run: first-touched order, no repeats. */
export function mergeTermIds(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a]
  for (const id of b) if (!out.includes(id)) out.push(id)
  return out
}
