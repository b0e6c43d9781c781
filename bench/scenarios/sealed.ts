/**
 * (i) The sealed caucus's load (issue 21: "a 10k-update sealed caucus loads in
 * a new browser within 1.5× the time of an unsealed one of the same size").
 *
 * One negotiation with three delegations, whose caucuses get the same N edits
 * (10 000 by default; `--sealed-updates=N` or BENCH_SEALED_UPDATES), one Yjs
 * update per edit — terms created, then typed into a run of characters at a
 * time, a note every 50 edits, the last edit a note holding a marker:
 *
 * - a: the sealed caucus `<id>/sealed/a`, written through the browser's own
 *   SealedProvider (client/src/lib/sealed/sealedProvider.ts, `ws` as its
 *   WebSocket) with the default compaction (every 500 rows). The edits come
 *   in bursts of 100 with the receipts awaited in between, as a person's
 *   typing lets the provider catch its breath, so it compacts as it would in
 *   a browser. The newest compaction is placed SEALED_TAIL (498) rows before
 *   the head — the most rows a new browser opens before the next compaction
 *   (a provider compacts once 500 rows follow the last one): the worst case
 *   for the sealed side, not the best (a head right after a compaction).
 * - b: the open caucus `<id>/caucus/b` through the stock y-websocket client,
 *   one message per edit, each committed (save receipts, `ack=1`).
 * - c: the sealed caucus `<id>/sealed/c` again, with compaction off
 *   (compactAfter: Infinity): a new browser opens all N rows. For information:
 *   what compaction buys.
 *
 * (Two delegations, not one: a link without the key of a delegation whose
 * caucus is sealed is told it is sealed and never shows the open caucus; the
 * shared board the pages load is the same.)
 *
 * The filled store is kept as it is, and every visit starts from a copy of
 * it with the server restarted on it (default rate limits: the fill raised
 * them, one client sending 10k edits as fast as receipts come back being no
 * browser): a browser that opens a sealed caucus is a writer and compacts
 * once 500 rows follow the newest compaction, so without the copy the second
 * visit would find another log. On that server, a Node client (the stock
 * provider, or a read-only SealedProvider: a reader never compacts) loads the
 * caucus twice — the server cold, then warm: the protocol's cost without a
 * UI — and then Chromium (playwright-core, /usr/bin/chromium, a fresh profile
 * per visit: no IndexedDB, no local copy, no kept key) opens the delegation's
 * invite link (sealed: with `&key=`), types a name, waits for the shared
 * board (its last term's title on the page), clicks the caucus switch, and
 * the clock stops when the last edit's text is on the page. Kept: click →
 * text, navigation → text, and the longest main-thread task between the
 * click and the text (what the page was busy with rather than waiting for).
 * The caucus's channel opens with the session (before the click), so
 * navigation → text is the load a person waits for; click → text is what
 * remains of it once the shared board is up. Kinds in alternating order,
 * after one unmeasured visit each. BENCH_SEALED_TRACE=1 logs each visit's
 * sockets (frames, bytes, first and last frame) and long tasks;
 * BENCH_SEALED_PROFILE=1 writes the page's CPU profile from the click to the
 * text into bench/results/profiles/ (npm run bench:profile -- <file>).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as decoding from 'lib0/decoding'
import { MessageType } from '../../shared/protocol'
import { caucusDocName, sealedDocName } from '../../shared/docNames'
import { board, insertNote, insertTerm } from '../../shared/docLayout'
import { encodeSealedKey, importSealedKey, newSealedKeyBytes } from '../../shared/sealedCrypto'
import { SealedProvider, compactionIn, sealedHead } from '../../client/src/lib/sealed/sealedProvider'
import type { BenchOptions } from '../lib/options'
import { formatValue, summarize, type CaseResult, type Metric } from '../lib/report'
import { percentile } from '../lib/stats'
import { ADMIN_TOKEN, ROOT, startServer, type RunningServer } from '../lib/servers'
import { log } from './fanout'
import { CHROMIUM, benchChromium, freshBrowser, type Chromium } from '../lib/chromium'

const WS = WebSocket as unknown as typeof globalThis.WebSocket
const DIST = join(ROOT, 'dist', 'client')
const TERMS = 8
const NOTE_EVERY = 50
const RUN = 40
const BURST = 100
/** rows after the newest compaction in the sealed caucus a (≤ 498: at 499 the provider compacts again) */
const SEALED_TAIL = 498
const TARGET_RATIO = 1.5
const CLAUSE =
  'Fallback: accept a 60-day surrender period if the requesting party drops the nationality bar; red line: no transfer of nationals. '

