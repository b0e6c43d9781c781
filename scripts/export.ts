/**
 * `npm run export -- <negotiationId> [--format md|html|json] [--out file] [--progress]`
 *
 * The same export as `GET /api/negotiations/:id/export`, read straight from
 * the store named by the environment (PARLEY_DATA_DIR or DATABASE_URL). It
 * never writes: versions the server has not indexed yet (it was down) are
 * folded in memory exactly as the server will number them. Long histories
 * show a progress bar on stderr when it is a terminal or with --progress.
 * On a terminal the text is printed without control characters
 * (server/cli/terminalSafe.ts); --out and a pipe get it exactly.
 */
import { writeFileSync } from 'node:fs'
import { loadConfig } from '../server/config'
import { openStore } from '../server/store'
import { createLogger } from '../server/log'
import { VersionIndex } from '../server/history/versionIndex'
import { HistoryQueries } from '../server/history/queries'
import { renderHtml, renderMarkdown } from '../server/history/exportRender'
import { parseArgs } from '../server/cli/args'
import { runMain } from '../server/cli/runMain'
import { ProgressBar } from '../server/cli/progress'
import { forStream } from '../server/cli/terminalSafe'

const USAGE = 'usage: npm run export -- <negotiationId> [--format md|html|json] [--out file] [--progress]'
const FORMATS = ['md', 'html', 'json'] as const

async function main(): Promise<number> {
  let args
  try {
    args = parseArgs(process.argv.slice(2), ['format', 'out'])
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  const id = args.positional[0]
  const format = (args.values.get('format') ?? 'md') as (typeof FORMATS)[number]
  if (!id || args.flags.has('help') || !FORMATS.includes(format)) {
    console.error(USAGE)
    return 2
  }
  const log = createLogger('warn')
  const store = await openStore(loadConfig(), log)
  const bar = new ProgressBar({ force: args.flags.has('progress') })
  try {
    const negotiation = (nid: string) => store.getNegotiation(nid)
    const index = new VersionIndex({ store, negotiation, persist: false, log: (level, msg, err) => log[level](msg, err) })
    const history = new HistoryQueries(store, index, negotiation)
    const doc = await history.exportDoc(id, { onProgress: (_phase, done, total) => bar.update('reading history', done, total) })
    bar.finish()
    await index.close()
    if (!doc) {
      console.error(`no negotiation "${id}" in this store`)
      return 2
    }
    const text = format === 'json' ? JSON.stringify(doc, null, 2) + '\n' : format === 'md' ? renderMarkdown(doc) : renderHtml(doc)
    const out = args.values.get('out')
    if (out) {
      writeFileSync(out, text)
      console.error(`wrote ${out} (${doc.versions.length} versions, ${doc.terms.length} terms)`)
    } else process.stdout.write(forStream(process.stdout, text))
    return 0
  } finally {
    bar.finish()
    await store.close()
  }
}

runMain(main)
