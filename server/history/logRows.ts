/**
 * The history's view of the update log: one row of a negotiation's board or
 * ledger doc, as stored (live rows are normalised to exactly what the store
 * gives back, so the live index and a catch-up from the store fold the same
 * input), and the ledger-move `meta` that server writes carry.
 */
import type { Author, StoredUpdate } from '../store/types'
import type { CommittedUpdate } from '../sync/room'

export type LogDoc = 'board' | 'ledger'

export interface LogRow {
  doc: LogDoc
  seq: number
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

/** Moves the board watcher makes in the same commit as the board update that caused them. */
export const causedByBoard = (m: MoveMeta): boolean => m.kind === 'propose' || m.via === 'board'

export function fromStored(doc: LogDoc, r: StoredUpdate): LogRow {
  return { doc, seq: r.seq, at: r.at, author: r.author, update: r.update, ...(r.meta !== undefined ? { meta: r.meta } : {}) }
}

/** A committed update as the store will give it back (meta through JSON, as it is stored). */
export function fromCommitted(doc: LogDoc, u: CommittedUpdate): LogRow {
  const raw = u.origin.source === 'server' ? u.origin.meta : undefined
  const meta = raw === undefined ? undefined : JSON.parse(JSON.stringify(raw))
  return { doc, seq: u.seq, at: u.at, author: u.author, update: u.update, ...(meta !== undefined ? { meta } : {}) }
}