type Kind = 'open' | 'sealed' | 'raw'
const KINDS: Kind[] = ['open', 'sealed', 'raw']
const KIND_LABEL: Record<Kind, string> = {
  open: 'open caucus',
  sealed: 'sealed caucus (compactions every 500 rows)',
  raw: 'sealed caucus, no compaction (information)',
}
const PARTY: Record<Kind, string> = { sealed: 'a', open: 'b', raw: 'c' }

const metricsOf = (k: Kind): Metric[] => [
  { key: `${k}ClickMs`, label: `${KIND_LABEL[k]}: click on the caucus switch → last edit shown`, format: 'ms', better: 'lower' },
  { key: `${k}NavMs`, label: `${KIND_LABEL[k]}: navigation → last edit shown`, format: 'ms', better: 'lower' },
  {
    key: `${k}NodeColdMs`,
    label: `${KIND_LABEL[k]}: a Node client, server just restarted: connect → last edit in the doc (no UI)`,
    format: 'ms',
    better: 'lower',
  },
  {
    key: `${k}NodeMs`,
    label: `${KIND_LABEL[k]}: a Node client, server warm: connect → last edit in the doc (no UI)`,
    format: 'ms',
    better: 'lower',
  },
  {
    key: `${k}BoardMs`,
    label: `${KIND_LABEL[k]}: navigation → shared board live (before the click)`,
    format: 'ms',
    better: 'lower',
  },
  {
    key: `${k}LongMs`,
    label: `${KIND_LABEL[k]}: longest main-thread task between the click and the text`,
    format: 'ms',
    better: 'lower',
  },
]
const METRICS: Metric[] = KINDS.flatMap(metricsOf)

function sealedUpdates(): number {
  const flag = process.argv.find((a) => a.startsWith('--sealed-updates='))?.split('=')[1]
  const v = flag ?? process.env.BENCH_SEALED_UPDATES
  if (v === undefined) return 10_000
  const n = Number(v.replace(/k$/i, '000'))
  if (!Number.isInteger(n) || n < TERMS + 2) throw new Error(`--sealed-updates must be an integer ≥ ${TERMS + 2}`)
  return n
}

