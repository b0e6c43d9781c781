import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration tests start real servers and sockets: one file per worker, two cores.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // In CI the JSON report feeds .ci/run's "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]] : ['default'],
    setupFiles: ['tests/setup.ts'],
    // The client's compiled messages (client/src/paraglide, generated): compiled once per run when stale.
    globalSetup: ['tests/i18nCompile.ts'],
  },
})
