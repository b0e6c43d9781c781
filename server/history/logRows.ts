/**
 * The history's view of the update log: one row of a negotiation's board or
 * ledger doc, as stored (live rows are normalised to exactly what the store
 * gives back, so the live index and a catch-up from the store fold the same
 * input), and the ledger-move `meta` that server writes carry.
 */
import type { Author, StoredUpdate } from '../store/types'
import { committedGseq } from '../sync/commitQueue'
import type { CommittedUpdate } from '../sync/room'

export type LogDoc = 'board' | 'ledger'

export interface LogRow {
  doc: LogDoc
  seq: number
  /** the store's order across docs (StoredUpdate.gseq): the fold merges board and ledger by it */
  gseq: number
  at: number
  author: Author
  update: Uint8Array
  /** parsed JSON meta of a server write */
  meta?: unknown
}

export const MOVE_KINDS = ['propose', 'accept', 'agree', 'reject', 'withdraw', 'reopen', 'checkpoint', 'restore'] as const
export type MoveKind = (typeof MOVE_KINDS)[number]

/** What a server write meant (server/negotiation/boardWatcher.ts `LedgerMoveMeta`, and restores on the board). */
export interface MoveMeta {
  kind: MoveKind
  termIds: string[]
  party: string | null
  user: string
  reason?: string
  name?: string
  restoredFrom?: number
  /** the move was made by the board watcher in reaction to a board update (propose, reopen by edit, withdraw by removal) */
  via?: 'board'
}

/** The meta of a row as a move, or null when it is none (e.g. the ledger's opening `meta` write). */
export function moveMeta(meta: unknown): MoveMeta | null {
  if (!meta || typeof meta !== 'object') return null
  const m = meta as Record<string, unknown>
  if (typeof m.kind !== 'string' || !(MOVE_KINDS as readonly string[]).includes(m.kind)) return null
  const termIds = Array.isArray(m.termIds) ? m.termIds.filter((t): t is string => typeof t === 'string') : []
  return {
    kind: m.kind as MoveKind,
    termIds,
    party: typeof m.party === 'string' ? m.party : null,
    user: typeof m.user === 'string' ? m.user : '',
    ...(typeof m.reason === 'string' ? { reason: m.reason } : {}),
    ...(typeof m.name === 'string' ? { name: m.name } : {}),
    ...(typeof m.restoredFrom === 'number' ? { restoredFrom: m.restoredFrom } : {}),
    ...(m.via === 'board' ? { via: 'board' as const } : {}),
  }
}

export function fromStored(doc: LogDoc, r: StoredUpdate): LogRow {
  const { seq, gseq, at, author, update } = r
  return { doc, seq, gseq, at, author, update, ...(r.meta !== undefined ? { meta: r.meta } : {}) }
}

/**
 * A committed update as the store will give it back (meta through JSON, as it
 * is stored), or null when its gseq is not known here (then it is read back
 * from the store).
 */
export function fromCommitted(doc: LogDoc, u: CommittedUpdate): LogRow | null {
  const gseq = committedGseq(u.origin)
  if (gseq === undefined) return null
  const raw = u.origin.source === 'server' ? u.origin.meta : undefined
  const meta = raw === undefined ? undefined : JSON.parse(JSON.stringify(raw))
  return { doc, seq: u.seq, gseq, at: u.at, author: u.author, update: u.update, ...(meta !== undefined ? { meta } : {}) }
}
