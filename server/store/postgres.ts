/**
 * The scale-out store: PostgreSQL through a `pg` Pool, with the same semantics
 * as the SQLite store (tests/integration/store.contract.test.ts runs against
 * both). The schema lives in ./postgres/migrations.ts and is brought up to
 * date at connect.
 *
 * Several server instances may append to one doc at the same time. Each batch
 * is one transaction that locks the head rows of the docs it touches
 * (`SELECT … FOR UPDATE`, in name order so two batches never wait on each
 * other in a cycle), reads head_seq/head_hash under the lock, appends and moves
 * the heads. Nothing about a doc's head is cached in memory: another instance
 * may have moved it since. Only facts that can never change are cached — that
 * a doc row exists, and the id of an interned author.
 *
 * Every row also takes a `gseq` from one sequence, inside its transaction and
 * after its docs are locked. A row an instance writes in reaction to another
 * (a command after the edit it read) draws its number after that row was
 * committed, so it is always larger: the history orders a negotiation's two
 * logs by gseq, never by the instances' clocks. (Rows of concurrent
 * transactions on different docs may become visible out of gseq order; they
 * are concurrent, so either order is true.)
 *
 * A COMMIT whose answer is lost (the connection dies after sending it) may
 * have committed. Reporting a failure would have the writers resend, and the
 * log hold their updates twice; so the append finds out first (settleAppend:
 * wait for the lost transaction to end by taking its docs' heads, then look
 * for its first row by hash) and reports the truth — or, if the database stays
 * out of reach, CommitOutcomeUnknownError for the caller to settle later.
 *
 * Connection failures, timeouts and a server that refuses work (shutdown, disk
 * full, lock/statement timeout) surface as `StoreUnavailableError`, so callers
 * refuse writes visibly instead of acknowledging them.
 */
import { createHash } from 'node:crypto'
import pg from 'pg'
import type { Pool, PoolClient, PoolConfig, QueryConfig, QueryResultRow } from 'pg'
import { ANCHOR_EVERY, checkOf, GENESIS_HASH, hashBytes, hashHex, logRowHash, storedMeta } from './chain'
import { decodeCheckpointSync, encodeCheckpoint } from './checkpointCodec'
import { historyDocName, historyDocNames } from './historyDocs'
import { KeyedLock } from './keyedLock'
import { checkSchema, migrate } from './postgres/migrations'
import {
  authorFromColumns,
  bytesOf,
  negotiationFromColumns,
  scanUpdatesInPages,
  updateFromColumns,
  versionFromColumns,
  type NegotiationColumns,
  type UpdateColumns,
  type VersionColumns,
} from './rowMappers'
import {
  CommitOutcomeUnknownError,
  densityFromRows,
  StoreUnavailableError,
  CHECKPOINTS_KEPT,
  type AppendResult,
  type Author,
  type ChainAnchor,
  type Checkpoint,
  type CheckpointInfo,
  type HistoryBlock,
  type HistoryBlockKey,
  type HistoryDoc,
  type HistorySnapshot,
  type HistoryState,
  type LogHead,
  type ClientClaim,
  type NegotiationRecord,
  type NewSealed,
  type NewUpdate,
  type PutVersionsOptions,
  type Store,
  type VersionDensity,
  type VersionPage,
  type StoredSealed,
  type StoredUpdate,
  type TokenRecord,
  type VersionRecord,
} from './types'

export interface PostgresStoreOptions {
  /** connections per instance (default 10) */
  poolSize?: number
  /** ms to open a connection or wait for a free one before the store counts as unavailable (default 3000) */
  connectTimeoutMs?: number
  /** ms the client waits for any answer before it gives the connection up (default 10000) */
  queryTimeoutMs?: number
  /** server-side statement_timeout, ms (default 8000) */
  statementTimeoutMs?: number
  /** server-side lock_timeout, ms: how long an append waits for another instance's lock on a doc (default 5000) */
  lockTimeoutMs?: number
  /** ms /healthz waits before it reports the store down (default 1500) */
  pingTimeoutMs?: number
  /** ms `withLock` waits for a lock (another instance's holder) before failing with StoreUnavailableError (default 5000) */
  lockWaitMs?: number
  /** connections that hold `withLock` locks, apart from the main pool (default 8) */
  lockPoolSize?: number
  /** called with errors of idle pooled connections (the pool drops them and reconnects on demand) */
  onIdleError?: (err: Error) => void
  /**
   * ms an append whose COMMIT got no answer spends finding out whether it committed, before it
   * gives up with CommitOutcomeUnknownError (default 2000)
   */
  settleTimeoutMs?: number
  /**
   * Read an existing store (the CLIs): no migration (a schema other than this build's is an
   * error naming the fix), and every session's transactions read-only.
   */
  readOnly?: boolean
}

// ── error mapping ─────────────────────────────────────────────────────────

/**
 * SQLSTATEs that mean "cannot serve now", not "bad request": connection
 * exceptions (08), insufficient resources (53: disk full, too many
 * connections), operator intervention (57P01-57P05: shutdown, cannot connect
 * now), query canceled by statement_timeout (57014), lock_timeout (55P03),
 * system errors (58), a read-only server after a failover (25006) and
 * conflicts that outlived our retries (40001, 40P01).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|57014|55P03|58|25006|40001|40P01)/
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
])
/** What pg and pg-pool say when the connection, not the query, failed. */
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end|Client was closed|Connection timed out|ping timed out/i

/** True when the error says the connection (or the server) failed, as opposed to the statement. */
export function isUnavailableError(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (err instanceof pg.DatabaseError) return UNAVAILABLE_SQLSTATE.test(err.code ?? '')
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true
  if (PG_CONNECTION_MESSAGES.test(err.message)) return true
  // Node's happy-eyeballs connect rejects with an AggregateError of per-address failures
  if (err instanceof AggregateError) return err.errors.some(isUnavailableError)
  return false
}

/** The connection itself is unusable (as opposed to a failed statement on a healthy one): drop it from the pool. */
function connectionIsBroken(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return /^(08|57P0)/.test(err.code ?? '')
  return true
}

function mapError(err: unknown): unknown {
  return isUnavailableError(err) && !(err instanceof StoreUnavailableError) ? new StoreUnavailableError(err) : err
}

