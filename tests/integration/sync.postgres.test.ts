/**
 * tests/integration/sync.test.ts once more, with the server on the PostgreSQL
 * store (a schema of its own), so the y-websocket path — commit before
 * broadcast, save receipts, 50 rooms — is exercised on both stores. Skipped
 * with one line when PostgreSQL is not reachable (a failure under
 * PARLEY_REQUIRE_SERVICES=1).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { PostgresStore } from '../../server/store/postgres'
import { createTestSchema, postgresForTests } from '../helpers/services'
import { setServerDefaults } from '../helpers/server'

const pgUrl = await postgresForTests('sync on PostgreSQL')

if (pgUrl) {
  const schema = await createTestSchema(pgUrl)
  setServerDefaults({ DATABASE_URL: schema.url })
  // registered before the suite's own hooks, so it runs after its servers closed ("after" hooks run as a stack)
  afterAll(() => schema.drop())
  describe('on PostgreSQL', async () => {
    await import('./sync.test')
    it('[S-PG] the suite above ran on PostgreSQL', async () => {
      const store = await PostgresStore.connect(schema.url)
      try {
        const { rows } = await store.pool.query<{ n: number }>('SELECT count(DISTINCT doc_id)::int AS n FROM updates')
        expect(rows[0]!.n).toBeGreaterThanOrEqual(50)
      } finally {
        await store.close()
      }
    })
  })
} else {
  describe.skip('sync on PostgreSQL (PostgreSQL not reachable)', () => {
    it('skipped', () => {})
  })
}