function roundsOf(opts: BenchOptions): number {
  const explicit = process.argv.some((a) => a.startsWith('--rounds=')) || process.env.BENCH_ROUNDS !== undefined
  return explicit ? opts.rounds : opts.quick ? 2 : 5
}

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(0)} ms`)

const markerOf = (n: number) => `Last edit ${n}: hold the line on Article 7`

/** Edit `i` of `n` on `doc`, in a transaction of its own: one Yjs update. Deterministic. */
function edit(doc: Y.Doc, i: number, n: number): void {
  doc.transact(() => {
    if (i === n - 1) {
      insertNote(doc, `note-last`, { text: markerOf(n), x: 60, y: 40, color: 'yellow' })
      return
    }
    if (i < TERMS) {
      insertTerm(doc, `term-${i}`, {
        title: `Position ${i + 1}`,
        body: '',
        x: 40 + (i % 4) * 360,
        y: 260 + Math.floor(i / 4) * 420,
      })
      return
    }
    const j = i - TERMS
    if (j % NOTE_EVERY === NOTE_EVERY - 1) {
      const k = Math.floor(j / NOTE_EVERY)
      insertNote(doc, `note-${k}`, {
        text: `Note ${k + 1}: ask the chair about the annex.`,
        x: 40 + (k % 10) * 200,
        y: 1200 + Math.floor(k / 10) * 160,
        color: 'yellow',
      })
      return
    }
    // typing: runs of RUN characters appended to one term's body, the terms in turn
    const run = Math.floor(j / RUN)
    const body = board(doc)
      .terms.get(`term-${run % TERMS}`)!
      .get('body') as Y.Text
    body.insert(body.length, CLAUSE[j % CLAUSE.length]!)
  })
}

async function waitUntil(what: string, fn: () => boolean, timeoutMs = 120_000): Promise<void> {
  const start = Date.now()
  while (!fn()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function fillOpen(wsBase: string, docName: string, token: string, n: number): Promise<number> {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${wsBase}/yjs`, docName, doc, {
    WebSocketPolyfill: WS,
    disableBc: true,
    params: { token, name: 'Bench A', ack: '1' },
  })
  let receipts = 0
  provider.messageHandlers[MessageType.saveReceipt] = (_enc, dec) => {
    decoding.readVarUint(dec)
    receipts++
  }
  try {
    await waitUntil('the open caucus to sync', () => provider.synced, 30_000)
    for (let i = 0; i < n; i += BURST) {
      for (let k = i; k < Math.min(n, i + BURST); k++) edit(doc, k, n)
      const sent = Math.min(n, i + BURST)
      await waitUntil(`receipts of the open caucus (${sent})`, () => receipts >= sent)
    }
    return receipts
  } finally {
    provider.destroy()
    doc.destroy()
  }
}

async function fillSealed(
  wsBase: string,
  docName: string,
  token: string,
  key: CryptoKey,
  n: number,
  compact: boolean,
): Promise<{ rows: number; compactions: number; tail: number }> {
  const doc = new Y.Doc()
  const provider = new SealedProvider({
    url: `${wsBase}/yjs`,
    docName,
    token,
    name: 'Bench A',
    key,
    doc,
    writable: true,
    WebSocketImpl: WS,
    ...(compact ? {} : { compactAfter: Infinity }),
  })
  let rows = 0
  let compactions = 0
  let lastCompactionSeq = 0
  let lastSeq = 0
  provider.on('row', ({ seq, update }) => {
    rows++
    lastSeq = Math.max(lastSeq, seq)
    // a compaction as the provider itself recognises one (a whole state whose doc holds the marker)
    if (compactionIn(update) !== null) {
      compactions++
      lastCompactionSeq = seq
    }
  })
  const saved = (what: string) => waitUntil(what, () => provider.synced && provider.unsaved === 0)
  try {
    await waitUntil('the sealed caucus to sync', () => provider.synced, 30_000)
    // the tail (rows after the newest compaction) is SEALED_TAIL edits: a forced compaction before it
    const tailFrom = compact ? Math.max(0, n - SEALED_TAIL) : n
    for (let i = 0; i < tailFrom; i += BURST) {
      for (let k = i; k < Math.min(tailFrom, i + BURST); k++) edit(doc, k, n)
      await saved(`receipts of the sealed caucus (${Math.min(tailFrom, i + BURST)})`)
    }
    if (compact) {
      if (lastCompactionSeq !== lastSeq) provider.maybeCompact(true)
      await saved('the compaction before the tail')
      for (let i = tailFrom; i < n; i += BURST) {
        for (let k = i; k < Math.min(n, i + BURST); k++) edit(doc, k, n)
        await saved(`receipts of the sealed caucus (${Math.min(n, i + BURST)})`)
      }
    }
    return { rows, compactions, tail: lastSeq - lastCompactionSeq }
  } finally {
    provider.destroy()
    doc.destroy()
  }
}

