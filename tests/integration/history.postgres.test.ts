/**
 * The history property (tests/helpers/historyProperty.ts) on the PostgreSQL
 * store, each run in a schema of its own. Skipped with one line when
 * PostgreSQL is not reachable (required under PARLEY_REQUIRE_SERVICES=1).
 */
import { afterAll, describe, it } from 'vitest'
import pg from 'pg'
import { PostgresStore } from '../../server/store/postgres'
import { createTestSchema, postgresForTests, type TestSchema } from '../helpers/services'
import { checkHistoryProperty } from '../helpers/historyProperty'

const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 8)
const SEED = process.env.PARLEY_FUZZ_SEED ? Number(process.env.PARLEY_FUZZ_SEED) : undefined
const pgUrl = await postgresForTests('history property: postgres')
const schemas: TestSchema[] = []

afterAll(async () => {
  for (const s of schemas) await s.drop()
})

describe.skipIf(!pgUrl)('history property (PostgreSQL)', () => {
  it('[HP2] the same property on the PostgreSQL store', async () => {
    await checkHistoryProperty({ runs: RUNS, seed: SEED }, async () => {
      const schema = await createTestSchema(pgUrl!)
      schemas.push(schema)
      const store = await PostgresStore.connect(schema.url)
      return {
        store: {
          store,
          async dropVersionsAfter(negotiationId, n) {
            const client = new pg.Client({ connectionString: schema.url })
            await client.connect()
            try {
              await client.query('DELETE FROM versions WHERE negotiation_id = $1 AND n > $2', [negotiationId, n])
            } finally {
              await client.end()
            }
          },
        },
      }
    })
  }, 600_000)
})
