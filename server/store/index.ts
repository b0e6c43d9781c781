/** Opens the configured store: PostgreSQL when DATABASE_URL is set, else SQLite in the data dir. */
import { join } from 'node:path'
import type { Config } from '../config'
import type { Logger } from '../log'
import { SqliteStore } from './sqlite'
import type { Store } from './types'

export async function openStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>, log: Logger): Promise<Store> {
  if (config.databaseUrl) {
    const { PostgresStore } = await import('./postgres')
    const store = await PostgresStore.connect(config.databaseUrl)
    log.info('store: PostgreSQL')
    return store
  }
  const file = join(config.dataDir, 'parley.db')
  log.info(`store: SQLite at ${file}`)
  return new SqliteStore(file)
}