interface Seeded {
  negotiationId: string
  links: Record<Kind, string>
  tokens: Record<Kind, string>
  docs: Record<Kind, string>
  key: CryptoKey
  /** the sealed logs' head seqs as seeded */
  heads: Record<Kind, number>
  firstTitle: string
  lastTitle: string
}

async function seed(server: RunningServer, n: number, note: (s: string) => void): Promise<Seeded> {
  const terms = Array.from({ length: 12 }, (_, i) => ({
    title: `Article ${i + 1} — shared marker ${i + 1}`,
    body: `The requested party shall decide on the request within ${10 + i} days and notify the requesting party in writing.`,
  }))
  const res = await fetch(`${server.url}/api/negotiations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      title: 'Bench: sealed caucus',
      parties: [
        { id: 'a', name: 'Alpha' },
        { id: 'b', name: 'Beta' },
        { id: 'c', name: 'Gamma' },
      ],
      terms,
    }),
  })
  if (res.status !== 201) throw new Error(`create negotiation: ${res.status} ${await res.text()}`)
  const neg = (await res.json()) as { id: string; links: { negotiator: Record<string, string> } }
  const tokenOf = (link: string) => new URLSearchParams(link.split('#')[1]).get('token')!
  const wsBase = server.url.replace(/^http/, 'ws')
  const raw = newSealedKeyBytes()
  const key = await importSealedKey(raw)
  const keyText = encodeSealedKey(raw)

  let t = Date.now()
  const open = await fillOpen(wsBase, caucusDocName(neg.id, PARTY.open), tokenOf(neg.links.negotiator[PARTY.open]!), n)
  log(`  open caucus: ${open.toLocaleString('en-US')} updates stored in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  note(`Open caucus: ${open.toLocaleString('en-US')} updates, one stored per edit (save receipts).`)
  t = Date.now()
  const s = await fillSealed(
    wsBase,
    sealedDocName(neg.id, PARTY.sealed),
    tokenOf(neg.links.negotiator[PARTY.sealed]!),
    key,
    n,
    true,
  )
  log(
    `  sealed caucus: ${s.rows.toLocaleString('en-US')} rows (${s.compactions} compactions, the newest ${s.tail} rows before the head) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  )
  note(
    `Sealed caucus: ${s.rows.toLocaleString('en-US')} rows = ${n.toLocaleString('en-US')} edits + ${s.compactions} compactions (the real SealedProvider, default 500); ` +
      `the newest compaction ${s.tail} rows before the head — the most a new browser opens (worst case; a head right after a compaction opens ~1 row).`,
  )
  t = Date.now()
  const r = await fillSealed(wsBase, sealedDocName(neg.id, PARTY.raw), tokenOf(neg.links.negotiator[PARTY.raw]!), key, n, false)
  log(`  sealed caucus, no compaction: ${r.rows.toLocaleString('en-US')} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  note(
    `Sealed caucus without compaction: ${r.rows.toLocaleString('en-US')} rows (compactAfter: Infinity), all opened by a new browser.`,
  )
  return {
    negotiationId: neg.id,
    links: {
      open: neg.links.negotiator[PARTY.open]!,
      sealed: `${neg.links.negotiator[PARTY.sealed]!}&key=${keyText}`,
      raw: `${neg.links.negotiator[PARTY.raw]!}&key=${keyText}`,
    },
    tokens: {
      open: tokenOf(neg.links.negotiator[PARTY.open]!),
      sealed: tokenOf(neg.links.negotiator[PARTY.sealed]!),
      raw: tokenOf(neg.links.negotiator[PARTY.raw]!),
    },
    docs: {
      open: caucusDocName(neg.id, PARTY.open),
      sealed: sealedDocName(neg.id, PARTY.sealed),
      raw: sealedDocName(neg.id, PARTY.raw),
    },
    key,
    heads: { open: NaN, sealed: s.rows, raw: r.rows },
    firstTitle: terms[0]!.title,
    lastTitle: terms[terms.length - 1]!.title,
  }
}

/**
 * A client in Node loads the caucus into a fresh doc (the stock provider, or a read-only SealedProvider: a
 * reader never compacts, so the log stays as seeded): ms from its construction until the last edit is in the doc.
 */
async function nodeLoad(server: RunningServer, s: Seeded, k: Kind): Promise<number> {
  const wsBase = server.url.replace(/^http/, 'ws')
  const doc = new Y.Doc()
  const has = () => board(doc).notes.has('note-last')
  const t0 = performance.now()
  if (k === 'open') {
    const provider = new WebsocketProvider(`${wsBase}/yjs`, s.docs[k], doc, {
      WebSocketPolyfill: WS,
      disableBc: true,
      params: { token: s.tokens[k], name: 'Bench reader' },
    })
    try {
      await waitUntil('the open caucus in Node', () => provider.synced && has(), 60_000)
      return performance.now() - t0
    } finally {
      provider.destroy()
      doc.destroy()
    }
  }
  const provider = new SealedProvider({
    url: `${wsBase}/yjs`,
    docName: s.docs[k],
    token: s.tokens[k],
    name: 'Bench reader',
    key: s.key,
    doc,
    writable: false,
    WebSocketImpl: WS,
  })
  try {
    await waitUntil('the sealed caucus in Node', () => provider.synced && has(), 60_000)
    return performance.now() - t0
  } finally {
    provider.destroy()
    doc.destroy()
  }
}

async function timeCaucus(
  chromium: Chromium,
  link: string,
  boardMarker: string,
  marker: string,
  sealed: boolean,
): Promise<{ clickMs: number; navMs: number; boardMs: number; longMs: number }> {
  const { context, close } = await freshBrowser(chromium, 'bench-sealed-chromium-')
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    const trace = process.env.BENCH_SEALED_TRACE ? traceSockets(page) : null
    // the page's long tasks (≥ 50 ms), to tell the load's wait from its work on the main thread
    await page.addInitScript(() => {
      const w = window as unknown as { __long: Array<[number, number]> }
      w.__long = []
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) w.__long.push([e.startTime, e.duration])
      }).observe({ type: 'longtask', buffered: true })
    })
    await page.goto(link, { waitUntil: 'commit' })
    const T = 120_000
    const joinButton = page.getByRole('button', { name: /join/i })
    const shown = (text: string) =>
      page.waitForFunction((t) => (document.body?.innerText.includes(t) ? performance.now() : 0), text, {
        polling: 'raf',
        timeout: T,
      })
    const joined = joinButton.waitFor({ timeout: T }).then(() => 'join' as const)
    const boardFirst = shown(boardMarker).then(() => 'board' as const)
    // the loser of the race settles later (or rejects when the context closes): not an unhandled rejection
    joined.catch(() => {})
    boardFirst.catch(() => {})
    const first = await Promise.race([boardFirst, joined]).catch(async (err: Error) => {
      const text = await page.evaluate(() => document.body?.innerText.slice(0, 300) ?? '').catch(() => '?')
      throw new Error(`${err.message.split('\n')[0]} — the page at ${page.url().split('#')[0]} shows: ${JSON.stringify(text)}`)
    })
    if (first === 'join') {
      const name = page.getByRole('textbox').first()
      if (await name.isVisible()) await name.fill('Bench')
      await joinButton.click()
    }
    const boardMs = (await (await shown(boardMarker)).jsonValue()) as number
    // BENCH_SEALED_PROFILE=1: the page's CPU profile from the click to the text, into bench/results/profiles/
    const cdp = process.env.BENCH_SEALED_PROFILE ? await context.newCDPSession(page) : null
    if (cdp) {
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.start')
    }
    // the clock starts in the page, at the click itself
    const clickAt = (await page.evaluate(() => {
      const b = document.querySelector<HTMLButtonElement>('[data-testid="surface-caucus"]')
      if (!b) throw new Error('no caucus switch')
      const t = performance.now()
      b.click()
      return t
    })) as number
    const at = (await (await shown(marker)).jsonValue()) as number
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop')
      const dir = join(ROOT, 'bench', 'results', 'profiles')
      mkdirSync(dir, { recursive: true })
      const file = join(dir, `sealed-${sealed ? 'sealed' : 'open'}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`)
      writeFileSync(file, JSON.stringify(profile))
      log(`    profile (${sealed ? 'sealed' : 'open'}, click → text ${(at - clickAt).toFixed(0)} ms): ${file}`)
    }
    // not timed: the caucus shown is the one meant
    await page.locator(`[data-testid="caucus-banner"][data-sealed="${sealed}"]`).first().waitFor({ timeout: 10_000 })
    const long = (await page.evaluate(() => (window as unknown as { __long: Array<[number, number]> }).__long)) ?? []
    // the longest task that ran between the click and the text (clipped to that span)
    const longMs = long.reduce((m, [start, d]) => Math.max(m, Math.min(start + d, at) - Math.max(start, clickAt)), 0)
    if (trace)
      log(
        `    trace (${sealed ? 'sealed' : 'open'}): click at ${clickAt.toFixed(0)}, text at ${at.toFixed(0)}, ` +
          `long tasks ${long.map(([a, d]) => `${a.toFixed(0)}+${d.toFixed(0)}`).join(' ')}\n${await trace()}`,
      )
    return { clickMs: at - clickAt, navMs: at, boardMs, longMs }
  } finally {
    await close()
  }
}

