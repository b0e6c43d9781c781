/**
 * History benchmark (issue #5; `npm run bench:history:layer`, not a timed test).
 *
 * For each size (10k and 100k board updates by default) it builds a
 * negotiation history in a temp SQLite store through the real write path —
 * two delegations typing into terms through room connections, adding terms,
 * accepting/rejecting/reopening through the negotiation service, naming
 * checkpoints; ledger writer, group commit and the live version index all
 * running, on an injected clock (keystrokes 150–400 ms apart, pauses between
 * turns) — and then measures, median and p95 over many samples:
 *
 *   - listing the versions (GET …/versions without HTTP),
 *   - reconstructing the sheet at a random version (board + ledger at its seqs),
 *   - replaying: the sheet at each of consecutive versions (play / step),
 *   - reconstructing the board at a random seq (`docAt`),
 *   - the redline of a random version against the one before, and across 20 versions,
 *   - rebuilding the whole version index from the log (crash with an empty table),
 *   - an export and a full verification (both read the whole history),
 *   - cold load: a fresh server process state, a stock y-websocket client
 *     connecting to the board, until it is synced.
 *
 * Options: --sizes 10000,100000  --samples 200  --checkpoint-every 300  --json file
 *          --keep (the temp store)  --reuse <dir> (measure a kept store again; one size)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { board, termsInOrder } from '../shared/docLayout'
import { boardDocName } from '../shared/docNames'
import { loadConfig } from '../server/config'
import { startParley } from '../server/app'
import { createLogger } from '../server/log'
import { SqliteStore } from '../server/store/sqlite'
import { docAt } from '../server/history/reconstruct'
import { VersionIndex } from '../server/history/versionIndex'
import { HistoryQueries } from '../server/history/queries'
import { verifyNegotiation } from '../server/history/verify'
import { parseArgs } from '../server/cli/args'
import { startHistoryStack, type HistoryStack, type StackClient } from '../tests/helpers/historyStack'
import { synced, yClient } from '../tests/helpers/clients'
import { prng } from '../tests/helpers/prng'

const args = parseArgs(process.argv.slice(2), ['sizes', 'samples', 'checkpoint-every', 'json', 'reuse'])
const SIZES = (args.values.get('sizes') ?? '10000,100000').split(',').map(Number)
const SAMPLES = Number(args.values.get('samples') ?? 200)
const CHECKPOINT_EVERY = Number(args.values.get('checkpoint-every') ?? process.env.PARLEY_CHECKPOINT_EVERY ?? 300)

const WORDS = 'each party shall extradite persons charged with ransomware within days request evidence court review'.split(' ')

interface Stats {
  median: number
  p95: number
  n: number
  /** CPU time of this process (user + system), median: what the work costs when the machine is not shared */
  cpuMedian?: number
}

async function sample(n: number, fn: (i: number) => Promise<unknown>): Promise<Stats> {
  const times: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await fn(i)
    times.push(performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
  }
  return stats(times, cpu)
}

function stats(times: number[], cpu?: number[]): Stats {
  const q = (xs: number[], p: number) => {
    const sorted = [...xs].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  }
  return { median: q(times, 0.5), p95: q(times, 0.95), n: times.length, ...(cpu ? { cpuMedian: q(cpu, 0.5) } : {}) }
}

async function once(fn: () => Promise<unknown>): Promise<Stats> {
  return sample(1, fn)
}

