/**
 * The tamper-evident chain over the update log and the version index: every
 * row stores its predecessor's hash, and a row's own hash is
 * SHA-256(prevHash ‖ canonical row). Changing any stored byte — data, author,
 * time or order — changes every later hash, which `npm run verify` recomputes.
 *
 * A row's `gseq` (its place in the store's order across docs) is not hashed:
 * it was added after logs had been written and chained, and hashing it would
 * make every existing chain fail to verify. What it decides — how a
 * negotiation's board and ledger rows interleave in its history — is pinned
 * by the version chain instead, whose entries record the board and ledger
 * seqs each version ends at; verify also checks that gseq grows with seq.
 */
import { createHash } from 'node:crypto'
import type { NewUpdate } from './types'

export const GENESIS_HASH = '0'.repeat(64)

export interface ChainedUpdateFields {
  doc: string
  seq: number
  at: number
  user: string
  party: string | null
  role: string
  conn: string
  update: Uint8Array
  /** the row's meta exactly as stored (JSON text), or null */
  meta: string | null
}

export function updateRowHash(prevHash: string, row: ChainedUpdateFields): string {
  return createHash('sha256')
    .update(prevHash)
    .update(JSON.stringify([row.doc, row.seq, row.at, row.user, row.party, row.role, row.conn, row.meta]))
    .update(row.update)
    .digest('hex')
}

/** A row's meta as the stores keep it: JSON text, or null. */
export const storedMeta = (meta: unknown): string | null => (meta === undefined ? null : JSON.stringify(meta))

/**
 * The hash of a log row: `row` at `seq` in its doc, after `prevHash`. The
 * stores pass the meta text they are about to write, so it is encoded once.
 */
export function logRowHash(prevHash: string, row: NewUpdate, seq: number, meta = storedMeta(row.meta)): string {
  const { user, party, role, conn } = row.author
  return updateRowHash(prevHash, { doc: row.doc, seq, at: row.at, user, party, role, conn, update: row.update, meta })
}

export interface ChainedVersionFields {
  negotiationId: string
  n: number
  at: number
  party: string | null
  user: string
  kind: string
  termIds: string[]
  summary: string
  name?: string
  boardSeq: number
  ledgerSeq: number
}

export function versionRowHash(prevHash: string, v: ChainedVersionFields): string {
  return createHash('sha256')
    .update(prevHash)
    .update(
      JSON.stringify([
        v.negotiationId,
        v.n,
        v.at,
        v.party,
        v.user,
        v.kind,
        v.termIds,
        v.summary,
        v.name ?? null,
        v.boardSeq,
        v.ledgerSeq,
      ]),
    )
    .digest('hex')
}
