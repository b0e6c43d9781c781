/**
 * One storage interface for everything Parley keeps; `sqlite.ts` is the
 * embedded default and `postgres.ts` the scale-out one. The contract suite in
 * tests/integration/store.contract.test.ts runs against both.
 *
 * The update log is append-only: rows are never updated or deleted. The rows
 * of a doc form a hash chain (SHA-256 of the previous row's hash and the row);
 * each row keeps a 32-bit check of its hash, full hashes are kept at anchors
 * and at the head, so any edit behind the server's back is found and the
 * first row it touched named (see server/store/chain.ts).
 *
 * Checkpoints are derived data: full states of a doc, kept compressed, the
 * newest two per doc (rooms load from the newest; the version index may
 * resume from the one before). Anything older is rebuilt from the log.
 */
import type { Role } from '../../shared/roles'
import type { NegotiationRecord, Version } from '../../shared/schemas'

/** Who sent an update: from the token, never from the payload. */
export interface Author {
  user: string
  party: string | null
  role: Role | 'server'
  /** connection id, to tell two sessions of one user apart */
  conn: string
}

export interface NewUpdate {
  doc: string
  /** ms since the epoch, server clock */
  at: number
  author: Author
  update: Uint8Array
  /** what a server write meant (e.g. which ledger move), JSON; lets the version index be rebuilt from the log */
  meta?: unknown
}

export interface StoredUpdate extends NewUpdate {
  seq: number
  /**
   * The row's place in the store's one order of all rows, across docs
   * (Store.appendUpdates). Not part of the hash chain; see chain.ts.
   */
  gseq: number
  /**
   * The first 32 bits of the row's chain hash (chain.ts checkOf), so verify
   * can name the first row changed behind the server's back. null only for a
   * row an instance of the previous build appended to PostgreSQL during a
   * rolling upgrade: such a row carries `prevHash` instead, as rows did then.
   */
  check: number | null
  /** the previous row's hash: only on rows whose `check` is null (see there) */
  prevHash?: string
}

/** Where a doc's hash chain ends: the last row and its full hash (GENESIS_HASH at seq 0). */
export interface LogHead {
  seq: number
  hash: string
}

/** A full chain hash the store keeps: the hash of row `seq` (see chain.ts ANCHOR_EVERY). */
export interface ChainAnchor {
  seq: number
  hash: string
}

/** "This Yjs client id is owned by this identity": an id that already has an owner keeps it. */
export interface ClientClaim {
  doc: string
  clientId: number
  owner: string
}

export interface Checkpoint {
  doc: string
  /** the state includes every update with seq ≤ this */
  seq: number
  at: number
  /** the doc's full state as a Yjs update (v1), uncompressed: what a sync step 2 carries */
  state: Uint8Array
}

/** A stored checkpoint, without its state. */
export interface CheckpointInfo {
  seq: number
  at: number
  /** bytes the state takes in the store (compressed) */
  storedBytes: number
  /** bytes of the state itself */
  stateBytes: number
}

/** Checkpoints kept per doc: the newest is where rooms load from, the one before lets a lagging reader resume. */
export const CHECKPOINTS_KEPT = 2

export interface AppendResult {
  doc: string
  seq: number
  hash: string
  /** see StoredUpdate.gseq */
  gseq: number
}

/**
 * One sealed update of a sealed caucus (CONTRACT.md "Sealed caucus"): opaque bytes the server can
 * neither read nor check, kept with when and by whom they were sent (the audit), never with any
 * plaintext. Its own log, apart from the update log: no hash chain, no gseq, no checkpoint, no
 * history, version, export or record ever reads it.
 */
export interface NewSealed {
  doc: string
  at: number
  author: Author
  /** the AES-GCM nonce, SEALED_NONCE_BYTES */
  nonce: Uint8Array
  ciphertext: Uint8Array
}

export interface StoredSealed extends NewSealed {
  seq: number
}

/** Declared in shared/ (the admin client reads it too). */
export type { NegotiationRecord }

export interface TokenRecord {
  jti: string
  negotiationId: string
  role: Role
  party: string | null
  createdAt: number
  expiresAt: number | null
}

/** The two logs of a negotiation the history is made of. */
export type HistoryDoc = 'board' | 'ledger'

/** A block of the materialised history: the composed deltas of rows (start, end] at a level (materialiser.ts). */
export interface HistoryBlock {
  doc: HistoryDoc
  level: number
  start: number
  end: number
  /** encoded by the materialiser (deflated JSON) */
  data: Uint8Array
}

export interface HistoryBlockKey {
  level: number
  start: number
}

/** A full materialised state of one doc right after row `seq`. */
export interface HistorySnapshot {
  doc: HistoryDoc
  seq: number
  data: Uint8Array
}

/** The materialiser's state for one negotiation: its format (a change means rebuild) and where it stands (JSON). */
export interface HistoryState {
  format: number
  state: string
}

/**
 * An entry of the version index: a CONTRACT.md `Version` (times in ms rather
 * than ISO text) plus where it points in the logs and its place in the chain.
 */