/** Two delegations negotiating: typing runs, new terms, moves, checkpoints — `count` board updates in all. */
async function build(s: HistoryStack, count: number): Promise<{ seconds: number }> {
  const rand = prng(count)
  const clients: StackClient[] = [await s.client('us', 'J. Carter'), await s.client('ru', 'A. Volkova')]
  const boardRoom = await s.board()
  let made = 0
  let turn = 0
  let terms = 0
  let word = ''
  const t0 = performance.now()
  while (boardRoom.committedSeq < count) {
    const c = clients[turn % 2]!
    const other = clients[(turn + 1) % 2]!
    turn++
    const run = 1 + Math.floor(rand() * rand() * 150)
    const ids = termsInOrder(boardRoom.doc).map((t) => t.id)
    let target = ids.length < 3 || rand() < 0.01 ? null : ids[ids.length - 1 - Math.floor(rand() * Math.min(6, ids.length))]!
    if (!target && terms < 60) {
      // A new term, then the run types into it.
      const id = `t${++terms}`
      s.clock.advance(1000)
      c.edit((d) => {
        const m = new Y.Map<unknown>()
        m.set('title', new Y.Text(`Article ${terms}`))
        m.set('body', new Y.Text(''))
        m.set('x', 40 + (terms % 6) * 260)
        m.set('y', 40 + Math.floor(terms / 6) * 200)
        board(d).terms.set(id, m)
        board(d).order.push([id])
      })
      made++
      target = id
    }
    target ??= ids[0]!
    for (let k = 0; k < run && boardRoom.committedSeq + k < count; k++) {
      s.clock.advance(150 + Math.floor(rand() * 250))
      c.edit((d) => {
        const terms_ = board(d).terms
        const body = terms_.get(target)!.get('body') as Y.Text
        const r = rand()
        // keystrokes, as an editor binding sends them: a few characters, sometimes a deletion
        if (r < 0.8 || body.length < 12) {
          if (!word) word = WORDS[Math.floor(rand() * WORDS.length)]! + ' '
          const n = Math.min(word.length, 1 + Math.floor(rand() * 3))
          body.insert(rand() < 0.9 ? body.length : Math.floor(rand() * body.length), word.slice(0, n))
          word = word.slice(n)
        } else if (r < 0.96) body.delete(Math.floor(rand() * (body.length - 4)), 1 + Math.floor(rand() * 3))
        else terms_.get(target)!.set('x', Math.round(rand() * 1600))
      })
      made++
      // Let a group commit happen now and then, as a live room does.
      if (made % 200 === 0) await s.settle()
    }
    await s.settle()
    // The other delegation reacts to the term: accept, sometimes reject or reopen; now and then a checkpoint.
    s.clock.advance(2000 + Math.floor(rand() * 20_000))
    if (target) {
      const kind = rand() < 0.7 ? 'accept' : rand() < 0.6 ? 'reject' : 'reopen'
      await s.service.move(s.actor(other.party, other.user), kind, target).catch(() => {})
    }
    if (turn % 40 === 0) await s.service.checkpoint(s.actor(c.party, c.user), `Round ${turn / 40}`)
    if (turn % 50 === 0) process.stderr.write(`\r  building: ${boardRoom.committedSeq}/${count} board updates`)
  }
  await s.settle()
  process.stderr.write('\r\x1b[K')
  return { seconds: (performance.now() - t0) / 1000 }
}

/** Connect → synced of a stock client to the board, each time on a freshly started server (nothing in memory). */
async function coldLoad(dir: string, negotiationId: string, samples: number): Promise<Stats> {
  const config = loadConfig({
    PORT: '0',
    PARLEY_DATA_DIR: dir,
    PARLEY_LOG_LEVEL: 'warn',
    PARLEY_CHECKPOINT_EVERY: String(CHECKPOINT_EVERY),
  })
  const times: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < samples; i++) {
    const parley = await startParley(config, { log: createLogger('warn') })
    const { token } = await parley.service.mintToken(negotiationId, { role: 'negotiator', party: 'us' })
    const ws = parley.url.replace(/^http/, 'ws') + '/yjs'
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const c = yClient(ws, boardDocName(negotiationId), { token, name: 'Cold reader' })
    await synced(c, 30_000)
    times.push(performance.now() - t0)
    const used = process.cpuUsage(c0)
    cpu.push((used.user + used.system) / 1000)
    c.destroy()
    await parley.close()
  }
  return stats(times, cpu)
}