/** The COMMIT was sent and the connection failed before its answer: the transaction may have committed. */
class CommitLost extends Error {
  constructor(override readonly cause: unknown) {
    super(`COMMIT unanswered: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** Transient conflicts: the transaction rolled back entirely and can simply run again. */
const RETRYABLE_SQLSTATE = new Set(['40001', '40P01'])
const APPEND_ATTEMPTS = 3

// ── SQL ──────────────────────────────────────────────────────────────────
// Every statement is named, so each pooled connection parses and plans it once.

/** Data-modifying CTEs that drop a negotiation's materialised history: `id` its id, `names` its docs' names (text[]). */
const dropHistoryCtes = (id: string, names: string) => `
  hd AS (SELECT id FROM docs WHERE name = ANY(${names}::text[])),
  hb AS (DELETE FROM history_blocks h USING hd WHERE h.doc_id = hd.id),
  hs AS (DELETE FROM history_snapshots h USING hd WHERE h.doc_id = hd.id),
  hst AS (DELETE FROM history_state WHERE negotiation_id = ${id})`

const SQL = {
  ensureDocs: `INSERT INTO docs (name, head_hash) SELECT n, $2 FROM unnest($1::text[]) AS n ON CONFLICT (name) DO NOTHING`,
  lockDocs: `SELECT id, name, head_seq, head_hash FROM docs WHERE name = ANY($1::text[]) ORDER BY name COLLATE "C" FOR UPDATE`,
  internAuthor: `WITH ins AS (
                   INSERT INTO authors (user_name, party, role, conn) VALUES ($1, $2, $3, $4)
                   ON CONFLICT DO NOTHING RETURNING id)
                 SELECT id FROM ins
                 UNION ALL
                 SELECT id FROM authors WHERE conn = $4 AND user_name = $1 AND party IS NOT DISTINCT FROM $2 AND role = $3
                 LIMIT 1`,
  // Rows, heads and claims in one statement: one round trip while the doc locks are held. The
  // rows' gseqs are drawn here, under those locks (so within a doc they follow seq), and handed
  // out in ascending order along the batch, whatever order nextval ran in.
  writeBatch: `WITH g AS (
                 SELECT array_agg(v ORDER BY v) AS vs
                   FROM (SELECT nextval('updates_gseq') AS v FROM generate_series(1, cardinality($2::bigint[]))) AS drawn
               ), rows AS (
                 INSERT INTO updates (doc_id, seq, at, author_id, data, meta, chk, gseq)
                 SELECT u.d, u.s, u.a, u.au, u.da, u.m, u.c, g.vs[u.i]
                   FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::int[], $5::bytea[], $6::text[], $7::int[])
                        WITH ORDINALITY AS u(d, s, a, au, da, m, c, i), g
                 RETURNING gseq
               ), heads AS (
                 UPDATE docs SET head_seq = v.seq, head_hash = v.hash
                   FROM unnest($8::int[], $9::bigint[], $10::text[]) AS v(id, seq, hash) WHERE docs.id = v.id
               ), claims AS (
                 INSERT INTO client_owners (doc_id, client_id, owner)
                 SELECT * FROM unnest($11::int[], $12::bigint[], $13::text[]) ON CONFLICT DO NOTHING
               ), anchors AS (
                 INSERT INTO chain_anchors (doc_id, seq, hash)
                 SELECT * FROM unnest($14::int[], $15::bigint[], $16::bytea[]) ON CONFLICT DO NOTHING
               )
               SELECT coalesce(array_agg(gseq ORDER BY gseq), '{}') AS gseqs FROM rows`,
  readRange: `SELECT u.seq, u.gseq, u.at, u.data, u.meta, u.chk, u.prev_hash, a.user_name, a.party, a.role, a.conn
                FROM docs d JOIN updates u ON u.doc_id = d.id JOIN authors a ON a.id = u.author_id
               WHERE d.name = $1 AND u.seq > $2 AND u.seq <= $3 ORDER BY u.seq`,
  // Waits until no transaction holds these heads (one whose COMMIT was lost, say) and keeps others off them.
  shareDocs: `SELECT id FROM docs WHERE name = ANY($1::text[]) ORDER BY name COLLATE "C" FOR SHARE`,
  rowsAt: `SELECT d.name AS doc, u.seq, u.gseq, u.at, u.data, u.meta, u.chk, u.prev_hash, a.user_name, a.party, a.role, a.conn
             FROM unnest($1::text[], $2::bigint[]) AS w(doc, seq)
             JOIN docs d ON d.name = w.doc JOIN updates u ON u.doc_id = d.id AND u.seq = w.seq
             JOIN authors a ON a.id = u.author_id`,
  headSeq: `SELECT head_seq FROM docs WHERE name = $1`,
  // The sealed logs (migration 7): the head row is locked as the update log's is, so seqs are one order across instances.
  ensureSealedDocs: `INSERT INTO sealed_docs (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`,
  lockSealedDocs: `SELECT id, name, head_seq FROM sealed_docs WHERE name = ANY($1::text[]) ORDER BY name COLLATE "C" FOR UPDATE`,
  writeSealed: `WITH rows AS (
                  INSERT INTO sealed_rows (doc_id, author_id, seq, at, nonce, data)
                  SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[], $4::bigint[], $5::bytea[], $6::bytea[])
                )
                UPDATE sealed_docs SET head_seq = v.seq FROM unnest($7::int[], $8::bigint[]) AS v(id, seq) WHERE sealed_docs.id = v.id`,
  readSealed: `SELECT r.seq, r.at, r.nonce, r.data, a.user_name, a.party, a.role, a.conn
                 FROM sealed_docs d JOIN sealed_rows r ON r.doc_id = d.id JOIN authors a ON a.id = r.author_id
                WHERE d.name = $1 AND r.seq > $2 ORDER BY r.seq LIMIT $3`,
  sealedHead: `SELECT head_seq FROM sealed_docs WHERE name = $1`,
  chainHead: `SELECT head_seq, head_hash FROM docs WHERE name = $1`,
  anchors: `SELECT a.seq, a.hash FROM docs d JOIN chain_anchors a ON a.doc_id = d.id WHERE d.name = $1 ORDER BY a.seq`,
  // Writes the checkpoint and drops those below the newest $7 (counting it): a statement does not
  // see its own insert, hence the union. Two instances saving at once may leave one extra, which
  // the next save drops; neither ever drops one of the newest.
  saveCheckpoint: `WITH d AS (SELECT id FROM docs WHERE name = $1),
                   ins AS (
                     INSERT INTO doc_checkpoints (doc_id, seq, at, codec, size, state) SELECT id, $2, $3, $4, $5, $6 FROM d
                     ON CONFLICT (doc_id, seq) DO UPDATE
                       SET at = EXCLUDED.at, codec = EXCLUDED.codec, size = EXCLUDED.size, state = EXCLUDED.state
                   ), kept AS (
                     SELECT seq FROM (SELECT c.seq FROM doc_checkpoints c, d WHERE c.doc_id = d.id UNION SELECT $2::bigint) AS s
                      ORDER BY seq DESC LIMIT $7
                   )
                   DELETE FROM doc_checkpoints c USING d WHERE c.doc_id = d.id AND c.seq < (SELECT min(seq) FROM kept)`,
  latestCheckpoint: `SELECT c.seq, c.at, c.codec, c.state FROM docs d JOIN doc_checkpoints c ON c.doc_id = d.id
                      WHERE d.name = $1 AND c.seq <= $2 ORDER BY c.seq DESC LIMIT 1`,
  listCheckpoints: `SELECT c.seq, c.at, octet_length(c.state) AS "storedBytes", c.size AS "stateBytes"
                      FROM docs d JOIN doc_checkpoints c ON c.doc_id = d.id WHERE d.name = $1 ORDER BY c.seq`,
  owners: `SELECT o.client_id, o.owner FROM docs d JOIN client_owners o ON o.doc_id = d.id WHERE d.name = $1`,
  insertNegotiation: `INSERT INTO negotiations (id, title, parties, created_at) VALUES ($1, $2, $3::json, $4)`,
  getNegotiation: `SELECT id, title, parties, created_at FROM negotiations WHERE id = $1 AND deleted_at IS NULL`,
  // the rows stay (soft delete); the materialised history, derived from them, goes in the same statement
  deleteNegotiation: `WITH ${dropHistoryCtes('$2', '$3')}
                      UPDATE negotiations SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL`,
  listNegotiations: `SELECT id, title, parties, created_at FROM negotiations WHERE deleted_at IS NULL ORDER BY created_at, id`,
  insertToken: `INSERT INTO tokens (jti, negotiation_id, role, party, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
  revoke: `UPDATE tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL`,
  revokedSince: `SELECT jti, revoked_at FROM tokens WHERE revoked_at IS NOT NULL AND revoked_at >= $1`,
  isRevoked: `SELECT 1 FROM tokens WHERE jti = $1 AND revoked_at IS NOT NULL`,
  putVersion: `INSERT INTO versions
                 (negotiation_id, n, at, last_at, party, user_name, kind, term_ids, summary, name, board_seq, ledger_seq, hash, prev_hash, layout_only)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (negotiation_id, n) DO UPDATE SET
                 at = EXCLUDED.at, last_at = EXCLUDED.last_at, party = EXCLUDED.party, user_name = EXCLUDED.user_name,
                 kind = EXCLUDED.kind, term_ids = EXCLUDED.term_ids, summary = EXCLUDED.summary, name = EXCLUDED.name,
                 board_seq = EXCLUDED.board_seq, ledger_seq = EXCLUDED.ledger_seq, hash = EXCLUDED.hash,
                 prev_hash = EXCLUDED.prev_hash, layout_only = EXCLUDED.layout_only`,
  listVersions: `SELECT * FROM versions WHERE negotiation_id = $1 AND n > $2 ORDER BY n LIMIT $3`,
  lastVersion: `SELECT * FROM versions WHERE negotiation_id = $1 ORDER BY n DESC LIMIT 1`,
  versionCount: `SELECT count(*)::int AS total FROM versions WHERE negotiation_id = $1`,
  versionDensity: `SELECT ((n - 1) * $2::bigint) / $3::bigint AS b, party, kind, count(*)::int AS count,
                          min(n) AS min_n, max(n) AS max_n, min(at) AS min_at, max(at) AS max_at
                     FROM versions WHERE negotiation_id = $1 GROUP BY b, party, kind`,
  getVersion: `SELECT * FROM versions WHERE negotiation_id = $1 AND n = $2`,
  // The doc's id as a value (not a join), so the primary key answers: one probe per key, in the
  // order asked, and for the snapshot a backward scan that stops at the first row.
  historyBlocks: `SELECT h.level, h.start_seq, h.end_seq, h.data
                    FROM unnest($2::int[], $3::bigint[]) WITH ORDINALITY AS k(level, start_seq, i)
                    JOIN history_blocks h ON h.level = k.level AND h.start_seq = k.start_seq
                   WHERE h.doc_id = (SELECT id FROM docs WHERE name = $1) ORDER BY k.i`,
  historySnapshot: `SELECT seq, data FROM history_snapshots
                     WHERE doc_id = (SELECT id FROM docs WHERE name = $1) AND seq <= $2 ORDER BY seq DESC LIMIT 1`,
  historyState: `SELECT format, state FROM history_state WHERE negotiation_id = $1`,
  // A tab that saw less (an old one, left open) never moves anyone's catch-up back.
  markSeen: `INSERT INTO seen (negotiation_id, viewer, n, at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (negotiation_id, viewer) DO UPDATE SET n = excluded.n, at = excluded.at WHERE excluded.n >= seen.n`,
  lastSeen: `SELECT n, at FROM seen WHERE negotiation_id = $1 AND viewer = $2`,
  // Blocks, snapshots and state in one statement: one round trip, all or nothing. A block or
  // snapshot whose key is stored replaces it (the open level-1 block is written again as it fills).
  putHistory: `WITH blocks AS (
                 INSERT INTO history_blocks (doc_id, level, start_seq, end_seq, data)
                 SELECT d.id, b.level, b.start_seq, b.end_seq, b.data
                   FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bytea[]) AS b(doc, level, start_seq, end_seq, data)
                   JOIN docs d ON d.name = b.doc
                 ON CONFLICT (doc_id, level, start_seq) DO UPDATE SET end_seq = EXCLUDED.end_seq, data = EXCLUDED.data
               ), snapshots AS (
                 INSERT INTO history_snapshots (doc_id, seq, data)
                 SELECT d.id, s.seq, s.data
                   FROM unnest($7::text[], $8::bigint[], $9::bytea[]) AS s(doc, seq, data)
                   JOIN docs d ON d.name = s.doc
                 ON CONFLICT (doc_id, seq) DO UPDATE SET data = EXCLUDED.data
               )
               INSERT INTO history_state (negotiation_id, format, state) VALUES ($1, $10, $11)
               ON CONFLICT (negotiation_id) DO UPDATE SET format = EXCLUDED.format, state = EXCLUDED.state`,
  dropHistory: `WITH ${dropHistoryCtes('$1', '$2')} SELECT 1`,
  ping: `SELECT 1`,
} as const

type StatementName = keyof typeof SQL

const stmt = (name: StatementName, values: unknown[]): QueryConfig => ({ name: `parley_${name}`, text: SQL[name], values })

/**
 * bigint columns (seq, ms timestamps, client ids) come back as numbers: every
 * value Parley stores is far below 2^53. Scoped to this pool, not set globally.
 */
const INT8_OID = 20
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

/** Bounded caches of immutable facts: cleared wholesale when full, which only costs a round trip later. */
const CACHE_LIMIT = 50_000

// ── the store ────────────────────────────────────────────────────────────

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const
  /** names of docs whose row is committed (doc rows are never deleted) */
  private knownDocs = new Set<string>()
  /** the same for sealed docs (sealed_docs) */
  private knownSealedDocs = new Set<string>()
  /** author key → id (author rows are never changed or deleted) */
  private authorIds = new Map<string, number>()
  private closed: Promise<void> | null = null
  /** commands of this instance queue here first, so only one connection per key waits for the advisory lock */
  private localLocks = new KeyedLock()

  private constructor(
    readonly pool: Pool,
    /** advisory locks are held on connections of their own: a holder waiting for the main pool could starve it */
    private readonly lockPool: Pool,
    private readonly pingTimeoutMs: number,
    private readonly lockWaitMs: number,
    /** advisory locks are database-wide: the schema keeps deployments (and test runs) sharing a database apart */
    private readonly lockNamespace: string,
    private readonly settleTimeoutMs: number,
  ) {}

  /** Opens a pool, checks the server and applies pending migrations. */
  static async connect(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const config: PoolConfig = {
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
      query_timeout: opts.queryTimeoutMs ?? 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 8000,
      lock_timeout: opts.lockTimeoutMs ?? 5000,
      // a crashed or partitioned instance must not hold a doc's lock for long
      idle_in_transaction_session_timeout: 15_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: opts.readOnly ? 'parley-reader' : 'parley',
      types,
    }
    const pool = new pg.Pool(config)
    // Without a listener an idle connection's error (server restart) would crash the process.
    pool.on('error', (err) => opts.onIdleError?.(err))
    // A reader's sessions refuse writes (set per connection: the URL's own `options` may set search_path).
    if (opts.readOnly)
      pool.on('connect', (client) => void client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY').catch(() => {}))
    let namespace: string
    try {
      const client = await pool.connect()
      try {
        const { rows } = await client.query<{ v: string; schema: string }>(
          'SELECT current_setting($1) AS v, coalesce(current_schema(), $2) AS schema',
          ['server_version_num', ''],
        )
        if (Number(rows[0]?.v) < 150000)
          throw new Error(`PostgreSQL 15 or newer is required (UNIQUE NULLS NOT DISTINCT); this server is ${rows[0]?.v}`)
        namespace = rows[0]!.schema
        if (opts.readOnly) await checkSchema(client, namespace)
        else await migrate(client)
        client.release()
      } catch (err) {
        client.release(true)
        throw err
      }
    } catch (err) {
      await pool.end().catch(() => undefined)
      throw mapError(err)
    }
    const lockWaitMs = opts.lockWaitMs ?? 5000
    const lockPool = new pg.Pool({
      ...config,
      max: opts.lockPoolSize ?? 8,
      lock_timeout: undefined, // set per acquisition, to what is left of the wait
      statement_timeout: lockWaitMs + 1000,
      query_timeout: lockWaitMs + 3000,
      // shorter than the idle_session_timeout set on these sessions, so the pool closes them first
      idleTimeoutMillis: 10_000,
    })
    lockPool.on('error', (err) => opts.onIdleError?.(err))
    return new PostgresStore(pool, lockPool, opts.pingTimeoutMs ?? 1500, lockWaitMs, namespace, opts.settleTimeoutMs ?? 2000)
  }

  private async q<R extends QueryResultRow>(name: StatementName, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(stmt(name, values))).rows
    } catch (err) {
      throw mapError(err)
    }
  }

