/** PostgreSQL store: implemented with issue #8 (scale-out). */
import type { Store } from './types'

export const PostgresStore = {
  async connect(_url: string): Promise<Store> {
    throw new Error('DATABASE_URL is set, but the PostgreSQL store is not part of this build yet')
  },
}
