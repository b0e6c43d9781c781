/**
 * The history's view of the update log: one row of a negotiation's board or
 * ledger doc, as stored (live rows are normalised to exactly what the store
 * gives back, so the live index and a catch-up from the store fold the same
 * input). The `meta` server writes carry is shared/moveMeta.ts.
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

export { MOVE_KINDS, moveMeta, type MoveKind, type MoveMeta } from '../../shared/moveMeta'

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
