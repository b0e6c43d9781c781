/** Opens the configured store: PostgreSQL when DATABASE_URL is set, else SQLite in the data dir. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config'
import type { Logger } from '../log'
import { SqliteStore } from './sqlite'
import type { Store } from './types'

export interface OpenStoreOptions {
  /**
   * Read an existing store (the CLIs): nothing is created or migrated, a missing SQLite file is a
   * StoreMissingError, a schema other than this build's an error saying what to do.
   */
  readOnly?: boolean
}

/** A reader asked for a store that is not there (no SQLite file in the data dir). */
export class StoreMissingError extends Error {
  constructor(readonly file: string) {
    super(`no Parley store at ${file}`)
    this.name = 'StoreMissingError'
  }
}

/** The SQLite file of a data dir. */
export const sqliteFile = (dataDir: string): string => join(dataDir, 'parley.db')

/** Which store `config` names, in words that carry no password: `SQLite /…/parley.db`, `PostgreSQL postgres://user@host:5432/db`. */
export function describeStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  if (!config.databaseUrl) return `SQLite ${sqliteFile(config.dataDir)}`
  try {
    const u = new URL(config.databaseUrl)
    u.password = ''
    u.search = ''
    return `PostgreSQL ${u.toString()}`
  } catch {
    return 'PostgreSQL'
  }
}

export async function openStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  log: Logger,
  opts: OpenStoreOptions = {},
): Promise<Store> {
  const readOnly = opts.readOnly === true
  if (config.databaseUrl) {
    const { PostgresStore } = await import('./postgres')
    const store = await PostgresStore.connect(config.databaseUrl, { readOnly })
    log.info(`store: PostgreSQL${readOnly ? ' (read-only)' : ''}`)
    return store
  }
  const file = sqliteFile(config.dataDir)
  // better-sqlite3's fileMustExist would say so too, but not in words an operator can act on.
  if (readOnly && !existsSync(file)) throw new StoreMissingError(file)
  log.info(`store: SQLite at ${file}${readOnly ? ' (read-only)' : ''}`)
  return new SqliteStore(file, { readOnly })
}
