/**
 * The SQLite schema, as an ordered list of migrations, the file's
 * `PRAGMA user_version` saying how many have run. Each runs once, in one
 * IMMEDIATE transaction that re-reads the version first (a second process
 * opening the file at the same moment, e.g. `npm run export` next to a
 * starting server, waits and then finds nothing left to do). A migration that
 * has shipped is never edited: a change is a new entry at the end.
 *
 * Files written before migrations were numbered have user_version 0 and the
 * tables of migration 1 already; migration 1 creates only what is missing.
 */
import type { Database as Db } from 'better-sqlite3'
import { ANCHOR_EVERY, GENESIS_HASH, checkOf, hashToBytes, isHash, legacyCheck } from '../chain'
import { encodeCheckpointSync } from '../checkpointCodec'
import { backfillOrder, type DocRows, type VersionCut } from '../logOrder'
import { CHECKPOINTS_KEPT } from '../types'

export interface SqliteMigration {
  version: number
  name: string
  up(db: Db): void
}

const SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS docs (
  id        INTEGER PRIMARY KEY,
  name      TEXT NOT NULL UNIQUE,
  head_seq  INTEGER NOT NULL DEFAULT 0,
  head_hash TEXT NOT NULL
);
-- one row per distinct (user, party, role, connection): keeps the log rows small
CREATE TABLE IF NOT EXISTS authors (
  id    INTEGER PRIMARY KEY,
  user  TEXT NOT NULL,
  party TEXT,
  role  TEXT NOT NULL,
  conn  TEXT NOT NULL,
  UNIQUE (conn, user, party, role)
);
CREATE TABLE IF NOT EXISTS updates (
  doc_id    INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  author_id INTEGER NOT NULL,
  data      BLOB NOT NULL,
  meta      TEXT,
  prev_hash TEXT NOT NULL,
  PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  doc_id INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  at     INTEGER NOT NULL,
  state  BLOB NOT NULL,
  PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS client_owners (
  doc_id    INTEGER NOT NULL,
  client_id INTEGER NOT NULL,
  owner     TEXT NOT NULL,
  PRIMARY KEY (doc_id, client_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS negotiations (
  id         TEXT PRIMARY KEY,
  title      TEXT NOT NULL,
  parties    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE TABLE IF NOT EXISTS tokens (
  jti            TEXT PRIMARY KEY,
  negotiation_id TEXT NOT NULL,
  role           TEXT NOT NULL,
  party          TEXT,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER,
  revoked_at     INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS versions (
  negotiation_id TEXT NOT NULL,
  n          INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  last_at    INTEGER NOT NULL,
  party      TEXT,
  user       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  term_ids   TEXT NOT NULL,
  summary    TEXT NOT NULL,
  name       TEXT,
  board_seq  INTEGER NOT NULL,
  ledger_seq INTEGER NOT NULL,
  hash       TEXT NOT NULL,
  prev_hash  TEXT NOT NULL,
  PRIMARY KEY (negotiation_id, n)
) WITHOUT ROWID;
`

/**
 * Migration 4: the materialised history (server/history/materialiser.ts),
 * derived from the logs and rebuilt from them when lost. Blocks and
 * snapshots hang on the log doc's integer id like the log rows do (a doc row
 * is made for them if the log has none yet), small columns before the bytes.
 * The state is one row per negotiation.
 */
const HISTORY_4 = `
CREATE TABLE history_blocks (
  doc_id    INTEGER NOT NULL,
  level     INTEGER NOT NULL,
  -- the block covers the rows (start_seq, end_seq]
  start_seq INTEGER NOT NULL,
  end_seq   INTEGER NOT NULL,
  data      BLOB NOT NULL,
  PRIMARY KEY (doc_id, level, start_seq)
) WITHOUT ROWID;
CREATE TABLE history_snapshots (
  doc_id INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  data   BLOB NOT NULL,
  PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
CREATE TABLE history_state (
  negotiation_id TEXT PRIMARY KEY,
  format         INTEGER NOT NULL,
  state          TEXT NOT NULL
) WITHOUT ROWID;
`

/**
 * Migration 7: the sealed caucus logs (CONTRACT.md "Sealed caucus"). A table of docs of their own,
 * apart from `docs`: a sealed doc has no hash chain, checkpoints or history, and nothing that walks
 * the update log's docs (verify, exports, the materialiser) can come across one. The head row
 * gives the next seq (never a count); a row is its nonce and ciphertext, with who sent it when
 * (the `authors` row, as the log's rows) — no plaintext exists on the server to keep.
 */
const SEALED_7 = `
CREATE TABLE sealed_docs (
  id       INTEGER PRIMARY KEY,
  name     TEXT NOT NULL UNIQUE,
  head_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sealed_rows (
  doc_id    INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  author_id INTEGER NOT NULL,
  nonce     BLOB NOT NULL,
  data      BLOB NOT NULL,
  PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
`

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  { version: 1, name: 'update log, checkpoints, negotiations, tokens, versions', up: (db) => db.exec(SCHEMA_1) },
  {
    version: 2,
    name: 'gseq: one order of all log rows, assigned in the commit',
    up(db) {
      // The last gseq given lives in a row of its own: reading max(gseq) at open would scan the
      // whole log, overflow pages of large updates included (the column sits after `data`).
      db.exec(`
        ALTER TABLE updates ADD COLUMN gseq INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE log_order (last_gseq INTEGER NOT NULL);
      `)
      const last = backfillGseq(db)
      db.prepare('INSERT INTO log_order (last_gseq) VALUES (?)').run(last)
    },
  },
  {
    version: 3,
    name: 'compact log rows (a 32-bit check instead of the predecessor hash, full hashes at anchors); checkpoints compressed, the newest two per doc',
    up: compactLog,
  },
  {
    version: 4,
    name: 'materialised history: blocks, snapshots and the materialiser state',
    up: (db) => db.exec(HISTORY_4),
  },
  {
    version: 5,
    name: 'versions: layout_only (an edit that only moved cards)',
    // Added, not rebuilt: existing versions stay as they were (0), and their hashes do not cover it.
    up: (db) => db.exec('ALTER TABLE versions ADD COLUMN layout_only INTEGER NOT NULL DEFAULT 0'),
  },
  {
    version: 6,
    name: 'seen: the last version each participant saw (catch-up)',
    up: (db) =>
      db.exec(`CREATE TABLE seen (
        negotiation_id TEXT NOT NULL,
        viewer         TEXT NOT NULL,
        n              INTEGER NOT NULL,
        at             INTEGER NOT NULL,
        PRIMARY KEY (negotiation_id, viewer)
      ) WITHOUT ROWID`),
  },
  {
    version: 7,
    name: 'sealed caucus logs: opaque rows with their own seqs',
    up: (db) => db.exec(SEALED_7),
  },
]

export const SQLITE_LATEST = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version

/**
 * Free pages above this share of the file are given back after a migration
 * (VACUUM): migration 3 drops most of a store written before it (its
 * checkpoints), and SQLite would otherwise keep the file at its old size.
 */
const VACUUM_FREE_SHARE = 0.25

/**
 * For a reader that may not migrate (the CLIs): the file's schema must be this build's.
 * Older: the server brings it up to date at its next start; newer: a newer Parley reads it.
 */
export function checkSqliteSchema(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SQLITE_LATEST)
    throw new Error(
      `the database file is at schema version ${version}, newer than this build knows (${SQLITE_LATEST}); run a newer Parley on it`,
    )
  if (version < SQLITE_LATEST)
    throw new Error(
      `the database file is at schema version ${version}, older than this build reads (${SQLITE_LATEST}); start the server on it once (npm start), which brings it up to date, then try again`,
    )
}

/** Brings the file's schema up to date; returns the versions it went from and to. */
export function migrateSqlite(db: Db): { from: number; to: number } {
  const version = () => db.pragma('user_version', { simple: true }) as number
  const from = version()
  if (from > SQLITE_LATEST) {
    throw new Error(
      `the database file is at schema version ${from}, newer than this build knows (${SQLITE_LATEST}); run a newer Parley on it`,
    )
  }
  // Asked after each migration: the tables of a later one take some of the pages an earlier one freed.
  let freedMuch = false
  for (const m of SQLITE_MIGRATIONS) {
    if (m.version <= from) continue
    db.transaction(() => {
      if (version() >= m.version) return
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
    freedMuch ||= mostlyFree(db)
  }
  if (freedMuch) vacuum(db)
  return { from, to: SQLITE_LATEST }
}

function mostlyFree(db: Db): boolean {
  const pages = db.pragma('page_count', { simple: true }) as number
  const free = db.pragma('freelist_count', { simple: true }) as number
  return pages > 0 && free / pages >= VACUUM_FREE_SHARE
}

/**
 * VACUUM rewrites the file without its free pages. Outside any transaction,
 * and only worth it once a migration freed much; another connection reading
 * at that moment (e.g. `npm run export`) makes it fail with SQLITE_BUSY, and
 * then the free pages simply stay for later rows to reuse.
 */
function vacuum(db: Db): void {
  try {
    db.exec('VACUUM')
    // In WAL mode the rewritten pages sit in the WAL until a checkpoint copies them back and truncates it.
    db.pragma('wal_checkpoint(TRUNCATE)')
  } catch {
    // busy: nothing lost, the space is reused as the log grows
  }
}

/** Numbers the rows already in the log (see ../logOrder.ts); returns the last gseq given. */
function backfillGseq(db: Db): number {
  const docs: DocRows[] = []
  const readRows = db.prepare('SELECT seq, at FROM updates WHERE doc_id = ? ORDER BY seq')
  for (const d of db.prepare('SELECT id, name FROM docs ORDER BY id').all() as Array<{ id: number; name: string }>) {
    const rows = readRows.all(d.id) as Array<{ seq: number; at: number }>
    docs.push({ id: d.id, name: d.name, seqs: rows.map((r) => r.seq), ats: rows.map((r) => r.at) })
  }
  const versions = new Map<string, VersionCut[]>()
  const rows = db
    .prepare(
      'SELECT negotiation_id AS id, kind, board_seq AS boardSeq, ledger_seq AS ledgerSeq FROM versions ORDER BY negotiation_id, n',
    )
    .all() as Array<VersionCut & { id: string }>
  for (const v of rows) {
    let list = versions.get(v.id)
    if (!list) versions.set(v.id, (list = []))
    list.push(v)
  }
  const order = backfillOrder(docs, versions)
  const set = db.prepare('UPDATE updates SET gseq = ? WHERE doc_id = ? AND seq = ?')
  let last = 0
  for (const d of docs) {
    order.get(d.id)!.forEach((g, i) => {
      set.run(g, d.id, d.seqs[i])
      last = Math.max(last, g)
    })
  }
  return last
}

// ── migration 3 ──────────────────────────────────────────────────────────────

/**
 * The log rows lose their predecessor's hash (64 hex characters, two thirds
 * of a typical row) for a 32-bit check of their own hash, with the full hash
 * kept every ANCHOR_EVERY rows (../chain.ts). The small columns come before
 * the update bytes, so reading them never touches the overflow pages of a
 * large update. The checks and anchors are taken from the hashes the old rows
 * recorded (chain.ts legacyCheck), not recomputed, so a row changed before
 * the migration is still reported by verify after it.
 *
 * Checkpoints move to `doc_checkpoints`: compressed, the newest two per doc
 * (rooms load from the newest; the version index may resume from the one
 * before; older states are rebuilt from the log).
 *
 * Version rows keep their two hashes as 32 bytes each instead of 64 hex
 * characters (chain.ts hashToBytes): half of a row otherwise, and two
 * delegations typing in turns make a version per keystroke.
 */
function compactLog(db: Db): void {
  db.function('parley_check', { deterministic: true }, (h: unknown) => (isHash(h) ? checkOf(h) : null))
  db.function('parley_hash_bytes', { deterministic: true }, (h: unknown) => (isHash(h) ? Buffer.from(h, 'hex') : null))
  db.function('parley_hash_to_bytes', { deterministic: true }, (h: unknown) => hashToBytes(String(h)))
  db.function(
    'parley_legacy_check',
    { deterministic: true },
    (
      recorded: unknown,
      prevHash: unknown,
      doc: unknown,
      seq: unknown,
      at: unknown,
      user: unknown,
      party: unknown,
      role: unknown,
      conn: unknown,
      data: unknown,
      meta: unknown,
    ) =>
      legacyCheck(
        (recorded as string | null) ?? null,
        {
          // a row whose doc or author row is gone hashes with empty names: it cannot verify, but it is kept
          doc: (doc as string | null) ?? '',
          seq: Number(seq),
          at: Number(at),
          user: (user as string | null) ?? '',
          party: (party as string | null) ?? null,
          role: (role as string | null) ?? '',
          conn: (conn as string | null) ?? '',
          update: data as Buffer,
          meta: (meta as string | null) ?? null,
        },
        String(prevHash),
      ),
  )
  db.exec(`
    CREATE TABLE updates_compact (
      doc_id    INTEGER NOT NULL,
      seq       INTEGER NOT NULL,
      gseq      INTEGER NOT NULL,
      at        INTEGER NOT NULL,
      author_id INTEGER NOT NULL,
      -- the first 4 bytes of the row's chain hash, signed (server/store/chain.ts checkOf)
      chk       INTEGER NOT NULL,
      meta      TEXT,
      data      BLOB NOT NULL,
      PRIMARY KEY (doc_id, seq)
    ) WITHOUT ROWID;

    INSERT INTO updates_compact (doc_id, seq, gseq, at, author_id, chk, meta, data)
    SELECT r.doc_id, r.seq, r.gseq, r.at, r.author_id,
           coalesce(
             parley_check(r.recorded),
             parley_legacy_check(r.recorded, r.prev_hash, r.name, r.seq, r.at, a.user, a.party, a.role, a.conn, r.data, r.meta)
           ),
           r.meta, r.data
      FROM (SELECT u.*, d.name,
                   CASE WHEN lead(u.seq) OVER w = u.seq + 1 THEN lead(u.prev_hash) OVER w
                        WHEN lead(u.seq) OVER w IS NULL AND u.seq = d.head_seq THEN d.head_hash
                   END AS recorded
              FROM updates u LEFT JOIN docs d ON d.id = u.doc_id
            WINDOW w AS (PARTITION BY u.doc_id ORDER BY u.seq)) AS r
      LEFT JOIN authors a ON a.id = r.author_id;

    -- the full hash of row s, as row s + 1 recorded it (or the head)
    CREATE TABLE chain_anchors (
      doc_id INTEGER NOT NULL,
      seq    INTEGER NOT NULL,
      hash   BLOB NOT NULL,
      PRIMARY KEY (doc_id, seq)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO chain_anchors (doc_id, seq, hash)
    SELECT doc_id, seq - 1, parley_hash_bytes(prev_hash) FROM updates
     WHERE seq > 1 AND (seq - 1) % ${ANCHOR_EVERY} = 0 AND parley_hash_bytes(prev_hash) IS NOT NULL;
    INSERT OR IGNORE INTO chain_anchors (doc_id, seq, hash)
    SELECT id, head_seq, parley_hash_bytes(head_hash) FROM docs
     WHERE head_seq > 0 AND head_seq % ${ANCHOR_EVERY} = 0 AND parley_hash_bytes(head_hash) IS NOT NULL;
    -- a first row that did not link to genesis: kept as evidence (verify reports row 1)
    INSERT OR IGNORE INTO chain_anchors (doc_id, seq, hash)
    SELECT doc_id, 0, coalesce(parley_hash_bytes(prev_hash), randomblob(32)) FROM updates
     WHERE seq = 1 AND prev_hash <> '${GENESIS_HASH}';

  `)
  // Not one log row may be lost on the way.
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  if (count('updates_compact') !== count('updates'))
    throw new Error('migration 3: the compacted log lost rows; nothing was changed')
  db.exec(`
    DROP TABLE updates;
    ALTER TABLE updates_compact RENAME TO updates;

    CREATE TABLE doc_checkpoints (
      doc_id INTEGER NOT NULL,
      seq    INTEGER NOT NULL,
      at     INTEGER NOT NULL,
      -- how state is encoded (server/store/checkpointCodec.ts), and its size decoded
      codec  INTEGER NOT NULL,
      size   INTEGER NOT NULL,
      state  BLOB NOT NULL,
      PRIMARY KEY (doc_id, seq)
    ) WITHOUT ROWID;
  `)
  const newest = db.prepare(`SELECT seq, at, state FROM checkpoints WHERE doc_id = ? ORDER BY seq DESC LIMIT ${CHECKPOINTS_KEPT}`)
  const insert = db.prepare('INSERT INTO doc_checkpoints (doc_id, seq, at, codec, size, state) VALUES (?, ?, ?, ?, ?, ?)')
  for (const { doc_id } of db.prepare('SELECT DISTINCT doc_id FROM checkpoints').all() as Array<{ doc_id: number }>) {
    for (const cp of newest.all(doc_id) as Array<{ seq: number; at: number; state: Buffer }>) {
      const { codec, bytes } = encodeCheckpointSync(cp.state)
      insert.run(doc_id, cp.seq, cp.at, codec, cp.state.byteLength, bytes)
    }
  }
  db.exec('DROP TABLE checkpoints')

  db.exec(`
    CREATE TABLE versions_compact (
      negotiation_id TEXT NOT NULL,
      n          INTEGER NOT NULL,
      at         INTEGER NOT NULL,
      last_at    INTEGER NOT NULL,
      party      TEXT,
      user       TEXT NOT NULL,
      kind       TEXT NOT NULL,
      term_ids   TEXT NOT NULL,
      summary    TEXT NOT NULL,
      name       TEXT,
      board_seq  INTEGER NOT NULL,
      ledger_seq INTEGER NOT NULL,
      -- 32 bytes (server/store/chain.ts hashToBytes)
      hash       BLOB NOT NULL,
      prev_hash  BLOB NOT NULL,
      PRIMARY KEY (negotiation_id, n)
    ) WITHOUT ROWID;
    INSERT INTO versions_compact
    SELECT negotiation_id, n, at, last_at, party, user, kind, term_ids, summary, name, board_seq, ledger_seq,
           parley_hash_to_bytes(hash), parley_hash_to_bytes(prev_hash)
      FROM versions;
    DROP TABLE versions;
    ALTER TABLE versions_compact RENAME TO versions;
  `)
}
