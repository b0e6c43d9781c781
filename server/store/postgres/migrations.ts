/**
 * The PostgreSQL schema, as an ordered list of migrations. Each one runs once,
 * in its own transaction, and is recorded in `parley_migrations`; a migration
 * that has shipped is never edited — a change is a new entry at the end.
 *
 * Tables live in the first schema of the connection's search_path, so one
 * database can hold several isolated Parley installations (tests use a schema
 * per run via `?options=-c search_path=…` in the URL).
 */
import type { PoolClient } from 'pg'
import { ANCHOR_EVERY, GENESIS_HASH, legacyCheck } from '../chain'
import { encodeCheckpointSync } from '../checkpointCodec'
import { backfillOrder, type DocRows, type VersionCut } from '../logOrder'
import { CHECKPOINTS_KEPT } from '../types'

export interface Migration {
  version: number
  name: string
  sql: string
  /** what SQL alone cannot say, run after `sql` in the same transaction */
  run?: (client: PoolClient) => Promise<void>
}

/** The recorded hash of each old row: the link of the row after it, or the doc's head hash for the last (see chain.ts legacyCheck). */
const RECORDED = `
  SELECT u.*, d.name,
         CASE WHEN lead(u.seq) OVER w = u.seq + 1 THEN lead(u.prev_hash) OVER w
              WHEN lead(u.seq) OVER w IS NULL AND u.seq = d.head_seq THEN d.head_hash
         END AS recorded
    FROM updates u JOIN docs d ON d.id = u.doc_id
  WINDOW w AS (PARTITION BY u.doc_id ORDER BY u.seq)`

const IS_HASH = `~ '^[0-9a-f]{64}$'`

/**
 * Migration 3 (see compactLog below for what it is for): the log is copied
 * into its compact table, the anchors taken from the old rows' links.
 */
const COMPACT_LOG_SQL = `
-- Instances of the previous build may be appending (a rolling upgrade): they wait until this
-- commits, so no row is committed to the old table after it was copied.
LOCK TABLE updates IN SHARE MODE;
-- Columns by alignment (8-byte ones first, the variable ones last): 92 bytes a typical row instead of ~156.
CREATE TABLE updates_compact (
  doc_id    integer NOT NULL REFERENCES docs (id),
  author_id integer NOT NULL REFERENCES authors (id),
  seq       bigint  NOT NULL,
  gseq      bigint  NOT NULL DEFAULT nextval('updates_gseq'),
  at        bigint  NOT NULL,
  -- the first 4 bytes of the row's chain hash, signed (server/store/chain.ts checkOf)
  chk       integer,
  data      bytea   NOT NULL,
  meta      text,
  -- only rows an instance of the previous build appends during a rolling upgrade: its link, and no chk
  prev_hash text,
  PRIMARY KEY (doc_id, seq)
);
INSERT INTO updates_compact (doc_id, author_id, seq, gseq, at, chk, data, meta)
SELECT doc_id, author_id, seq, gseq, at,
       CASE WHEN recorded ${IS_HASH} THEN ('x' || substr(recorded, 1, 8))::bit(32)::integer END,
       data, meta
  FROM (${RECORDED}) AS r;

-- The full hash of row s, as row s + 1 recorded it (or the head); append-only like the log.
CREATE TABLE chain_anchors (
  doc_id integer NOT NULL REFERENCES docs (id),
  seq    bigint  NOT NULL,
  hash   bytea   NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
INSERT INTO chain_anchors (doc_id, seq, hash)
SELECT doc_id, seq - 1, decode(prev_hash, 'hex') FROM updates
 WHERE seq > 1 AND (seq - 1) % ${ANCHOR_EVERY} = 0 AND prev_hash ${IS_HASH}
UNION ALL
SELECT id, head_seq, decode(head_hash, 'hex') FROM docs
 WHERE head_seq > 0 AND head_seq % ${ANCHOR_EVERY} = 0 AND head_hash ${IS_HASH}
ON CONFLICT DO NOTHING;
-- a first row that did not link to genesis: kept as evidence (verify reports row 1)
INSERT INTO chain_anchors (doc_id, seq, hash)
SELECT doc_id, 0, CASE WHEN prev_hash ${IS_HASH} THEN decode(prev_hash, 'hex') ELSE decode(repeat('ff', 32), 'hex') END
  FROM updates WHERE seq = 1 AND prev_hash <> '${GENESIS_HASH}'
ON CONFLICT DO NOTHING;
CREATE TRIGGER chain_anchors_append_only BEFORE UPDATE OR DELETE ON chain_anchors
  FOR EACH ROW EXECUTE FUNCTION parley_refuse_log_change();
CREATE TRIGGER chain_anchors_no_truncate BEFORE TRUNCATE ON chain_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION parley_refuse_log_change();

CREATE TABLE doc_checkpoints (
  doc_id integer  NOT NULL REFERENCES docs (id),
  seq    bigint   NOT NULL,
  at     bigint   NOT NULL,
  -- how state is encoded (server/store/checkpointCodec.ts), and its size decoded
  codec  smallint NOT NULL,
  size   integer  NOT NULL,
  state  bytea    NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
-- already compressed: TOAST compressing it again would only cost time
ALTER TABLE doc_checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;
`

