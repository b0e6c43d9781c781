/**
 * What a room holds between two commits: the updates it applied and every
 * message that must wait for them to be durable (sync replies, direct sends,
 * broadcasts, save receipts), in the order they arose. The CommitQueue takes a
 * room's batch, stores its updates, and only then are its messages sent
 * (outbox.ts).
 */
import type { ClientClaim } from '../store/types'
import type { Connection } from './connection'
import type { UpdateOrigin } from './updateOrigin'

export interface Durability {
  resolve: (seq: number) => void
  reject: (err: unknown) => void
}

export type BatchItem =
  | { kind: 'update'; update: Uint8Array; origin: UpdateOrigin; at: number; seq?: number; durable?: Durability }
  | { kind: 'sync-reply'; conn: Connection; stateVector: Uint8Array }
  | { kind: 'send'; conn: Connection; message: Uint8Array }
  | { kind: 'broadcast'; except: Connection | null; message: Uint8Array }
  | { kind: 'receipt'; conn: Connection }

/** A Yjs client id a connection introduced, with who that connection is (not stored: the store keeps `claims`). */
export interface ClaimedClientId {
  clientId: number
  party: string | null
  user: string
}

export interface Batch {
  items: BatchItem[]
  claims: ClientClaim[]
  /** the claims of `claims` that connections made (the server's own are not here), with their party and user */
  claimedBy: ClaimedClientId[]
}

export const emptyBatch = (): Batch => ({ items: [], claims: [], claimedBy: [] })
