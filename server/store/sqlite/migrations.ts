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
import { backfillOrder, type DocRows, type VersionCut } from '../logOrder'

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
]

export const SQLITE_LATEST = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version

/** Brings the file's schema up to date; returns the versions it went from and to. */
export function migrateSqlite(db: Db): { from: number; to: number } {
  const version = () => db.pragma('user_version', { simple: true }) as number
  const from = version()
  if (from > SQLITE_LATEST) {
    throw new Error(
      `the database file is at schema version ${from}, newer than this build knows (${SQLITE_LATEST}); run a newer Parley on it`,
    )
  }
  for (const m of SQLITE_MIGRATIONS) {
    if (m.version <= from) continue
    db.transaction(() => {
      if (version() >= m.version) return
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  return { from, to: SQLITE_LATEST }
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
    .prepare('SELECT negotiation_id AS id, kind, board_seq AS boardSeq, ledger_seq AS ledgerSeq FROM versions ORDER BY negotiation_id, n')
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