export type VersionRecord = Omit<Version, 'at' | 'lastAt'> & {
  negotiationId: string
  at: number
  /** last update of the run, for edit versions that keep growing */
  lastAt: number
  /** the board and ledger sequence numbers the version ends at */
  boardSeq: number
  ledgerSeq: number
  hash: string
  prevHash: string
}

export interface VersionPage {
  after?: number
  limit?: number
}

/** Versions counted per range of n, by party and by kind. */
export interface VersionDensity {
  total: number
  buckets: Array<{
    fromN: number
    toN: number
    fromAt: number
    toAt: number
    count: number
    /** party id ('' for none) → versions */
    byParty: Record<string, number>
    /** kind → versions */
    byKind: Record<string, number>
  }>
}

/** Groups rows of (bucket, party, kind, count, minN, maxN, minAt, maxAt) into VersionDensity buckets. */
export function densityFromRows(
  total: number,
  rows: Array<{
    b: number
    party: string | null
    kind: string
    count: number
    min_n: number
    max_n: number
    min_at: number
    max_at: number
  }>,
): VersionDensity {
  const byBucket = new Map<number, VersionDensity['buckets'][number]>()
  for (const r of rows) {
    let b = byBucket.get(r.b)
    if (!b)
      byBucket.set(
        r.b,
        (b = { fromN: r.min_n, toN: r.max_n, fromAt: r.min_at, toAt: r.max_at, count: 0, byParty: {}, byKind: {} }),
      )
    b.fromN = Math.min(b.fromN, r.min_n)
    b.toN = Math.max(b.toN, r.max_n)
    b.fromAt = Math.min(b.fromAt, r.min_at)
    b.toAt = Math.max(b.toAt, r.max_at)
    b.count += r.count
    const party = r.party ?? ''
    b.byParty[party] = (b.byParty[party] ?? 0) + r.count
    b.byKind[r.kind] = (b.byKind[r.kind] ?? 0) + r.count
  }
  return { total, buckets: [...byBucket.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b) }
}

export interface PutVersionsOptions {
  /**
   * The rows may wait a little (≤ 100 ms) for the next appendUpdates and be
   * written in its transaction rather than in one of their own. A store
   * without group commits may ignore it.
   */
  ride?: boolean
}

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.name = 'StoreUnavailableError'
  }
}

/**
 * An append whose COMMIT was sent but never answered (the connection died
 * with it), and whose outcome the store could not find out yet: the rows in
 * `planned` may or may not be stored. Treating it as a plain failure would
 * have the writers resend what may already be stored — a duplicate in the
 * log — so the caller must ask `Store.settleAppend(planned)` before it stores
 * anything of those docs again.
 */
export class CommitOutcomeUnknownError extends StoreUnavailableError {
  constructor(
    cause: unknown,
    readonly planned: AppendResult[],
  ) {
    super(cause)
    this.name = 'CommitOutcomeUnknownError'
  }
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'

  // ── update log ─────────────────────────────────────────────────────────
  /**
   * Appends a batch atomically (one transaction): all rows or none, with the
   * client-id claims the batch introduced. Sequence numbers are per doc,
   * gap-free. Every row also gets a `gseq`, taken inside the transaction from
   * one counter of the whole store: larger in batch order, and larger than
   * that of every row committed before this transaction began — so a row
   * written in reaction to another (which was read, hence committed, first)
   * always comes after it, whatever the clocks of the instances say.
   *
   * When the COMMIT is lost on the way (the connection dies after sending it)
   * the store finds out whether it landed before answering; if it cannot tell
   * yet, it rejects with CommitOutcomeUnknownError.
   */
  appendUpdates(batch: NewUpdate[], claims?: ClientClaim[]): Promise<AppendResult[]>
  /**
   * Whether the append that was to write `planned` (a CommitOutcomeUnknownError's
   * rows) is stored: true (all of it) or false (none of it, and never will be).
   * Throws StoreUnavailableError while the store cannot tell.
   */
  settleAppend(planned: AppendResult[]): Promise<boolean>
  /** Rows with afterSeq < seq ≤ uptoSeq (default: to the end), in seq order. */
  readUpdates(doc: string, afterSeq: number, uptoSeq?: number): Promise<StoredUpdate[]>
  /** Highest committed seq of the doc, 0 when it has none. */
  headSeq(doc: string): Promise<number>
  /** Visits every row of a doc in seq order in pages, for verification and export of long histories. */
  scanUpdates(doc: string, visit: (rows: StoredUpdate[], total: number) => void | Promise<void>, pageSize?: number): Promise<void>
  /** The head of the doc's chain as recorded with its last append ({0, GENESIS_HASH} for a doc without rows). */
  chainHead(doc: string): Promise<LogHead>
  /** The full hashes kept along the doc's chain, by seq (a seq-0 entry records a first row that did not link to genesis). */
  chainAnchors(doc: string): Promise<ChainAnchor[]>

