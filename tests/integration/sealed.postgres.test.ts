/**
 * tests/integration/sealed.test.ts once more, with the server on the
 * PostgreSQL store (a schema of its own): the marker is searched in every row
 * of every table there, catch-up survives a restart on PostgreSQL, and the
 * rights and limits hold the same. Skipped with one line when PostgreSQL is
 * not reachable (a failure under PARLEY_REQUIRE_SERVICES=1).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { PostgresStore } from '../../server/store/postgres'
import { createTestSchema, postgresForTests } from '../helpers/services'
import { setServerDefaults } from '../helpers/server'

const pgUrl = await postgresForTests('sealed caucus on PostgreSQL')

if (pgUrl) {
  const schema = await createTestSchema(pgUrl)
  setServerDefaults({ DATABASE_URL: schema.url })
  // registered before the suite's own hooks, so it runs after its servers closed ("after" hooks run as a stack)
  afterAll(() => schema.drop())
  describe('on PostgreSQL', async () => {
    await import('./sealed.test')
    it('[SK-PG] the suite above ran on PostgreSQL', async () => {
      const store = await PostgresStore.connect(schema.url)
      try {
        const { rows } = await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sealed_rows')
        expect(rows[0]!.n).toBeGreaterThan(100)
      } finally {
        await store.close()
      }
    })
  })
} else {
  describe.skip('sealed caucus on PostgreSQL (PostgreSQL not reachable)', () => {
    it('skipped', () => {})
  })
}