/** BENCH_SEALED_TRACE=1: each socket's open, first and last frame in, frames and bytes, close — page time (ms from navigation). */
function traceSockets(page: import('playwright-core').Page): () => Promise<string> {
  const t0 = Date.now()
  const rows: Array<{ url: string; open: number; first: number; last: number; frames: number; bytes: number; close: number }> = []
  page.on('websocket', (ws) => {
    const r = { url: ws.url().replace(/\?.*/, ''), open: Date.now() - t0, first: NaN, last: NaN, frames: 0, bytes: 0, close: NaN }
    rows.push(r)
    ws.on('framereceived', (f) => {
      const now = Date.now() - t0
      if (r.frames++ === 0) r.first = now
      r.last = now
      r.bytes += typeof f.payload === 'string' ? f.payload.length : f.payload.byteLength
    })
    ws.on('close', () => (r.close = Date.now() - t0))
  })
  return async () => {
    // socket times: wall clock since goto was called, close to the page's navigation start
    return rows
      .map((r) => `      ${r.url}: open ${r.open}, frames ${r.frames} (${r.bytes} B) ${r.first}–${r.last}, close ${r.close}`)
      .join('\n')
  }
}

/** The assets index.html references, all present: a build not half-way (others rebuild dist/client). */
function completeBuild(dist: string): boolean {
  try {
    const html = readFileSync(join(dist, 'index.html'), 'utf8')
    const assets = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+)"/g)].map((m) => m[1]!)
    return assets.length > 0 && assets.every((a) => existsSync(join(dist, a)))
  } catch {
    return false
  }
}

