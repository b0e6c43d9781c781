/**
 * What a Parley store takes on disk: the whole data dir (every file, as `du`
 * would count bytes), and SQLite's own account of each table and index (the
 * `dbstat` virtual table: pages, bytes, payload, unused bytes, cells). Used by
 * the bench's fixtures (c)/(d) and by bench/storage.ts.
 */
import Database from 'better-sqlite3'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export interface TableStat {
  name: string
  pages: number
  bytes: number
  payload: number
  unused: number
  cells: number
}

/** The materialised history's tables (server/store/sqlite/migrations.ts, migration 4; WITHOUT ROWID, so no separate indexes). */
export const HISTORY_TABLES = ['history_blocks', 'history_snapshots', 'history_state'] as const

/** Bytes of every file under `dir` (the store, its WAL, the secrets: what a backup of the data dir copies). */
export function dirBytes(dir: string): number {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) n += dirBytes(p)
    else if (e.isFile()) n += statSync(p).size
  }
  return n
}

/** Per table and index of a SQLite file (read-only; run it on a store no process writes to), largest first. */
export function sqliteTables(file: string): TableStat[] {
  const db = new Database(file, { readonly: true })
  try {
    return db
      .prepare(
        `SELECT name, count(*) AS pages, sum(pgsize) AS bytes, sum(payload) AS payload, sum(unused) AS unused, sum(ncell) AS cells
           FROM dbstat GROUP BY name ORDER BY bytes DESC`,
      )
      .all() as TableStat[]
  } finally {
    db.close()
  }
}
