/**
 * Property (issue #5, tests) on SQLite: see tests/helpers/historyProperty.ts.
 * Failing runs print their fast-check seed; replay one with
 * PARLEY_FUZZ_SEED=<seed>, run longer with PARLEY_FUZZ_RUNS=<n>.
 */
import { describe, it } from 'vitest'
import { checkHistoryProperty } from '../helpers/historyProperty'

const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 20)
const SEED = process.env.PARLEY_FUZZ_SEED ? Number(process.env.PARLEY_FUZZ_SEED) : undefined

describe('history property (SQLite)', () => {
  it('[HP1] every version reconstructs to the live state right after it; redlines agree with it; a rebuilt index derives the same versions', async () => {
    await checkHistoryProperty({ runs: RUNS, seed: SEED })
  }, 600_000)

  it('[HP1] regression: a proposer erasing in a term, then removing it within the pause (seed -319938627, found by [HP2] in CI)', async () => {
    await checkHistoryProperty({ runs: 8, seed: -319938627 })
  }, 600_000)
})