/**
 * A private copy of what the server runs from (server/, shared/, dist/client, node_modules linked), for
 * BENCH_PARLEY_DIR: other work on the machine rebuilds dist/client, and a page loaded half-way through a
 * build fails. Waits (≤ 5 min) for a complete build to copy.
 */
async function privateParley(): Promise<{ dir: string; built: Date }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-sealed-parley-'))
  for (let tries = 0; ; tries++) {
    if (completeBuild(DIST)) {
      const built = statSync(join(DIST, 'index.html')).mtime
      rmSync(join(dir, 'dist'), { recursive: true, force: true })
      mkdirSync(join(dir, 'dist'))
      try {
        cpSync(DIST, join(dir, 'dist', 'client'), { recursive: true })
        if (
          completeBuild(join(dir, 'dist', 'client')) &&
          statSync(join(DIST, 'index.html')).mtime.getTime() === built.getTime()
        ) {
          for (const d of ['server', 'shared']) cpSync(join(ROOT, d), join(dir, d), { recursive: true })
          for (const f of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(dir, f))
          symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
          return { dir, built }
        }
      } catch {
        // a build removed files while they were copied: again
      }
    }
    if (tries >= 150) throw new Error('dist/client stayed incomplete for 5 min (a build in progress?)')
    await new Promise((r) => setTimeout(r, 2000))
  }
}