  private async exec(name: StatementName, values: unknown[]): Promise<number> {
    try {
      return (await this.pool.query(stmt(name, values))).rowCount ?? 0
    } catch (err) {
      throw mapError(err)
    }
  }

  /**
   * Runs `fn` in one transaction on one pooled connection; a broken connection is dropped, not
   * reused. A COMMIT that got no answer because the connection failed rejects with CommitLost:
   * it may have committed.
   */
  private async transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient
    try {
      client = await this.pool.connect()
    } catch (err) {
      throw mapError(err)
    }
    // A checked-out client has no pool listener, and pg emits 'error' on the client when its
    // connection dies (also mid-query): unheard, that would take the process down. The
    // failure reaches us through the query's promise anyway.
    const onError = () => undefined
    client.on('error', onError)
    let discard = false
    let committing = false
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      committing = true
      await client.query('COMMIT')
      return result
    } catch (err) {
      if (connectionIsBroken(err)) discard = true
      else if (!committing) await client.query('ROLLBACK').catch(() => (discard = true))
      // The server answering that the COMMIT failed means it rolled back; only silence is ambiguous.
      if (committing && !(err instanceof pg.DatabaseError)) throw new CommitLost(err)
      throw err
    } finally {
      client.off('error', onError)
      client.release(discard)
    }
  }

  // ── update log ───────────────────────────────────────────────────────

  async appendUpdates(batch: NewUpdate[], claims: ClientClaim[] = []): Promise<AppendResult[]> {
    if (batch.length === 0 && claims.length === 0) return []
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.appendOnce(batch, claims)
      } catch (err) {
        const code = (err as { code?: string }).code
        if (attempt < APPEND_ATTEMPTS && code !== undefined && RETRYABLE_SQLSTATE.has(code)) continue
        throw mapError(err)
      }
    }
  }

  private async appendOnce(batch: NewUpdate[], claims: ClientClaim[]): Promise<AppendResult[]> {
    const names = [...new Set([...batch.map((u) => u.doc), ...claims.map((c) => c.doc)])].sort()
    const newAuthors = new Map<string, number>()
    /** the rows as this attempt writes them, known once the statement that writes them is sent */
    let planned: AppendResult[] = []
    let results: AppendResult[]
    try {
      results = await this.transaction(async (c) => {
        const unknown = names.filter((n) => !this.knownDocs.has(n))
        if (unknown.length > 0) await c.query(stmt('ensureDocs', [unknown, GENESIS_HASH]))
        // New authors are interned before the doc locks are taken, to keep the locks short.
        const authorIds: number[] = []
        for (const row of batch) authorIds.push(await this.authorId(c, row.author, newAuthors))
        // The lock that makes seqs a total order across instances; held until COMMIT.
        const locked = await c.query<{ id: number; name: string; head_seq: number; head_hash: string }>(stmt('lockDocs', [names]))
        const heads = new Map(locked.rows.map((r) => [r.name, { id: r.id, seq: r.head_seq, hash: r.head_hash }]))
        for (const n of names) if (!heads.has(n)) throw new Error(`doc row for "${n}" vanished inside its transaction`)

        const docIds: number[] = []
        const seqs: number[] = []
        const ats: number[] = []
        const data: Uint8Array[] = []
        const metas: Array<string | null> = []
        const checks: number[] = []
        const anchors: { docs: number[]; seqs: number[]; hashes: Buffer[] } = { docs: [], seqs: [], hashes: [] }
        const out: AppendResult[] = []
        for (const row of batch) {
          const head = heads.get(row.doc)!
          const seq = head.seq + 1
          const meta = storedMeta(row.meta)
          const hash = logRowHash(head.hash, row, seq, meta)
          docIds.push(head.id)
          seqs.push(seq)
          ats.push(row.at)
          data.push(row.update)
          metas.push(meta)
          checks.push(checkOf(hash))
          if (seq % ANCHOR_EVERY === 0) {
            anchors.docs.push(head.id)
            anchors.seqs.push(seq)
            anchors.hashes.push(hashBytes(hash))
          }
          head.seq = seq
          head.hash = hash
          out.push({ doc: row.doc, seq, hash, gseq: 0 })
        }
        const moved = [...new Set(batch.map((u) => u.doc))].map((n) => heads.get(n)!)
        const written = await c.query<{ gseqs: number[] }>(
          stmt('writeBatch', [
            ...[docIds, seqs, ats, authorIds, data, metas, checks],
            ...[moved.map((h) => h.id), moved.map((h) => h.seq), moved.map((h) => h.hash)],
            ...[claims.map((cl) => heads.get(cl.doc)!.id), claims.map((cl) => cl.clientId), claims.map((cl) => cl.owner)],
            ...[anchors.docs, anchors.seqs, anchors.hashes],
          ]),
        )
        const gseqs = written.rows[0]!.gseqs
        out.forEach((r, i) => (r.gseq = Number(gseqs[i])))
        planned = out
        return out
      })
    } catch (err) {
      if (!(err instanceof CommitLost)) throw err
      results = await this.settleLost(planned, err.cause)
    }
    // Committed: now these facts are true for every instance, and may be cached.
    if (this.knownDocs.size + names.length > CACHE_LIMIT) this.knownDocs.clear()
    for (const n of names) this.knownDocs.add(n)
    if (this.authorIds.size + newAuthors.size > CACHE_LIMIT) this.authorIds.clear()
    for (const [k, id] of newAuthors) this.authorIds.set(k, id)
    return results
  }

  /**
   * The COMMIT of `planned` was sent and the connection died before the answer came. Storing
   * nothing and letting the writers resend could store their updates twice (it may have
   * committed), so find out first, for up to `settleTimeoutMs`: committed → the append
   * succeeded; not committed → a plain failure (resending is safe); still unknown →
   * CommitOutcomeUnknownError, and the caller asks settleAppend again later.
   */
  private async settleLost(planned: AppendResult[], cause: unknown): Promise<AppendResult[]> {
    // A claims-only batch wrote no row; claims are first-wins and harmless to repeat.
    if (planned.length === 0) throw new StoreUnavailableError(cause)
    const deadline = Date.now() + this.settleTimeoutMs
    for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
      let landed: boolean
      try {
        landed = await this.settleAppend(planned)
      } catch {
        if (Date.now() + wait > deadline) throw new CommitOutcomeUnknownError(cause, planned)
        await new Promise((r) => setTimeout(r, wait))
        continue
      }
      if (landed) return planned
      throw new StoreUnavailableError(cause)
    }
  }

  /**
   * Did the append that was to write `planned` commit? Its transaction held its docs' heads
   * until it ended: taking them (FOR SHARE) first waits for that end, so what the next
   * statement sees is final. Then the batch's first row is compared by its gseq, drawn from a
   * sequence that never gives a number twice, and its check, which covers its data, author,
   * time, meta and place in the chain (the batch was all or nothing).
   */
  async settleAppend(planned: AppendResult[]): Promise<boolean> {
    const first = planned[0]
    if (!first) return false
    const names = [...new Set(planned.map((p) => p.doc))].sort()
    try {
      return await this.transaction(async (c) => {
        await c.query(stmt('shareDocs', [names]))
        const { rows } = await c.query<UpdateRow & { doc: string }>(stmt('rowsAt', [[first.doc], [first.seq]]))
        const row = rows[0]
        return !!row && row.gseq === first.gseq && row.chk === checkOf(first.hash)
      })
    } catch (err) {
      throw err instanceof CommitLost ? new StoreUnavailableError(err.cause) : mapError(err)
    }
  }

  // ── sealed caucus logs ───────────────────────────────────────────────

  /**
   * One transaction: the docs' head rows locked (in name order, as appends lock theirs), the rows
   * numbered from them, written and the heads moved in one statement. A COMMIT left unanswered is
   * reported as StoreUnavailableError: the caller closes the sender, which resends what a
   * catch-up does not show it stored (its nonces) — a sealed row stored twice is harmless, its
   * plaintext being a Yjs update.
   */
  async appendSealed(rows: NewSealed[]): Promise<Array<{ doc: string; seq: number }>> {
    if (rows.length === 0) return []
    const names = [...new Set(rows.map((r) => r.doc))].sort()
    const newAuthors = new Map<string, number>()
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await this.transaction(async (c) => {
          const unknown = names.filter((n) => !this.knownSealedDocs.has(n))
          if (unknown.length > 0) await c.query(stmt('ensureSealedDocs', [unknown]))
          const authorIds: number[] = []
          for (const row of rows) authorIds.push(await this.authorId(c, row.author, newAuthors))
          const locked = await c.query<{ id: number; name: string; head_seq: number }>(stmt('lockSealedDocs', [names]))
          const heads = new Map(locked.rows.map((r) => [r.name, { id: r.id, seq: r.head_seq }]))
          const seqs = rows.map((row) => {
            const head = heads.get(row.doc)
            if (!head) throw new Error(`sealed doc row for "${row.doc}" vanished inside its transaction`)
            return ++head.seq
          })
          const moved = names.map((n) => heads.get(n)!)
          await c.query(
            stmt('writeSealed', [
              rows.map((r) => heads.get(r.doc)!.id),
              authorIds,
              seqs,
              rows.map((r) => r.at),
              rows.map((r) => r.nonce),
              rows.map((r) => r.ciphertext),
              moved.map((h) => h.id),
              moved.map((h) => h.seq),
            ]),
          )
          return rows.map((r, i) => ({ doc: r.doc, seq: seqs[i]! }))
        })
        if (this.knownSealedDocs.size + names.length > CACHE_LIMIT) this.knownSealedDocs.clear()
        for (const n of names) this.knownSealedDocs.add(n)
        if (this.authorIds.size + newAuthors.size > CACHE_LIMIT) this.authorIds.clear()
        for (const [k, id] of newAuthors) this.authorIds.set(k, id)
        return results
      } catch (err) {
        if (err instanceof CommitLost) throw new StoreUnavailableError(err.cause)
        const code = (err as { code?: string }).code
        if (attempt < APPEND_ATTEMPTS && code !== undefined && RETRYABLE_SQLSTATE.has(code)) {
          newAuthors.clear()
          continue
        }
        throw mapError(err)
      }
    }
  }

  async readSealed(doc: string, afterSeq: number, limit: number): Promise<StoredSealed[]> {
    type Row = {
      seq: number
      at: number
      nonce: Buffer
      data: Buffer
      user_name: string
      party: string | null
      role: string
      conn: string
    }
    const rows = await this.q<Row>('readSealed', [doc, afterSeq, Math.max(0, limit)])
    return rows.map((r) => ({
      doc,
      seq: r.seq,
      at: r.at,
      author: authorFromColumns(r),
      nonce: bytesOf(r.nonce),
      ciphertext: bytesOf(r.data),
    }))
  }

  async sealedHead(doc: string): Promise<number> {
    const rows = await this.q<{ head_seq: number }>('sealedHead', [doc])
    return rows[0]?.head_seq ?? 0
  }

  /** Interns an author inside the append transaction; the id is cached only once that commits. */
  private async authorId(c: PoolClient, a: Author, pending: Map<string, number>): Promise<number> {
    const key = `${a.conn}\u0000${a.user}\u0000${a.party === null ? '\u0001' : a.party}\u0000${a.role}`
    const known = this.authorIds.get(key) ?? pending.get(key)
    if (known !== undefined) return known
    // A concurrent insert of the same author that commits while we wait is not
    // in this statement's snapshot: the next statement sees it.
    for (let i = 0; i < 3; i++) {
      const { rows } = await c.query<{ id: number }>(stmt('internAuthor', [a.user, a.party, a.role, a.conn]))
      if (rows[0]) {
        pending.set(key, rows[0].id)
        return rows[0].id
      }
    }
    throw new Error('could not intern an author row')
  }

  async readUpdates(doc: string, afterSeq: number, uptoSeq = Number.MAX_SAFE_INTEGER): Promise<StoredUpdate[]> {
    const rows = await this.q<UpdateRow>('readRange', [doc, afterSeq, uptoSeq])
    return rows.map((r) => toStoredUpdate(doc, r))
  }

  async headSeq(doc: string): Promise<number> {
    const rows = await this.q<{ head_seq: number }>('headSeq', [doc])
    return rows[0]?.head_seq ?? 0
  }

  scanUpdates(doc: string, visit: (rows: StoredUpdate[], total: number) => void | Promise<void>, pageSize = 5000): Promise<void> {
    return scanUpdatesInPages(this, doc, visit, pageSize)
  }

  async chainHead(doc: string): Promise<LogHead> {
    const rows = await this.q<{ head_seq: number; head_hash: string }>('chainHead', [doc])
    const r = rows[0]
    return r ? { seq: r.head_seq, hash: r.head_hash } : { seq: 0, hash: GENESIS_HASH }
  }

  async chainAnchors(doc: string): Promise<ChainAnchor[]> {
    const rows = await this.q<{ seq: number; hash: Buffer }>('anchors', [doc])
    return rows.map((r) => ({ seq: r.seq, hash: hashHex(r.hash) }))
  }

  // ── checkpoints ──────────────────────────────────────────────────────

  /** Compressed on the thread pool, then written and the doc's older checkpoints dropped, in one statement. */
  async saveCheckpoint(cp: Checkpoint): Promise<void> {
    const [{ codec, bytes: stored }] = await Promise.all([encodeCheckpoint(cp.state), this.ensureDoc(cp.doc)])
    await this.exec('saveCheckpoint', [cp.doc, cp.seq, cp.at, codec, cp.state.byteLength, stored, CHECKPOINTS_KEPT])
  }

  async latestCheckpoint(doc: string, atOrBefore = Number.MAX_SAFE_INTEGER): Promise<Checkpoint | null> {
    const rows = await this.q<{ seq: number; at: number; codec: number; state: Buffer }>('latestCheckpoint', [doc, atOrBefore])
    const r = rows[0]
    return r ? { doc, seq: r.seq, at: r.at, state: decodeCheckpointSync(r.codec, bytesOf(r.state)) } : null
  }

  async listCheckpoints(doc: string): Promise<CheckpointInfo[]> {
    return this.q<CheckpointInfo & QueryResultRow>('listCheckpoints', [doc])
  }

  private async ensureDoc(doc: string): Promise<void> {
    if (this.knownDocs.has(doc)) return
    await this.exec('ensureDocs', [[doc], GENESIS_HASH])
    this.knownDocs.add(doc)
  }

  // ── client ids ───────────────────────────────────────────────────────

  async clientOwners(doc: string): Promise<Map<number, string>> {
    const rows = await this.q<{ client_id: number; owner: string }>('owners', [doc])
    return new Map(rows.map((r) => [r.client_id, r.owner]))
  }

  // ── negotiations and tokens ──────────────────────────────────────────

  async createNegotiation(n: NegotiationRecord): Promise<void> {
    await this.exec('insertNegotiation', [n.id, n.title, JSON.stringify(n.parties), n.createdAt])
  }

  async getNegotiation(id: string): Promise<NegotiationRecord | null> {
    const rows = await this.q<NegotiationRow>('getNegotiation', [id])
    return rows[0] ? toNegotiation(rows[0]) : null
  }

  async deleteNegotiation(id: string): Promise<boolean> {
    return (await this.exec('deleteNegotiation', [Date.now(), id, historyDocNames(id)])) > 0
  }

  async listNegotiations(): Promise<NegotiationRecord[]> {
    return (await this.q<NegotiationRow>('listNegotiations', [])).map(toNegotiation)
  }

  async recordToken(t: TokenRecord): Promise<void> {
    await this.exec('insertToken', [t.jti, t.negotiationId, t.role, t.party, t.createdAt, t.expiresAt])
  }

  async revokeToken(jti: string, at: number): Promise<boolean> {
    return (await this.exec('revoke', [at, jti])) > 0
  }

  async revokedSince(since: number): Promise<Array<{ jti: string; revokedAt: number }>> {
    const rows = await this.q<{ jti: string; revoked_at: number }>('revokedSince', [since])
    return rows.map((r) => ({ jti: r.jti, revokedAt: r.revoked_at }))
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.q('isRevoked', [jti])).length > 0
  }

  // ── version index ────────────────────────────────────────────────────

  /** One transaction for all of them; `ride` is ignored (appends here are not group commits of one process). */
  async putVersions(versions: VersionRecord[], _opts: PutVersionsOptions = {}): Promise<void> {
    if (versions.length === 0) return
    if (versions.length === 1) return void (await this.exec('putVersion', versionParams(versions[0]!)))
    try {
      await this.transaction(async (c) => {
        for (const v of versions) await c.query(stmt('putVersion', versionParams(v)))
      })
    } catch (err) {
      throw mapError(err)
    }
  }

  async listVersions(negotiationId: string, page: VersionPage = {}): Promise<VersionRecord[]> {
    // LIMIT NULL is no limit
    return (await this.q<VersionRow>('listVersions', [negotiationId, page.after ?? 0, page.limit ?? null])).map(toVersion)
  }

  async lastVersion(negotiationId: string): Promise<VersionRecord | null> {
    const rows = await this.q<VersionRow>('lastVersion', [negotiationId])
    return rows[0] ? toVersion(rows[0]) : null
  }

  async versionDensity(negotiationId: string, buckets: number): Promise<VersionDensity> {
    const [{ total }] = (await this.q<{ total: number }>('versionCount', [negotiationId])) as [{ total: number }]
    if (total === 0) return { total, buckets: [] }
    const rows = await this.q<Parameters<typeof densityFromRows>[1][number]>('versionDensity', [
      negotiationId,
      Math.max(1, buckets),
      total,
    ])
    return densityFromRows(total, rows)
  }

  async getVersion(negotiationId: string, n: number): Promise<VersionRecord | null> {
    const rows = await this.q<VersionRow>('getVersion', [negotiationId, n])
    return rows[0] ? toVersion(rows[0]) : null
  }

  // ── materialised history ─────────────────────────────────────────────

  async historyBlocks(negotiationId: string, doc: HistoryDoc, keys: HistoryBlockKey[]): Promise<HistoryBlock[]> {
    const name = historyDocName(negotiationId, doc)
    if (keys.length === 0) return []
    const rows = await this.q<{ level: number; start_seq: number; end_seq: number; data: Buffer }>('historyBlocks', [
      name,
      keys.map((k) => k.level),
      keys.map((k) => k.start),
    ])
    return rows.map((r) => ({ doc, level: r.level, start: r.start_seq, end: r.end_seq, data: bytesOf(r.data) }))
  }

  async historySnapshot(negotiationId: string, doc: HistoryDoc, atOrBefore: number): Promise<HistorySnapshot | null> {
    const rows = await this.q<{ seq: number; data: Buffer }>('historySnapshot', [historyDocName(negotiationId, doc), atOrBefore])
    const r = rows[0]
    return r ? { doc, seq: r.seq, data: bytesOf(r.data) } : null
  }

  async markSeen(negotiationId: string, viewer: string, n: number, at: number): Promise<void> {
    await this.exec('markSeen', [negotiationId, viewer, n, at])
  }

  async lastSeen(negotiationId: string, viewer: string): Promise<{ n: number; at: number } | null> {
    const rows = await this.q<{ n: number; at: number }>('lastSeen', [negotiationId, viewer])
    return rows[0] ?? null
  }

  async historyState(negotiationId: string): Promise<HistoryState | null> {
    const rows = await this.q<HistoryState & QueryResultRow>('historyState', [negotiationId])
    return rows[0] ?? null
  }

  /**
   * The docs are named (and refused when they are neither board nor ledger) and their rows made
   * first, outside the write, as saveCheckpoint does; then one statement. Within one call a later
   * block or snapshot with the same key wins, as it would written one after another (ON CONFLICT
   * may not touch a row twice in one statement).
   */
  async putHistory(
    negotiationId: string,
    writes: { blocks: HistoryBlock[]; snapshots: HistorySnapshot[] },
    state: HistoryState,
  ): Promise<void> {
    const blocks = [...new Map(writes.blocks.map((b) => [`${b.doc}/${b.level}/${b.start}`, b])).values()]
    const snapshots = [...new Map(writes.snapshots.map((sn) => [`${sn.doc}/${sn.seq}`, sn])).values()]
    const blockDocs = blocks.map((b) => historyDocName(negotiationId, b.doc))
    const snapshotDocs = snapshots.map((sn) => historyDocName(negotiationId, sn.doc))
    await Promise.all([...new Set([...blockDocs, ...snapshotDocs])].map((n) => this.ensureDoc(n)))
    await this.exec('putHistory', [
      negotiationId,
      ...[blockDocs, blocks.map((b) => b.level), blocks.map((b) => b.start), blocks.map((b) => b.end), blocks.map((b) => b.data)],
      ...[snapshotDocs, snapshots.map((sn) => sn.seq), snapshots.map((sn) => sn.data)],
      state.format,
      state.state,
    ])
  }

  async dropHistory(negotiationId: string): Promise<void> {
    await this.exec('dropHistory', [negotiationId, historyDocNames(negotiationId)])
  }

  // ── locks ────────────────────────────────────────────────────────────

  /**
   * A session-level `pg_advisory_lock` on a connection of the lock pool, held
   * while `fn` runs and released after it however it ends. Waiting is bounded
   * by `lockWaitMs` in all (the local queue, a free lock connection, the
   * advisory lock itself); past it, StoreUnavailableError. A holder that
   * crashes or loses its connection loses the lock with its session; a holder
   * cut off by a partition loses it after the session's idle_session_timeout
   * (LOCK_SESSION_IDLE_MS), so other instances are never locked out for long.
   */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.lockWaitMs
    const releaseLocal = await this.localLocks.acquire(key, this.lockWaitMs)
    try {
      let client: PoolClient
      try {
        client = await this.lockPool.connect()
      } catch (err) {
        throw mapError(err)
      }
      // While checked out the pool does not listen to the client: a session that dies under a holder must not throw.
      const onError = () => undefined
      client.on('error', onError)
      const release = (discard: boolean) => {
        client.off('error', onError)
        client.release(discard)
      }
      const id = advisoryLockId(this.lockNamespace, key)
      try {
        const waitMs = Math.max(1, deadline - Date.now())
        // one round trip; every value is a number made here (simple protocol, several statements)
        await client.query(
          `SET lock_timeout = ${waitMs}; SET idle_session_timeout = ${LOCK_SESSION_IDLE_MS}; SELECT pg_advisory_lock(${id})`,
        )
      } catch (err) {
        // A client-side timeout may leave the lock request running: drop the session, and the lock with it.
        release(connectionIsBroken(err))
        if (err instanceof pg.DatabaseError && err.code === '55P03') {
          throw new StoreUnavailableError(new Error(`lock "${key}" not acquired within ${this.lockWaitMs} ms`))
        }
        throw mapError(err)
      }
      try {
        return await fn()
      } finally {
        try {
          await client.query(`SELECT pg_advisory_unlock(${id})`)
          release(false)
        } catch {
          // Ending the session releases every lock it holds.
          release(true)
        }
      }
    } finally {
      releaseLocal()
    }
  }

  // ── lifecycle ────────────────────────────────────────────────────────

  /**
   * One round trip, bounded by `pingTimeoutMs` whatever the pool is doing:
   * an unreachable host would otherwise hold it for the connect timeout.
   */
  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(new Error('ping timed out'))), this.pingTimeoutMs)
    })
    // query_timeout per query is honoured by pg but missing from @types/pg's QueryConfig
    const query = this.pool.query({ ...stmt('ping', []), query_timeout: this.pingTimeoutMs } as QueryConfig)
    query.catch(() => undefined) // it may settle after the timeout won
    try {
      await Promise.race([query, timeout])
    } catch (err) {
      throw mapError(err)
    } finally {
      clearTimeout(timer)
    }
  }

  close(): Promise<void> {
    const end = (p: Pool) => p.end().catch(() => undefined)
    return (this.closed ??= Promise.all([end(this.pool), end(this.lockPool)]).then(() => undefined))
  }
}

