/**
 * `npm run export -- <negotiationId> [--format md|html|json] [--out file] [--progress]`
 * `npm run export -- <negotiationId> --format docx [--n N | --from N --to M] [--suggestions comments|tracked] [--out file]`
 *
 * The same export as `GET /api/negotiations/:id/export`, read straight from
 * the store `npm start` uses (server/config.ts: the environment over `.env`,
 * PARLEY_DATA_DIR or DATABASE_URL, the same defaults), named on stderr. It
 * never writes, nor creates a store that is not there (server/cli/store.ts):
 * versions the server has not indexed yet (it was down) are
 * folded in memory exactly as the server will number them. Long histories
 * show a progress bar on stderr when it is a terminal or with --progress.
 * On a terminal the text is printed without control characters
 * (server/cli/terminalSafe.ts); --out and a pipe get it exactly.
 *
 * `--format docx` writes the Word file of `GET …/export?format=docx` (the
 * sheet at version N, default the newest, or the redline from N to M as
 * tracked changes: server/word/docxExport.ts) to --out, to a pipe, or — on
 * a terminal, where bytes would be garbage — to its own name in this folder.
 */
import { writeFileSync } from 'node:fs'
import { loadConfig } from '../server/config'
import { openStoreToRead } from '../server/cli/store'
import { createLogger } from '../server/log'
import { VersionIndex } from '../server/history/versionIndex'
import { HistoryQueries } from '../server/history/queries'
import { renderHtml, renderMarkdown } from '../server/history/exportRender'
import { parseArgs } from '../server/cli/args'
import { runMain } from '../server/cli/runMain'
import { ProgressBar } from '../server/cli/progress'
import { forStream } from '../server/cli/terminalSafe'
import { exportDocx, type DocxRequest } from '../server/word/docxExport'

const USAGE = [
  'usage: npm run export -- <negotiationId> [--format md|html|json] [--out file] [--progress]',
  '       npm run export -- <negotiationId> --format docx [--n N | --from N --to M] [--suggestions comments|tracked] [--out file]',
].join('\n')
const FORMATS = ['md', 'html', 'json', 'docx'] as const

/** The Word request of --n / --from / --to / --suggestions, or a reason it is not one. */
function docxArgs(values: Map<string, string>): DocxRequest | string {
  const num = (k: string) => {
    const v = values.get(k)
    if (v === undefined) return undefined
    const n = Number(v)
    return Number.isSafeInteger(n) && n >= 0 ? n : NaN
  }
  const [n, from, to] = [num('n'), num('from'), num('to')]
  const suggestions = values.get('suggestions')
  if ([n, from, to].some((x) => Number.isNaN(x))) return 'a version is a non-negative integer'
  if (suggestions !== undefined && suggestions !== 'comments' && suggestions !== 'tracked')
    return '--suggestions is comments or tracked'
  if (n !== undefined && (from !== undefined || to !== undefined)) return 'either --n, or --from and --to'
  if ((from === undefined) !== (to === undefined)) return 'a redline takes both --from and --to'
  const s = suggestions ? { suggestions: suggestions as 'comments' | 'tracked' } : {}
  return from !== undefined ? { from, to: to!, ...s } : { ...(n !== undefined ? { n } : {}), ...s }
}

async function main(): Promise<number> {
  let args
  try {
    args = parseArgs(process.argv.slice(2), ['format', 'out', 'n', 'from', 'to', 'suggestions'])
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
  const docx = format === 'docx' ? docxArgs(args.values) : null
  const versioned = ['n', 'from', 'to', 'suggestions'].find((k) => args.values.has(k))
  if (typeof docx === 'string' || (format !== 'docx' && versioned)) {
    console.error(`${typeof docx === 'string' ? docx : `--${versioned} is for --format docx`}\n${USAGE}`)
    return 2
  }
  const log = createLogger('warn')
  let store, where
  try {
    ;({ store, where } = await openStoreToRead(loadConfig()))
  } catch (err) {
    // an invalid configuration, or a store that is not there or not readable: said, nothing created
    console.error((err as Error).message)
    return 2
  }
  const bar = new ProgressBar({ force: args.flags.has('progress') })
  try {
    const negotiation = (nid: string) => store.getNegotiation(nid)
    const index = new VersionIndex({ store, negotiation, persist: false, log: (level, msg, err) => log[level](msg, err) })
    const history = new HistoryQueries(store, index, negotiation)
    if (docx) {
      const file = await exportDocx({ history, store }, id, docx, (done, total) =>
        bar.update('reading who changed what', done, total),
      )
      bar.finish()
      await index.close()
      if (!file) {
        console.error(`no negotiation "${id}" in ${where}`)
        return 2
      }
      const out = args.values.get('out') ?? (process.stdout.isTTY ? file.filename : null)
      const what = file.from === file.to ? `version ${file.to}` : `versions ${file.from} to ${file.to}`
      if (out) {
        writeFileSync(out, file.bytes)
        console.error(`wrote ${out} (${what}, ${file.terms} terms)`)
      } else process.stdout.write(file.bytes)
      return 0
    }
    const doc = await history.exportDoc(id, { onProgress: (_phase, done, total) => bar.update('reading history', done, total) })
    bar.finish()
    await index.close()
    if (!doc) {
      console.error(`no negotiation "${id}" in ${where}`)
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