export async function runSealed(opts: BenchOptions): Promise<CaseResult[]> {
  if (opts.cases && !opts.cases.includes('i-sealed')) return []
  const n = sealedUpdates()
  const rounds = roundsOf(opts)
  const c: CaseResult = {
    scenario: 'sealed',
    case: 'i-sealed',
    title: `(i) sealed caucus load in a new browser: ${n.toLocaleString('en-US')} updates, sealed vs open (Chromium, Parley)`,
    metrics: METRICS,
    rounds: {},
    notes: [],
  }
  log(`\n[i-sealed] sealed caucus load, ${n.toLocaleString('en-US')} updates, ${rounds} round(s)`)
  if (!existsSync(join(DIST, 'index.html'))) {
    c.notes.push('Skipped: dist/client/index.html is missing — run `npm run build` first.')
    return [c]
  }
  const chromium = await benchChromium()
  if (!chromium) {
    c.notes.push(`Skipped: no Chromium at ${CHROMIUM}.`)
    return [c]
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-sealed-'))
  const ownCopy = process.env.BENCH_PARLEY_DIR ? null : await privateParley()
  if (ownCopy) {
    process.env.BENCH_PARLEY_DIR = ownCopy.dir
    c.notes.push(
      `Served from a private copy of server/, shared/ and dist/client (built ${ownCopy.built.toISOString()}) taken at the start.`,
    )
  }
  try {
    let seeded: Seeded
    const fill = await startServer('parley', {
      dataDir,
      env: { PARLEY_RATE_MESSAGES: '1000000', PARLEY_RATE_BYTES: '1000000000', PARLEY_RATE_STRUCTS: '1000000000' },
    })
    try {
      seeded = await seed(fill, n, (s) => c.notes.push(s))
    } finally {
      await fill.stop()
    }
    // Every visit starts from a copy of the seeded store: a browser that opens a sealed caucus is a writer and
    // compacts once 500 rows follow the newest compaction (the no-compaction caucus would not stay so).
    const visit = async (k: Kind): Promise<Record<string, number>> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await visitOnce(k)
        } catch (err) {
          log(`    (${k}: visit failed${attempt < 2 ? ', once more' : ', recorded as not measured'}: ${(err as Error).message})`)
          if (attempt >= 2) return {}
        }
      }
    }
    const visitOnce = async (k: Kind): Promise<Record<string, number>> => {
      const dir = `${dataDir}-visit`
      rmSync(dir, { recursive: true, force: true })
      cpSync(dataDir, dir, { recursive: true })
      const server = await startServer('parley', { dataDir: dir })
      try {
        const link = seeded.links[k].replace(/^https?:\/\/[^/]+/, server.url)
        const nodeCold = await nodeLoad(server, seeded, k)
        const nodeWarm = await nodeLoad(server, seeded, k)
        const t = await timeCaucus(chromium, link, seeded.lastTitle, markerOf(n), k !== 'open')
        if (k !== 'open') {
          const head = await sealedHead(`${server.url.replace(/^http/, 'ws')}/yjs`, seeded.docs[k], seeded.tokens[k], WS)
          if (head !== seeded.heads[k]) log(`    (${k}: the browser's visit moved the head from ${seeded.heads[k]} to ${head})`)
        }
        return {
          [`${k}ClickMs`]: t.clickMs,
          [`${k}NavMs`]: t.navMs,
          [`${k}BoardMs`]: t.boardMs,
          [`${k}LongMs`]: t.longMs,
          [`${k}NodeColdMs`]: nodeCold,
          [`${k}NodeMs`]: nodeWarm,
        }
      } finally {
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
    log(`  warm-up: each kind opened once, unmeasured`)
    for (const k of KINDS) await visit(k)
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? KINDS : [...KINDS].reverse()
      const rec: Record<string, number> = {}
      for (const k of order) Object.assign(rec, await visit(k))
      ;(c.rounds.parley ??= []).push(rec)
      log(
        `  round ${round + 1}/${rounds} (${order.join(', ')}): ` +
          KINDS.map(
            (k) =>
              `${k} click→text ${ms(rec[`${k}ClickMs`])}, nav→text ${ms(rec[`${k}NavMs`])}, ` +
              `longest task ${ms(rec[`${k}LongMs`])}, Node ${ms(rec[`${k}NodeColdMs`])} / ${ms(rec[`${k}NodeMs`])}`,
          ).join('; '),
      )
    }
  } finally {
    if (!process.env.BENCH_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true })
    if (ownCopy) {
      delete process.env.BENCH_PARLEY_DIR
      rmSync(ownCopy.dir, { recursive: true, force: true })
    }
  }
  const values = (key: string) => (c.rounds.parley ?? []).map((r) => r[key] ?? NaN).filter((v) => Number.isFinite(v))
  for (const k of KINDS)
    c.notes.push(
      `${KIND_LABEL[k]}: p95 of ${values(`${k}NavMs`).length} rounds — click → text ${formatValue(percentile(values(`${k}ClickMs`), 95), 'ms')}, ` +
        `navigation → text ${formatValue(percentile(values(`${k}NavMs`), 95), 'ms')}.`,
    )
  c.notes.push(
    'Each visit: a copy of the seeded store, the server restarted on it, a Node client reads the caucus twice (server cold, then warm), ' +
      'then a fresh Chromium profile (no IndexedDB, no kept key) opens it; kinds in alternating order, after one unmeasured visit each; ' +
      "the caucus's channel opens with the session, so the click → text time is what remains after the shared board is live.",
  )
  return [c]
}

