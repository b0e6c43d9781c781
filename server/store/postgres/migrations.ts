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
import { backfillOrder, type DocRows, type VersionCut } from '../logOrder'

export interface Migration {
  version: number
  name: string
  sql: string
  /** what SQL alone cannot say, run after `sql` in the same transaction */
  run?: (client: PoolClient) => Promise<void>
}

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
]

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

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
