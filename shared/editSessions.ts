/**
 * Edit sessions: how a reader sees a stretch of drafting. The versions of
 * CONTRACT.md stay as they are (an `edit` version ends when another author
 * writes), so two delegations typing at once into two terms make dozens of
 * short versions, alternating. A session gathers one author's edit versions
 * of the same terms across such interleavings — as long as nobody else
 * touched those terms in between, no status move or checkpoint came between
 * and the author never paused for EDIT_PAUSE_MS — so the list reads
 * "United States edited 'Extradition' (14 edits)" once, not fourteen times.
 *
 * A pure function of versions already numbered and hash-chained: grouping
 * changes what a list shows, never the record. Used by the History panel
 * (which loads pages, so it groups each loaded stretch on its own).
 */
import type { Version } from './schemas'

/** Pauses at least this long end an edit version (CONTRACT.md `Version`) and a session. */
export const EDIT_PAUSE_MS = 5000

export interface EditSession {
  party: string | null
  user: string
  /** the terms every member edited */
  termIds: string[]
  /** oldest first; at least two */
  versions: Version[]
}

export type SessionItem = { kind: 'version'; v: Version } | { kind: 'session'; s: EditSession }

/** The version a list row stands for: a session is listed where its newest member is. */
export const newestOf = (item: SessionItem): Version => (item.kind === 'version' ? item.v : item.s.versions.at(-1)!)

const isTextEdit = (v: Version) => v.kind === 'edit' && v.layoutOnly !== true && v.termIds.length > 0
const keyOf = (v: Version) => JSON.stringify([v.party, v.user, [...v.termIds].sort()])
const endOf = (v: Version) => Date.parse(v.lastAt ?? v.at)

interface Open {
  key: string
  termIds: Set<string>
  members: Version[]
  end: number
}

/**
 * Groups consecutive versions (ascending n, no gaps in between) into
 * sessions. Returns every input version once — alone or inside a session —
 * ordered by the newest version each item holds.
 */
export function groupEditSessions(versions: readonly Version[], pauseMs = EDIT_PAUSE_MS): SessionItem[] {
  const done: Open[] = []
  const open = new Map<string, Open>()
  const close = (o: Open) => {
    open.delete(o.key)
    done.push(o)
  }
  for (const v of versions) {
    // Card moves neither join nor end sessions: they change no words.
    if (v.kind === 'edit' && v.layoutOnly === true) {
      done.push({ key: '', termIds: new Set(), members: [v], end: 0 })
      continue
    }
    if (!isTextEdit(v)) {
      // A status move, checkpoint or restore is read between sessions, never inside one.
      for (const o of [...open.values()]) close(o)
      done.push({ key: '', termIds: new Set(), members: [v], end: 0 })
      continue
    }
    const key = keyOf(v)
    const start = Date.parse(v.at)
    for (const o of [...open.values()]) {
      const otherHand = o.key !== key && v.termIds.some((id) => o.termIds.has(id))
      const paused = start - o.end >= pauseMs
      // Someone else's words in the same term would be counted as this author's: the session ends there.
      if (otherHand || paused) close(o)
    }
    const mine = open.get(key)
    if (mine) {
      mine.members.push(v)
      mine.end = endOf(v)
    } else {
      open.set(key, { key, termIds: new Set(v.termIds), members: [v], end: endOf(v) })
    }
  }
  for (const o of open.values()) done.push(o)
  return done
    .map((o): SessionItem => {
      const first = o.members[0]!
      if (o.members.length === 1) return { kind: 'version', v: first }
      return { kind: 'session', s: { party: first.party, user: first.user, termIds: [...first.termIds], versions: o.members } }
    })
    .sort((a, b) => newestOf(a).n - newestOf(b).n)
}
