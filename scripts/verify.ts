/**
 * `npm run verify -- <negotiationId> [--against export.json] [--no-checkpoints] [--progress] [--json]`
 *
 * Recomputes the hash chains of the negotiation's docs (board, ledger, every
 * caucus) and of its versions from the store `npm start` uses (server/config.ts:
 * the environment over `.env`, PARLEY_DATA_DIR or DATABASE_URL), opened
 * read-only and named on stderr (server/cli/store.ts), compares checkpoints with the log, and
 * with --against also checks that the chains pass through the heads of an
 * earlier JSON export. Prints OK with the head hashes (exit 0) or the first
 * break: which chain, which row, what differs (exit 1). Usage errors exit 2.
 * Safe next to a running server: it only reads.
 *
 * `npm run verify -- --record <record.json> [--keys <keys.json or URL>] [--no-store] [--json]`
 *
 * Checks a saved signed record (`GET /api/negotiations/:id/record`): its
 * shape, that its kid names a known key, the Ed25519 signature, each term's
 * hash, the package hash, that every party initialled; and, where the store
 * the configuration opens holds the negotiation, that the board's and the
 * ledger's chains pass through the heads it names. The keys are those of
 * `--keys` (a saved `GET /api/keys` answer, a JWK Set, or a URL serving one),
 * else this server's own (PARLEY_SIGNING_KEY or the data dir's). One line per
 * check, OK / FAIL / SKIP and the field; exit 0 when every check holds, 1 when
 * one fails, 2 on a usage error.
 */
import { existsSync, readFileSync } from 'node:fs'
import { loadConfig } from '../server/config'
import { sqliteFile } from '../server/store'
import { openStoreToRead } from '../server/cli/store'
import { verifyNegotiation } from '../server/history/verify'
import type { ExportDoc } from '../server/history/export'
import { parseArgs } from '../server/cli/args'
import { runMain } from '../server/cli/runMain'
import { ProgressBar } from '../server/cli/progress'
import type { ParsedArgs } from '../server/cli/args'
import { existingSigningKey } from '../server/record/signingKey'
import { readKeys, verifyRecord } from '../server/record/verifyRecord'
import type { RecordKey } from '../shared/record'
import type { Store } from '../server/store/types'

const USAGE = [
  'usage: npm run verify -- <negotiationId> [--against export.json] [--no-checkpoints] [--progress] [--json]',
  '       npm run verify -- --record record.json [--keys keys.json|URL] [--no-store] [--json]',
].join('\n')

async function main(): Promise<number> {
  let args
  try {
    args = parseArgs(process.argv.slice(2), ['against', 'record', 'keys'])
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (args.values.has('record')) return verifyRecordFile(args)
  const id = args.positional[0]
  if (!id || args.flags.has('help')) {
    console.error(USAGE)
    return 2
  }
  let against
  const file = args.values.get('against')
  if (file) {
    try {
      against = (JSON.parse(readFileSync(file, 'utf8')) as ExportDoc).heads
      if (!against?.board || !against.ledger || !against.versions) throw new Error('no chain heads in it')
    } catch (err) {
      console.error(`--against ${file}: not a Parley JSON export (${(err as Error).message})`)
      return 2
    }
  }
  let store: Store
  try {
    ;({ store } = await openStoreToRead(loadConfig()))
  } catch (err) {
    // an invalid configuration, or a store that is not there or not readable: said, nothing created
    console.error((err as Error).message)
    return 2
  }
  const bar = new ProgressBar({ force: args.flags.has('progress') })
  try {
    const report = await verifyNegotiation(store, id, {
      checkpoints: !args.flags.has('no-checkpoints'),
      against,
      onProgress: (chain, done, total) => bar.update(`verifying ${chain}`, done, total),
    })
    bar.finish()
    if (args.flags.has('json')) {
      console.log(JSON.stringify(report, null, 2))
    } else if (report.ok) {
      console.log(`OK  negotiation ${id}: every chain recomputes${against ? ' and passes through the exported heads' : ''}`)
      for (const c of report.chains) {
        const what = c.chain === 'versions' ? `${c.rows} versions` : `${c.rows} rows, ${c.checkpoints} checkpoints`
        console.log(`  ${c.chain.padEnd(32)} ${what.padEnd(28)} head ${c.head.hash}`)
      }
    } else {
      const b = report.break!
      console.log(`BROKEN  ${b.chain} at ${b.chain === 'versions' ? 'version' : 'row'} ${b.seq}: ${b.problem}`)
      if (b.expected) console.log(`  expected ${b.expected}`)
      if (b.found) console.log(`  found    ${b.found}`)
      for (const c of report.chains) console.log(`  (verified before it: ${c.chain}, ${c.rows} rows)`)
    }
    return report.ok ? 0 : 1
  } catch (err) {
    bar.finish()
    console.error((err as Error).message)
    return 2
  } finally {
    await store.close()
  }
}

/** `--record <file>`: the signed record's checks, one line each. */
async function verifyRecordFile(args: ParsedArgs): Promise<number> {
  const file = args.values.get('record')!
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    console.error(`--record ${file}: cannot read it as JSON (${(err as Error).message})`)
    return 2
  }
  let config
  try {
    config = loadConfig()
  } catch (err) {
    console.error((err as Error).message)
    return 2
  }
  let keys: RecordKey[]
  let keySource: string
  try {
    const where = args.values.get('keys')
    if (where) {
      keys = await readKeys(where)
      keySource = where
    } else {
      const own = existingSigningKey(config.dataDir, config.signingKey)
      if (!own) {
        console.error(
          `no key to check against: this machine has no signing key (PARLEY_SIGNING_KEY, or one kept in ${config.dataDir}); pass --keys <file>, a saved GET /api/keys answer\n${USAGE}`,
        )
        return 2
      }
      keys = [own.entry]
      keySource = own.source
    }
  } catch (err) {
    console.error(`--keys: ${(err as Error).message}`)
    return 2
  }

  let store: Store | null = null
  let noStore: string | undefined
  if (args.flags.has('no-store')) noStore = 'not asked for (--no-store)'
  else if (!config.databaseUrl && !existsSync(sqliteFile(config.dataDir)))
    noStore = `no store here (no DATABASE_URL, no parley.db in ${config.dataDir})`
  else {
    try {
      ;({ store } = await openStoreToRead(config))
    } catch (err) {
      noStore = `the store could not be opened: ${(err as Error).message}`
    }
  }
  try {
    const checks = await verifyRecord(raw, keys, store, noStore)
    const failed = checks.filter((c) => !c.ok)
    if (args.flags.has('json')) {
      console.log(JSON.stringify({ ok: failed.length === 0, keys: keySource, checks }, null, 2))
    } else {
      console.log(`Record ${file}, checked against ${keys.length} key(s) from ${keySource}`)
      const width = Math.max(...checks.map((c) => c.check.length))
      for (const c of checks)
        console.log(`  ${(c.skipped ? 'SKIP' : c.ok ? 'OK' : 'FAIL').padEnd(5)} ${c.check.padEnd(width)}  ${c.detail}`)
      console.log(failed.length === 0 ? 'VERIFIED: every check holds' : `FAILED: ${failed.map((c) => c.check).join(', ')}`)
    }
    return failed.length === 0 ? 0 : 1
  } finally {
    await store?.close()
  }
}

runMain(main)