  // ── sealed caucus logs (append-only; see NewSealed) ──
  /**
   * Appends sealed updates atomically (one transaction): each gets the next seq of its doc,
   * per doc gap-free and in batch order, taken from the doc's head row (never a count), under a
   * lock that makes it one total order across instances. Resolves with the seqs, in batch order,
   * once the rows are durable.
   */
  appendSealed(rows: NewSealed[]): Promise<Array<{ doc: string; seq: number }>>
  /** At most `limit` rows of the sealed doc with seq > afterSeq, in seq order. */
  readSealed(doc: string, afterSeq: number, limit: number): Promise<StoredSealed[]>
  /** The sealed doc's highest seq, 0 when it has none. */
  sealedHead(doc: string): Promise<number>

  // ── checkpoints (derived: compressed, the newest CHECKPOINTS_KEPT per doc) ──
  /**
   * Stores a checkpoint (compressed, off the event loop) and drops the doc's
   * checkpoints older than the newest CHECKPOINTS_KEPT. A checkpoint at a seq
   * that already has one replaces it.
   */
  saveCheckpoint(cp: Checkpoint): Promise<void>
  /** The newest checkpoint with seq ≤ atOrBefore (default: any), its state uncompressed. */
  latestCheckpoint(doc: string, atOrBefore?: number): Promise<Checkpoint | null>
  /** The doc's stored checkpoints, oldest first, without their states. */
  listCheckpoints(doc: string): Promise<CheckpointInfo[]>

  // ── Yjs client ids: who introduced which (forgery checks survive restarts) ──
  clientOwners(doc: string): Promise<Map<number, string>>

  // ── negotiations and tokens ───────────────────────────────────────────
  createNegotiation(n: NegotiationRecord): Promise<void>
  getNegotiation(id: string): Promise<NegotiationRecord | null>
  deleteNegotiation(id: string): Promise<boolean>
  listNegotiations(): Promise<NegotiationRecord[]>
  recordToken(t: TokenRecord): Promise<void>
  revokeToken(jti: string, at: number): Promise<boolean>
  /** jtis revoked since `since` (ms), for the periodic sweep of open connections. */
  revokedSince(since: number): Promise<Array<{ jti: string; revokedAt: number }>>
  isRevoked(jti: string): Promise<boolean>

  // ── version index ─────────────────────────────────────────────────────
  /**
   * Inserts or replaces versions (an edit run grows until it closes) in one
   * transaction, in order; resolves once they are durable.
   */
  putVersions(versions: VersionRecord[], opts?: PutVersionsOptions): Promise<void>
  /** Writes versions that wait to ride along with the next append (PutVersionsOptions.ride) now. */
  flushPendingVersions?(): void
  /** Versions with n > page.after (default 0), oldest first, at most page.limit (default: all). */
  listVersions(negotiationId: string, page?: VersionPage): Promise<VersionRecord[]>
  getVersion(negotiationId: string, n: number): Promise<VersionRecord | null>
  /** The newest version, or null when there is none (without listing them all). */
  lastVersion(negotiationId: string): Promise<VersionRecord | null>
  /** How the versions spread over the history, in `buckets` ranges of n (for a density strip). */
  versionDensity(negotiationId: string, buckets: number): Promise<VersionDensity>

  // ── catch-up (CONTRACT.md "Comments and catch-up") ──
  /** `viewer` has seen the negotiation up to version `n` (kept at the highest n seen; `at` when). */
  markSeen(negotiationId: string, viewer: string, n: number, at: number): Promise<void>
  /** The last version `viewer` saw, and when they said so; null before their first visit. */
  lastSeen(negotiationId: string, viewer: string): Promise<{ n: number; at: number } | null>

  // ── materialised history (derived from the logs; server/history/materialiser.ts) ──
  /** The stored blocks with these keys (those that exist), of one doc of a negotiation. */
  historyBlocks(negotiationId: string, doc: HistoryDoc, keys: HistoryBlockKey[]): Promise<HistoryBlock[]>
  /** The newest snapshot of `doc` with seq ≤ atOrBefore, or null. */
  historySnapshot(negotiationId: string, doc: HistoryDoc, atOrBefore: number): Promise<HistorySnapshot | null>
  /** The materialiser's own state for this negotiation (where it stands), or null when nothing is stored. */
  historyState(negotiationId: string): Promise<HistoryState | null>
  /**
   * Stores blocks (a block replaces the stored one with its key: the open
   * level-1 block is written again as it fills), snapshots and the new state,
   * in one transaction: a reader or a restart sees all of it or none.
   */
  putHistory(
    negotiationId: string,
    writes: { blocks: HistoryBlock[]; snapshots: HistorySnapshot[] },
    state: HistoryState,
  ): Promise<void>
  /** Drops the negotiation's materialised history (to be rebuilt from the logs). */
  dropHistory(negotiationId: string): Promise<void>

  // ── coordination between instances ─────────────────────────────────────
  /**
   * Runs `fn` while holding the lock named `key`, exclusive across every
   * server instance on this store (SQLite: within this process; PostgreSQL:
   * a session advisory lock). Waits a bounded time for the lock, then fails
   * with StoreUnavailableError; the lock is released however `fn` ends, and a
   * crashed holder's lock is released with its connection. Not reentrant.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>

  /** Cheap round trip for /healthz and the store-health probe. */
  ping(): Promise<void>
  close(): Promise<void>
}
