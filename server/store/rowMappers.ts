/**
 * Rows to records, once for both stores. Each driver first reads its own
 * column types into these shapes — SQLite hands back JSON text and BLOB
 * hashes, PostgreSQL jsonb, hex text and booleans, and names `user` `user_name`
 * (a reserved word there) — and the mapping from there is shared, so the two
 * stores cannot drift in what a version or an update record holds.
 */
import type { Role } from '../../shared/roles'
import type { VersionKind } from '../../shared/schemas'
import type { Author, NegotiationRecord, Store, StoredUpdate, VersionRecord } from './types'

/** A version row with the driver's types already read. */
export interface VersionColumns {
  negotiation_id: string
  n: number
  at: number
  last_at: number
  party: string | null
  user: string
  kind: string
  term_ids: string[]
  summary: string
  name: string | null
  board_seq: number
  ledger_seq: number
  /** hex */
  hash: string
  prev_hash: string
  layout_only: boolean
}

export const versionFromColumns = (r: VersionColumns): VersionRecord => ({
  negotiationId: r.negotiation_id,
  n: r.n,
  at: r.at,
  lastAt: r.last_at,
  party: r.party,
  user: r.user,
  kind: r.kind as VersionKind,
  termIds: r.term_ids,
  summary: r.summary,
  ...(r.name !== null ? { name: r.name } : {}),
  boardSeq: r.board_seq,
  ledgerSeq: r.ledger_seq,
  hash: r.hash,
  prevHash: r.prev_hash,
  ...(r.layout_only ? { layoutOnly: true } : {}),
})

/** An update row with the driver's types already read. */
export interface UpdateColumns {
  seq: number
  gseq: number
  at: number
  data: Uint8Array
  /** JSON text */
  meta: string | null
  chk: number | null
  /** a row written before checks were stored carries its chain hash instead (PostgreSQL's oldest rows) */
  prev_hash?: string | null
}

export const updateFromColumns = (doc: string, r: UpdateColumns, author: Author): StoredUpdate => ({
  doc,
  seq: r.seq,
  gseq: r.gseq,
  at: r.at,
  author,
  update: r.data,
  ...(r.meta !== null ? { meta: JSON.parse(r.meta) } : {}),
  check: r.chk,
  ...(r.chk === null && r.prev_hash != null ? { prevHash: r.prev_hash } : {}),
})

export const authorFromColumns = (r: { user_name: string; party: string | null; role: string; conn: string }): Author => ({
  user: r.user_name,
  party: r.party,
  role: r.role as Role | 'server',
  conn: r.conn,
})

export type NegotiationColumns = Omit<NegotiationRecord, 'createdAt'> & { created_at: number }

export const negotiationFromColumns = (r: NegotiationColumns): NegotiationRecord => ({
  id: r.id,
  title: r.title,
  parties: r.parties,
  createdAt: r.created_at,
})

/** A plain Uint8Array view of a Buffer a driver returned. */
export const bytesOf = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/**
 * `Store.scanUpdates` for both stores: the head is read once (rows appended
 * during the scan belong to the next one), then the log in pages.
 */
export async function scanUpdatesInPages(
  store: Pick<Store, 'headSeq' | 'readUpdates'>,
  doc: string,
  visit: (rows: StoredUpdate[], total: number) => void | Promise<void>,
  pageSize: number,
): Promise<void> {
  const total = await store.headSeq(doc)
  for (let after = 0; after < total; after += pageSize) {
    const rows = await store.readUpdates(doc, after, Math.min(after + pageSize, total))
    await visit(rows, total)
  }
}
