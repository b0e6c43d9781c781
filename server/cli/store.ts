/**
 * The store as the operators' CLIs open it: the one the configuration names
 * (server/config.ts: the environment over `.env`, the same defaults as
 * `npm start`), read-only — a missing SQLite file is reported, never created,
 * and neither store is migrated — and named in one line on stderr, so an
 * operator who sees "no negotiation" knows where it was looked for.
 */
import type { Config } from '../config'
import { createLogger } from '../log'
import { describeStore, openStore, StoreMissingError } from '../store'
import type { Store } from '../store/types'
import { forStream } from './terminalSafe'

/** The store could not be opened for reading: `message` says why and what to do. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError'
}

export interface OpenedStore {
  store: Store
  /** `SQLite /…/parley.db` or `PostgreSQL postgres://…` (no password) */
  where: string
}

/** Where the settings came from, for messages: the environment alone, or with a `.env` file. */
export const settingsSource = (config: Pick<Config, 'envFile'>): string =>
  config.envFile ? `the environment and ${config.envFile}` : 'the environment, no .env file'

/** Opens the configured store read-only and says which one on `err`; a StoreOpenError when it cannot. */
export async function openStoreToRead(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dataDirSetting' | 'envFile'>,
  err: { write(s: string): unknown; isTTY?: boolean } = process.stderr,
): Promise<OpenedStore> {
  const where = describeStore(config)
  let store: Store
  try {
    store = await openStore(config, createLogger('silent'), { readOnly: true })
  } catch (e) {
    if (e instanceof StoreMissingError)
      throw new StoreOpenError(
        [
          `no Parley store at ${e.file}; nothing was created.`,
          `  The settings (${settingsSource(config)}) give PARLEY_DATA_DIR=${config.dataDirSetting} and no DATABASE_URL.`,
          '  Point PARLEY_DATA_DIR or DATABASE_URL at the store the server uses, in the environment or in .env.',
        ].join('\n'),
      )
    throw new StoreOpenError(`cannot read ${where}: ${(e as Error).message}`)
  }
  err.write(forStream(err, `store: ${where}, read-only (settings: ${settingsSource(config)})\n`))
  return { store, where }
}
