/**
 * How edits become versions a reader recognises: a **session** per
 * delegation and term — one delegation's edits of one term while it works on
 * it — that goes on across the other side's edits in between, and ends with
 * a pause (EDIT_PAUSE_MS without an edit of it), a status move or checkpoint
 * that concerns its term, or at MAX_SESSION_MS. Card moves form sessions of
 * their own per delegation (`layoutOnly`), and so do notes and links.
 *
 * A session becomes a version when it ends, so versions are numbered — and
 * their board positions grow — in the order they end: the sheet at version n
 * is the board right after n, and n+1 is never earlier. Status moves,
 * agreements, checkpoints and restores are versions of their own, numbered
 * after the sessions they end.
 *
 * Everything here is decided from the rows alone (their order and `at`), so
 * the live index and a rebuild from the log number the same versions; the
 * one call that reads a clock, `closeIdle(now)`, closes only sessions that a
 * later row would close the same way (see versionIndex.ts).
 */
import type { VersionKind } from '../../shared/schemas'

/** A session ends after this long without an edit of it (CONTRACT.md: "pauses under 5 s"). */
export const EDIT_PAUSE_MS = 5000
/** A session never spans more than this: a morning of drafting reads as several versions. */
export const MAX_SESSION_MS = 10 * 60_000

export interface Position {
  boardSeq: number
  ledgerSeq: number
}

/** What one board row did, as grouping needs it. */
export interface BoardRowEvent {
  seq: number
  at: number
  party: string | null
  user: string
  /** terms whose title or body changed (created ones excluded) */
  texts: string[]
  /** terms that were only moved */
  moved: string[]
  /** terms removed from the board */
  removed: string[]
  /** notes or links changed */
  annotations: boolean
}

export type SessionKind = 'text' | 'moves' | 'notes'

export interface Session {
  key: string
  kind: SessionKind
  party: string | null
  users: string[]
  termIds: string[]
  /** seq of the first board row of the session */
  startSeq: number
  firstAt: number
  lastAt: number
}

/** A version's fields decided here; the index adds n, summary and hashes. */
export interface ClosedVersion {
  kind: VersionKind
  at: number
  lastAt: number
  party: string | null
  user: string
  termIds: string[]
  pos: Position
  layoutOnly?: boolean
  /** the session it closes (edit versions) */
  session?: Session
}

const keyOf = (kind: SessionKind, party: string | null, termId?: string) =>
  `${party ?? ''}|${kind}${termId !== undefined ? `|${termId}` : ''}`

const merge = (list: string[], more: readonly string[]) => {
  for (const x of more) if (!list.includes(x)) list.push(x)
}

/** Sessions in the order they close: the one idle longest first, then the one that began first. */
const closingOrder = (a: Session, b: Session) => a.lastAt - b.lastAt || a.startSeq - b.startSeq || (a.key < b.key ? -1 : 1)

export class Sessions {
  private readonly open = new Map<string, Session>()

  constructor(restored: Session[] = []) {
    for (const s of restored) this.open.set(s.key, { ...s, users: [...s.users], termIds: [...s.termIds] })
  }

  /** The sessions still going on (for the version list's "in progress", and to persist the fold). */
  get current(): Session[] {
    return [...this.open.values()].sort((a, b) => a.startSeq - b.startSeq)
  }

  /**
   * Sessions that end before this row: idle for EDIT_PAUSE_MS by its time, or
   * longer than MAX_SESSION_MS. `pos` is where the log stood before the row.
   */
  beforeRow(at: number, pos: Position): ClosedVersion[] {
    return this.closeWhere((s) => at - s.lastAt >= EDIT_PAUSE_MS || at - s.firstAt >= MAX_SESSION_MS, pos)
  }

  /** A board row made by a delegation: it starts or grows sessions. */
  onBoardRow(ev: BoardRowEvent): void {
    const touch = (kind: SessionKind, termIds: readonly string[], termId?: string) => {
      const key = keyOf(kind, ev.party, termId)
      let s = this.open.get(key)
      if (!s) {
        s = { key, kind, party: ev.party, users: [], termIds: [], startSeq: ev.seq, firstAt: ev.at, lastAt: ev.at }
        this.open.set(key, s)
      }
      s.lastAt = ev.at
      if (!s.users.includes(ev.user)) s.users.push(ev.user)
      merge(s.termIds, termIds)
    }
    for (const id of ev.texts) touch('text', [id], id)
    for (const id of ev.removed) touch('text', [id], id)
    if (ev.moved.length > 0) touch('moves', ev.moved)
    if (ev.annotations) touch('notes', [])
  }

  /** Sessions a move on `termIds` ends first (all of them for a checkpoint: `null`). */
  beforeMove(termIds: readonly string[] | null, pos: Position): ClosedVersion[] {
    if (termIds === null) return this.closeWhere(() => true, pos)
    return this.closeWhere((s) => s.kind !== 'notes' && s.termIds.some((id) => termIds.includes(id)), pos)
  }

  /** Sessions idle for EDIT_PAUSE_MS at `now` (no row came to end them; see the module comment). */
  closeIdle(now: number, pos: Position): ClosedVersion[] {
    return this.closeWhere((s) => now - s.lastAt >= EDIT_PAUSE_MS, pos)
  }

  /** When the oldest open session is due to close by pause (or null). */
  get nextDeadline(): number | null {
    let min: number | null = null
    for (const s of this.open.values()) min = min === null ? s.lastAt + EDIT_PAUSE_MS : Math.min(min, s.lastAt + EDIT_PAUSE_MS)
    return min
  }

  private closeWhere(pred: (s: Session) => boolean, pos: Position): ClosedVersion[] {
    const closing = [...this.open.values()].filter(pred).sort(closingOrder)
    return closing.map((s) => {
      this.open.delete(s.key)
      return {
        kind: 'edit',
        at: s.firstAt,
        lastAt: s.lastAt,
        party: s.party,
        user: s.users.join(', '),
        termIds: [...s.termIds],
        pos: { ...pos },
        ...(s.kind === 'moves' ? { layoutOnly: true } : {}),
        session: s,
      }
    })
  }
}
