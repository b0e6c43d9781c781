/**
 * Where a change to a room's doc came from: the Yjs transaction origin of
 * every write a room makes. Listeners (the ledger writer, the version index)
 * read it from `txn.origin`, which Yjs types as `any`: `isUpdateOrigin`
 * tells a local write (a connection's or the server's) from everything else
 * (another instance's rows, a rebuild).
 */
import type { Author } from '../store/types'
import type { Connection } from './connection'

export type UpdateOrigin =
  | { source: 'connection'; conn: Connection; author: Author }
  /** `meta` travels with the write to the room's listeners (e.g. which ledger move it was) */
  | { source: 'server'; author: Author; meta?: unknown }

/** Updates another server instance committed (via Redis or read back from the store): already durable. */
export const STORED_ORIGIN = { source: 'stored' } as const

/** True for a write made on this instance, by a connection or by the server itself. */
export function isUpdateOrigin(origin: unknown): origin is UpdateOrigin {
  if (typeof origin !== 'object' || origin === null || !('source' in origin)) return false
  const source = (origin as { source: unknown }).source
  return source === 'connection' || source === 'server'
}
