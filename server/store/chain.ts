/**
 * The tamper-evident chain over the update log and the version index: a
 * row's hash is SHA-256(hash of the row before it ‖ canonical row), the first
 * row's predecessor being GENESIS_HASH. Changing any stored byte — data,
 * author, time or order — changes that row's hash and every later one, which
 * `npm run verify` recomputes.
 *
 * What the log stores of the chain (schema 3 on). Rows used to carry their
 * predecessor's hash as 64 hex characters — two thirds of a typical row,
 * whose Yjs update is ~15–30 bytes. Now:
 *  - each row keeps a 32-bit check value, the first four bytes of its own
 *    hash (checkOf): verify recomputes the chain and names the first row
 *    whose check no longer matches — the row that was changed, or the first
 *    one after a row removed;
 *  - every ANCHOR_EVERY rows the full hash is kept (a small table), and the
 *    doc's head hash as before: a change that happens to keep a 32-bit check
 *    (by chance, 2^-32, or forged, which takes ~2^32 tries) still breaks the
 *    next anchor and the head, which are full SHA-256 — and an export's heads.
 * The hashes themselves are unchanged, so chains written before verify as
 * they did, and exports' heads stay comparable.
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

/** A full hash is kept for every row whose seq is a multiple of this (see the top). */
export const ANCHOR_EVERY = 256

const HEX64 = /^[0-9a-f]{64}$/

/** The check value a row stores: the first four bytes of its hash, as a signed 32-bit integer (SQLite stores it in 4 bytes). */
export function checkOf(hash: string): number {
  return Buffer.from(hash.slice(0, 8), 'hex').readInt32BE(0)
}

/** A check value as the hex its hash starts with, for reports. */
export const checkHex = (check: number): string => (check >>> 0).toString(16).padStart(8, '0')

/** A full hash as stored at anchors (32 bytes) and back. */
export const hashBytes = (hash: string): Buffer => Buffer.from(hash, 'hex')
export const hashHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
export const isHash = (s: unknown): s is string => typeof s === 'string' && HEX64.test(s)

/**
 * A hash where the store keeps it as bytes (SQLite's version rows, schema 3):
 * 32 bytes for a real one, or the text's own bytes for anything else, so a
 * value edited behind the server's back is read back exactly as it was and
 * verify reports it.
 */
export const hashToBytes = (s: string): Buffer => (isHash(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'utf8'))
export const hashFromBytes = (b: Uint8Array): string =>
  b.byteLength === 32 ? hashHex(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')

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

/**
 * The check value of a row of a log written with links (schema ≤ 2: each row
 * stored its predecessor's hash), for the migration to schema 3. It is taken
 * from what was stored, never recomputed where something was recorded, so a
 * row changed before the migration still fails to verify after it:
 *  - `recorded` is the hash recorded for this row: the link of the row after
 *    it (seq + 1), or the doc's head hash for the last row; the check is its
 *    first four bytes;
 *  - a recorded value that is no hash at all (edited) gives a check that
 *    cannot match;
 *  - null when nothing recorded this row's hash (the row after it is
 *    missing): its own recomputed hash, as verify before the migration
 *    would then report the missing row, not this one.
 */
export function legacyCheck(recorded: string | null, row: ChainedUpdateFields, prevHash: string): number {
  if (recorded !== null && isHash(recorded)) return checkOf(recorded)
  const own = checkOf(updateRowHash(prevHash, row))
  return recorded === null ? own : own ^ 1
}