/** How long a lock session may sit idle (its holder partitioned away) before the server ends it and frees the lock. */
const LOCK_SESSION_IDLE_MS = 60_000

/** The 64-bit key of `pg_advisory_lock` for a lock name: SHA-256 of schema and name (a collision only serialises two keys). */
function advisoryLockId(namespace: string, key: string): string {
  return createHash('sha256').update(namespace).update('\u0000').update(key).digest().readBigInt64BE(0).toString()
}

// ── rows ─────────────────────────────────────────────────────────────────

/** An update row as pg returns it, joined with its author. */
type UpdateRow = Omit<UpdateColumns, 'data'> & {
  data: Buffer
  user_name: string
  party: string | null
  role: string
  conn: string
}

/** pg's types → the shared shapes (rowMappers.ts). */
const toStoredUpdate = (doc: string, r: UpdateRow): StoredUpdate =>
  updateFromColumns(doc, { ...r, data: bytesOf(r.data) }, authorFromColumns(r))

type NegotiationRow = NegotiationColumns

const toNegotiation = (r: NegotiationRow): NegotiationRecord => negotiationFromColumns(r)

/** A version row as pg returns it (`user` is a reserved word there). */
type VersionRow = Omit<VersionColumns, 'user'> & { user_name: string }

const toVersion = (r: VersionRow): VersionRecord => versionFromColumns({ ...r, user: r.user_name })

function versionParams(v: VersionRecord): unknown[] {
  return [
    v.negotiationId,
    v.n,
    v.at,
    v.lastAt,
    v.party,
    v.user,
    v.kind,
    v.termIds,
    v.summary,
    v.name ?? null,
    v.boardSeq,
    v.ledgerSeq,
    v.hash,
    v.prevHash,
    v.layoutOnly === true,
  ]
}
