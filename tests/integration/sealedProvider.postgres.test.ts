/**
 * tests/integration/sealedProvider.test.ts once more, with the server on the
 * PostgreSQL store (a schema of its own): the browser's provider converges
 * through a restart on PostgreSQL, joins from a compaction, detects a row the
 * operator altered in `sealed_rows`, and the marker it carried is in no row of
 * any table. Skipped with one line when PostgreSQL is not reachable (a failure
 * under PARLEY_REQUIRE_SERVICES=1).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { PostgresStore } from '../../server/store/postgres'
import { createTestSchema, postgresForTests } from '../helpers/services'
import { setServerDefaults } from '../helpers/server'

const pgUrl = await postgresForTests('sealed provider on PostgreSQL')

if (pgUrl) {
  const schema = await createTestSchema(pgUrl)
  setServerDefaults({ DATABASE_URL: schema.url })
  // registered before the suite's own hooks, so it runs after its servers closed ("after" hooks run as a stack)
  afterAll(() => schema.drop())
  describe('on PostgreSQL', async () => {
    await import('./sealedProvider.test')
    it('[SP-PG] the suite above ran on PostgreSQL', async () => {
      const store = await PostgresStore.connect(schema.url)
      try {
        const { rows } = await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sealed_rows')
        expect(rows[0]!.n).toBeGreaterThan(300)
      } finally {
        await store.close()
      }
    })
  })
} else {
  describe.skip('sealed provider on PostgreSQL (PostgreSQL not reachable)', () => {
    it('skipped', () => {})
  })
}