/** Issue 21's bench target beside this run's figures (sealed / open, medians of rounds), as a Markdown table; '' when not run. */
export function issue21Table(cases: CaseResult[]): string {
  const lines: string[] = []
  for (const c of cases) {
    if (c.scenario !== 'sealed' || !c.rounds.parley?.length) continue
    const med = summarize(c).medians.parley!
    const row = (target: string, num: string, den: string, limit: number | null) => {
      const value = med[num]! / med[den]!
      const met =
        limit === null ? 'information' : !Number.isFinite(value) ? '— (not measured)' : value <= limit ? 'met' : '**not met**'
      lines.push(
        `| ${target} | ${value.toFixed(2)}× (${formatValue(med[num], 'ms')} / ${formatValue(med[den], 'ms')}) | ${met} |`,
      )
    }
    lines.push(
      `#### Issue 21 target: ${c.title.replace(/^\(i\) /, '')}`,
      '',
      '| ratio of medians | figure | met? |',
      '| --- | --- | --- |',
    )
    row(`sealed / open, navigation → last edit shown ≤ ${TARGET_RATIO}×`, 'sealedNavMs', 'openNavMs', TARGET_RATIO)
    row(
      `sealed / open, click on the caucus switch → last edit shown ≤ ${TARGET_RATIO}×`,
      'sealedClickMs',
      'openClickMs',
      TARGET_RATIO,
    )
    row('sealed without compaction / open, navigation → last edit shown', 'rawNavMs', 'openNavMs', null)
    row('sealed without compaction / open, click → last edit shown', 'rawClickMs', 'openClickMs', null)
  }
  return lines.join('\n')
}