/**
 * Migration 4: the materialised history (server/history/materialiser.ts),
 * derived from the logs and rebuilt from them when lost. Blocks and snapshots
 * hang on the log doc's integer id like the log rows do, columns by alignment;
 * their bytes are deflated already, so TOAST stores them without compressing
 * again. The state is one row per negotiation. New tables only: instances of
 * the previous build, during a rolling upgrade, never touch them.
 */
const HISTORY_4_SQL = `
CREATE TABLE history_blocks (
  -- the block covers the rows (start_seq, end_seq]
  start_seq bigint   NOT NULL,
  end_seq   bigint   NOT NULL,
  doc_id    integer  NOT NULL REFERENCES docs (id),
  level     smallint NOT NULL,
  data      bytea    NOT NULL,
  PRIMARY KEY (doc_id, level, start_seq)
);
ALTER TABLE history_blocks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE history_snapshots (
  seq    bigint  NOT NULL,
  doc_id integer NOT NULL REFERENCES docs (id),
  data   bytea   NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
ALTER TABLE history_snapshots ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE history_state (
  negotiation_id text    PRIMARY KEY,
  format         integer NOT NULL,
  state          text    NOT NULL
);
`

/**
 * Migration 7: the sealed caucus logs (CONTRACT.md "Sealed caucus"), apart from `docs` and the
 * update log: no hash chain, checkpoints or history. Appenders lock the doc's head row (as for the
 * log), which makes its seqs one gap-free order across instances. The rows are append-only like
 * the log's. A ciphertext does not compress: stored without TOAST's attempt. New tables only:
 * instances of the previous build, during a rolling upgrade, never touch them.
 */
