/**
 * `npm run verify -- <negotiationId> [--against export.json] [--no-checkpoints] [--progress] [--json]`
 *
 * Recomputes the hash chains of the negotiation's docs (board, ledger, every
 * caucus) and of its versions from the store named by the environment
 * (PARLEY_DATA_DIR or DATABASE_URL), compares checkpoints with the log, and
 * with --against also checks that the chains pass through the heads of an
 * earlier JSON export. Prints OK with the head hashes (exit 0) or the first
 * break: which chain, which row, what differs (exit 1). Usage errors exit 2.
 * Safe next to a running server: it only reads.
 */
import { readFileSync } from 'node:fs'
import { loadConfig } from '../server/config'
import { openStore } from '../server/store'
import { createLogger } from '../server/log'
import { verifyNegotiation } from '../server/history/verify'
import type { ExportDoc } from '../server/history/export'
import { parseArgs } from '../server/cli/args'
import { runMain } from '../server/cli/runMain'
import { ProgressBar } from '../server/cli/progress'

const USAGE = 'usage: npm run verify -- <negotiationId> [--against export.json] [--no-checkpoints] [--progress] [--json]'

async function main(): Promise<number> {
  let args
  try {
    args = parseArgs(process.argv.slice(2), ['against'])
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
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
  const store = await openStore(loadConfig(), createLogger('warn'))
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

runMain(main)