async function run(count: number) {
  const reuse = args.values.get('reuse')
  const dir = reuse ?? mkdtempSync(join(tmpdir(), `parley-bench-history-${count}-`))
  console.log(`\n== ${count.toLocaleString('en-US')} board updates (checkpoint every ${CHECKPOINT_EVERY}) — ${dir}`)
  console.log(
    `   load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  )
  const id = 'bench-history'
  let built = { seconds: NaN }
  if (!reuse) {
    const s = await startHistoryStack({
      dir,
      checkpointEvery: CHECKPOINT_EVERY,
      negotiationId: id,
      title: 'Reciprocal extradition (benchmark)',
      parties: [
        { id: 'us', name: 'United States', color: '#1f5fbf' },
        { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
      ],
    })
    built = await build(s, count)
    await s.close()
  }
  const probe = new SqliteStore(join(dir, 'parley.db'))
  const versions = await probe.listVersions(id)
  const boardHead = await probe.headSeq(boardDocName(id))
  const ledgerHead = await probe.headSeq(`${id}/ledger`)
  await probe.close()
  console.log(
    `built: ${boardHead} board + ${ledgerHead} ledger updates, ${versions.length} versions` +
      (reuse
        ? ' (reused)'
        : ` in ${built.seconds.toFixed(1)} s (${Math.round((boardHead + ledgerHead) / built.seconds)} updates/s through rooms, watcher, commit and the live index)`),
  )

  // Reads on a fresh store handle and index, as a restarted server would have.
  const store = new SqliteStore(join(dir, 'parley.db'))
  const negotiation = (nid: string) => store.getNegotiation(nid)
  const index = new VersionIndex({ store, negotiation, log: () => {} })
  const history = new HistoryQueries(store, index, negotiation)
  const rand = prng(7)
  const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1))
  const N = versions.length
  const results: Record<string, Stats> = {}
  await index.list(id) // first use loads the fold; what follows is steady state
  results.listVersions = await sample(Math.min(SAMPLES, 100), () => history.versions(id, { after: 0, limit: 500 }))
  results.sheetAtVersion = await sample(SAMPLES, () => history.sheetAt(id, pick(1, N)))
  // Replay: stepping through consecutive versions (play / step in the replay view).
  const start = pick(1, Math.max(1, N - SAMPLES))
  results.replayStep = await sample(Math.min(SAMPLES, N - start), (i) => history.sheetAt(id, start + i))
  results.docAtSeq = await sample(SAMPLES, async () => (await docAt(store, boardDocName(id), pick(1, boardHead))).destroy())
  results.redlineAdjacent = await sample(SAMPLES, () => {
    const n = pick(1, N)
    return history.diff(id, n - 1, n)
  })
  results.redline20 = await sample(Math.min(SAMPLES, 100), () => {
    const n = pick(20, N)
    return history.diff(id, n - 20, n)
  })
  await index.close()

  // Crash with an empty versions table: the first use folds the whole log again.
  store.db.prepare('DELETE FROM versions WHERE negotiation_id = ?').run(id)
  const rebuilt = new VersionIndex({ store, negotiation, log: () => {} })
  results.rebuildIndexMs = await once(() => rebuilt.list(id))
  const again = await rebuilt.list(id)
  if (JSON.stringify(again) !== JSON.stringify(versions)) throw new Error('rebuilt versions differ from the live ones')
  const readHistory = new HistoryQueries(store, rebuilt, negotiation)
  results.exportMs = await once(() => readHistory.exportDoc(id))
  let verified = false
  results.verifyMs = await once(async () => (verified = (await verifyNegotiation(store, id)).ok))
  if (!verified) throw new Error('verification failed')
  await rebuilt.close()
  await store.close()

  results.coldLoad = await coldLoad(dir, id, Math.max(5, Math.min(20, Math.floor(SAMPLES / 10))))
  if (!args.flags.has('keep') && !reuse) rmSync(dir, { recursive: true, force: true })

  const fmt = (v: Stats) =>
    v.n === 1
      ? `${v.median.toFixed(0)} ms once (cpu ${v.cpuMedian!.toFixed(0)} ms)`
      : `median ${v.median.toFixed(2)} ms  p95 ${v.p95.toFixed(2)} ms  cpu median ${v.cpuMedian!.toFixed(2)} ms  (n=${v.n})`
  const label: Record<string, string> = {
    listVersions: `list ${N} versions`,
    sheetAtVersion: 'sheet at a random version',
    replayStep: 'replay: sheet at the next version',
    docAtSeq: 'board at a random seq (docAt)',
    redlineAdjacent: 'redline n-1 → n (random n)',
    redline20: 'redline n-20 → n (random n)',
    rebuildIndexMs: 'rebuild the version index from the log',
    exportMs: 'export (whole history, per-term redlines)',
    verifyMs: 'verify (all chains and checkpoints)',
    coldLoad: 'cold load → first synced client',
  }
  for (const [k, v] of Object.entries(results)) console.log(`  ${label[k]!.padEnd(44)} ${fmt(v)}`)
  console.log(
    `   load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  )
  return { count, boardHead, ledgerHead, versions: N, buildSeconds: built.seconds, checkpointEvery: CHECKPOINT_EVERY, ...results }
}

const all = []
for (const size of SIZES) all.push(await run(size))
const out = args.values.get('json')
if (out) writeFileSync(out, JSON.stringify(all, null, 2))