const SEALED_7_SQL = `
CREATE TABLE sealed_docs (
  id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name     text    NOT NULL UNIQUE,
  head_seq bigint  NOT NULL DEFAULT 0
);
CREATE TABLE sealed_rows (
  doc_id    integer NOT NULL REFERENCES sealed_docs (id),
  author_id integer NOT NULL REFERENCES authors (id),
  seq       bigint  NOT NULL,
  at        bigint  NOT NULL,
  nonce     bytea   NOT NULL,
  data      bytea   NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
ALTER TABLE sealed_rows ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TRIGGER sealed_rows_append_only BEFORE UPDATE OR DELETE ON sealed_rows
  FOR EACH ROW EXECUTE FUNCTION parley_refuse_log_change();
CREATE TRIGGER sealed_rows_no_truncate BEFORE TRUNCATE ON sealed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_refuse_log_change();
`

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'update log, checkpoints, negotiations, tokens, versions',
    sql: `
-- One row per doc: the head of its hash chain. Appenders lock this row
-- (SELECT … FOR UPDATE), which makes per-doc sequence numbers one total order
-- however many server instances append at once.
CREATE TABLE docs (
  id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name      text    NOT NULL UNIQUE,
  head_seq  bigint  NOT NULL DEFAULT 0,
  head_hash text    NOT NULL
);

-- One row per distinct (user, party, role, connection): keeps the log rows small.
CREATE TABLE authors (
  id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_name text NOT NULL,
  party     text,
  role      text NOT NULL,
  conn      text NOT NULL,
  UNIQUE NULLS NOT DISTINCT (conn, user_name, party, role)
);

CREATE TABLE updates (
  doc_id    integer NOT NULL REFERENCES docs (id),
  seq       bigint  NOT NULL,
  at        bigint  NOT NULL,
  author_id integer NOT NULL REFERENCES authors (id),
  data      bytea   NOT NULL,
  -- the exact JSON text that was hashed (see server/store/chain.ts), hence not jsonb
  meta      text,
  prev_hash text    NOT NULL,
  PRIMARY KEY (doc_id, seq)
);

-- The log is append-only: refuse UPDATE, DELETE and TRUNCATE outright, so a
-- bug or a careless query cannot rewrite history (the hash chain would only
-- detect it afterwards).
CREATE FUNCTION parley_refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the update log is append-only (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER updates_append_only BEFORE UPDATE OR DELETE ON updates
  FOR EACH ROW EXECUTE FUNCTION parley_refuse_log_change();
CREATE TRIGGER updates_no_truncate BEFORE TRUNCATE ON updates
  FOR EACH STATEMENT EXECUTE FUNCTION parley_refuse_log_change();

CREATE TABLE checkpoints (
  doc_id integer NOT NULL REFERENCES docs (id),
  seq    bigint  NOT NULL,
  at     bigint  NOT NULL,
  state  bytea   NOT NULL,
  PRIMARY KEY (doc_id, seq)
);

CREATE TABLE client_owners (
  doc_id    integer NOT NULL REFERENCES docs (id),
  -- Yjs client ids are uint32, beyond integer's range
  client_id bigint  NOT NULL,
  owner     text    NOT NULL,
  PRIMARY KEY (doc_id, client_id)
);

CREATE TABLE negotiations (
  id         text   PRIMARY KEY,
  title      text   NOT NULL,
  -- json, not jsonb: kept as written, key order included
  parties    json   NOT NULL,
  created_at bigint NOT NULL,
  deleted_at bigint
);

CREATE TABLE tokens (
  jti            text   PRIMARY KEY,
  negotiation_id text   NOT NULL,
  role           text   NOT NULL,
  party          text,
  created_at     bigint NOT NULL,
  expires_at     bigint,
  revoked_at     bigint
);
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE versions (
  negotiation_id text    NOT NULL,
  n              integer NOT NULL,
  at             bigint  NOT NULL,
  last_at        bigint  NOT NULL,
  party          text,
  user_name      text    NOT NULL,
  kind           text    NOT NULL,
  term_ids       text[]  NOT NULL,
  summary        text    NOT NULL,
  name           text,
  board_seq      bigint  NOT NULL,
  ledger_seq     bigint  NOT NULL,
  hash           text    NOT NULL,
  prev_hash      text    NOT NULL,
  PRIMARY KEY (negotiation_id, n)
);
`,
  },
  {
    version: 2,
    name: 'gseq: one order of all log rows, assigned in the commit',
    // Appends take gseq from this sequence inside their transaction, after locking their docs'
    // heads (see PostgresStore.appendOnce). Existing rows are numbered by run() below.
    sql: `
ALTER TABLE updates ADD COLUMN gseq bigint;
CREATE SEQUENCE updates_gseq AS bigint;
`,
    run: backfillGseq,
  },
  {
    version: 3,
    name: 'compact log rows (a 32-bit check instead of the predecessor hash, full hashes at anchors); checkpoints compressed, the newest two per doc',
    sql: COMPACT_LOG_SQL,
    run: compactLog,
  },
  {
    version: 4,
    name: 'materialised history: blocks, snapshots and the materialiser state',
    sql: HISTORY_4_SQL,
  },
  {
    version: 5,
    name: 'versions: layout_only (an edit that only moved cards)',
    // A default, so instances of the previous build still running during a rolling upgrade keep inserting.
    sql: 'ALTER TABLE versions ADD COLUMN IF NOT EXISTS layout_only boolean NOT NULL DEFAULT false',
  },
  {
    version: 6,
    name: 'seen: the last version each participant saw (catch-up)',
    sql: `CREATE TABLE IF NOT EXISTS seen (
      negotiation_id text NOT NULL,
      viewer         text NOT NULL,
      n              integer NOT NULL,
      at             bigint NOT NULL,
      PRIMARY KEY (negotiation_id, viewer)
    )`,
  },
  {
    version: 7,
    name: 'sealed caucus logs: opaque rows with their own seqs',
    sql: SEALED_7_SQL,
  },
]

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/**
 * For a reader that may not migrate (the CLIs): the schema must hold this build's store.
 * None there, or an older one: the server creates or updates it at its next start.
 */
export async function checkSchema(client: PoolClient, schema: string): Promise<void> {
  const { rows: found } = await client.query<{ t: string | null }>(`SELECT to_regclass('parley_migrations')::text AS t`)
  if (!found[0]?.t)
    throw new Error(
      `the database holds no Parley store (no parley_migrations table in schema "${schema}"); start the server against it once (npm start), or check DATABASE_URL`,
    )
  const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM parley_migrations')
  const at = rows[0]?.v ?? 0
  if (at > LATEST_VERSION)
    throw new Error(
      `the database schema "${schema}" is at migration ${at}, newer than this build knows (${LATEST_VERSION}); run a newer Parley against it`,
    )
  if (at < LATEST_VERSION)
    throw new Error(
      `the database schema "${schema}" is at migration ${at}, older than this build reads (${LATEST_VERSION}); start the server against it once (npm start), which brings it up to date, then try again`,
    )
}

/**
 * Brings the schema up to date. Several instances may start at once: a
 * transaction-scoped advisory lock (keyed by the target schema) lets one of
 * them migrate while the others wait and then find nothing left to do.
 */
export async function migrate(client: PoolClient): Promise<{ from: number; to: number }> {
  await client.query('BEGIN')
  try {
    const { rows: schemaRows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema')
    const schema = schemaRows[0]?.schema
    if (!schema) throw new Error('no schema to create tables in: the search_path names no existing schema')
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`parley-migrations:${schema}`])
    await client.query(`
      CREATE TABLE IF NOT EXISTS parley_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM parley_migrations')
    const from = rows[0]?.v ?? 0
    if (from > LATEST_VERSION) {
      throw new Error(
        `the database schema "${schema}" is at migration ${from}, newer than this build knows (${LATEST_VERSION}); ` +
          'run a newer Parley against it',
      )
    }
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue
      await client.query(m.sql)
      await m.run?.(client)
      await client.query('INSERT INTO parley_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
    }
    await client.query('COMMIT')
    return { from, to: LATEST_VERSION }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/** Rows per UPDATE statement of the backfill. */
const BACKFILL_CHUNK = 10_000

/**
 * Numbers the rows already in the log (see ../logOrder.ts), then starts the
 * sequence after the last number given and makes gseq required. The log
 * refuses UPDATE (migration 1's trigger): the trigger is off for this one
 * transaction, which holds the table exclusively meanwhile.
 */
async function backfillGseq(client: PoolClient): Promise<void> {
  const { rows: docRows } = await client.query<{ id: number; name: string }>('SELECT id, name FROM docs ORDER BY id')
  const docs = new Map<number, DocRows & { seqs: number[]; ats: number[] }>()
  for (const d of docRows) docs.set(d.id, { id: d.id, name: d.name, seqs: [], ats: [] })
  // bigint comes back as text from a plain client: cast to float8 (every value is far below 2^53)
  const { rows } = await client.query<{ doc_id: number; seq: number; at: number }>(
    'SELECT doc_id, seq::float8 AS seq, at::float8 AS at FROM updates ORDER BY doc_id, seq',
  )
  for (const r of rows) {
    const d = docs.get(r.doc_id)
    if (!d) continue
    d.seqs.push(r.seq)
    d.ats.push(r.at)
  }
  const versions = new Map<string, VersionCut[]>()
  const { rows: versionRows } = await client.query<VersionCut & { id: string }>(
    `SELECT negotiation_id AS id, kind, board_seq::float8 AS "boardSeq", ledger_seq::float8 AS "ledgerSeq"
       FROM versions ORDER BY negotiation_id, n`,
  )
  for (const v of versionRows) {
    let list = versions.get(v.id)
    if (!list) versions.set(v.id, (list = []))
    list.push(v)
  }
  const order = backfillOrder([...docs.values()], versions)
  await client.query('ALTER TABLE updates DISABLE TRIGGER updates_append_only')
  let last = 0
  let ids: number[] = []
  let seqs: number[] = []
  let gseqs: number[] = []
  const flush = async () => {
    if (ids.length === 0) return
    await client.query(
      `UPDATE updates u SET gseq = v.g FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS v(d, s, g)
        WHERE u.doc_id = v.d AND u.seq = v.s`,
      [ids, seqs, gseqs],
    )
    ids = []
    seqs = []
    gseqs = []
  }
  for (const d of docs.values()) {
    const numbers = order.get(d.id)!
    for (let i = 0; i < d.seqs.length; i++) {
      ids.push(d.id)
      seqs.push(d.seqs[i]!)
      gseqs.push(numbers[i]!)
      last = Math.max(last, numbers[i]!)
      if (ids.length >= BACKFILL_CHUNK) await flush()
    }
  }
  await flush()
  await client.query('ALTER TABLE updates ENABLE TRIGGER updates_append_only')
  await client.query(`SELECT setval('updates_gseq', $1, $2)`, [Math.max(last, 1), last > 0])
  // Today's appends set gseq themselves. The default is for instances of the previous build still
  // running during a rolling upgrade: their rows, inserted under the same doc locks, draw from the
  // same sequence instead of failing on NOT NULL.
  await client.query(`ALTER TABLE updates ALTER COLUMN gseq SET DEFAULT nextval('updates_gseq'), ALTER COLUMN gseq SET NOT NULL`)
}

// ── migration 3 ──────────────────────────────────────────────────────────────

/**
 * The log rows lose their predecessor's hash (64 hex characters, the larger
 * part of a typical row) for a 32-bit check of their own hash, with the full
 * hash kept every ANCHOR_EVERY rows (../chain.ts). The checks and anchors are
 * taken from the hashes the old rows recorded (chain.ts legacyCheck), never
 * recomputed where something was recorded, so a row changed before the
 * migration is still reported by verify after it. The table is copied rather
 * than altered: an UPDATE of every row would leave the old versions of all of
 * them behind until a VACUUM FULL, which cannot run in a migration.
 *
 * Checkpoints move to `doc_checkpoints`: compressed, the newest two per doc.
 * The old `checkpoints` table stays for instances of the previous build
 * during a rolling upgrade — they keep appending (with their links, into
 * `prev_hash`; gseq from its default) and load rooms from their own
 * checkpoints — thinned to each doc's newest, which this build never reads.
 */
async function compactLog(client: PoolClient): Promise<void> {
  // Rows whose recorded hash is missing (a gap after them) or no hash at all: checked in JS.
  const { rows } = await client.query<{
    doc_id: number
    seq: number
    recorded: string | null
    prev_hash: string
    name: string
    at: number
    user_name: string
    party: string | null
    role: string
    conn: string
    data: Buffer
    meta: string | null
  }>(
    `SELECT r.doc_id, r.seq::float8 AS seq, r.recorded, r.prev_hash, r.name, r.at::float8 AS at,
            a.user_name, a.party, a.role, a.conn, r.data, r.meta
       FROM (${RECORDED}) AS r JOIN authors a ON a.id = r.author_id
      WHERE r.recorded IS NULL OR NOT (r.recorded ${IS_HASH})`,
  )
  if (rows.length > 0) {
    const checks = rows.map((r) =>
      legacyCheck(
        r.recorded,
        {
          doc: r.name,
          seq: r.seq,
          at: r.at,
          user: r.user_name,
          party: r.party,
          role: r.role,
          conn: r.conn,
          update: r.data,
          meta: r.meta,
        },
        r.prev_hash,
      ),
    )
    await client.query(
      `UPDATE updates_compact u SET chk = v.chk FROM unnest($1::int[], $2::bigint[], $3::int[]) AS v(d, s, chk)
        WHERE u.doc_id = v.d AND u.seq = v.s`,
      [rows.map((r) => r.doc_id), rows.map((r) => r.seq), checks],
    )
  }
  // Not one log row may be lost on the way.
  const { rows: counts } = await client.query<{ old: string; compact: string }>(
    'SELECT (SELECT count(*) FROM updates) AS old, (SELECT count(*) FROM updates_compact) AS compact',
  )
  if (counts[0]!.old !== counts[0]!.compact) throw new Error('migration 3: the compacted log lost rows; nothing was changed')
  await client.query(`
    DROP TABLE updates;
    ALTER TABLE updates_compact RENAME TO updates;
    ALTER INDEX updates_compact_pkey RENAME TO updates_pkey;
    ALTER TABLE updates RENAME CONSTRAINT updates_compact_doc_id_fkey TO updates_doc_id_fkey;
    ALTER TABLE updates RENAME CONSTRAINT updates_compact_author_id_fkey TO updates_author_id_fkey;
    CREATE TRIGGER updates_append_only BEFORE UPDATE OR DELETE ON updates
      FOR EACH ROW EXECUTE FUNCTION parley_refuse_log_change();
    CREATE TRIGGER updates_no_truncate BEFORE TRUNCATE ON updates
      FOR EACH STATEMENT EXECUTE FUNCTION parley_refuse_log_change();
  `)

  // The newest checkpoints of each doc, compressed; one doc at a time (a state may be megabytes).
  const { rows: docs } = await client.query<{ doc_id: number }>('SELECT DISTINCT doc_id FROM checkpoints')
  for (const { doc_id } of docs) {
    const { rows: cps } = await client.query<{ seq: number; at: number; state: Buffer }>(
      `SELECT seq::float8 AS seq, at::float8 AS at, state FROM checkpoints WHERE doc_id = $1 ORDER BY seq DESC LIMIT ${CHECKPOINTS_KEPT}`,
      [doc_id],
    )
    for (const cp of cps) {
      const { codec, bytes } = encodeCheckpointSync(cp.state)
      await client.query('INSERT INTO doc_checkpoints (doc_id, seq, at, codec, size, state) VALUES ($1, $2, $3, $4, $5, $6)', [
        doc_id,
        cp.seq,
        cp.at,
        codec,
        cp.state.byteLength,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ])
    }
  }
  await client.query('DELETE FROM checkpoints c WHERE c.seq < (SELECT max(m.seq) FROM checkpoints m WHERE m.doc_id = c.doc_id)')
}
