/**
 * (f) The client: production bundle size (gzip, default level 6, as a server
 * compresses on the fly) — the initial load (what index.html references) and
 * everything under dist/client/assets — and the time from navigation start
 * to a synced, rendered board in Chromium (playwright-core with Debian's
 * /usr/bin/chromium, a fresh profile per round): an invite link is opened and
 * the clock stops when the text of the board's last term is on the page,
 * which it can only be once the board doc has synced from the server.
 *
 * Runs against dist/client as `npm run build` leaves it; skipped (with a note)
 * when there is no build or no Chromium. No peer ships a client.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { BenchOptions } from '../lib/options'
import type { CaseResult, Metric } from '../lib/report'
import { createNegotiation } from '../lib/rooms'
import { ROOT, startServer } from '../lib/servers'
import { log } from './fanout'
import { CHROMIUM, benchChromium, freshBrowser, type Chromium } from '../lib/chromium'

const DIST = join(ROOT, 'dist', 'client')

const METRICS: Metric[] = [
  { key: 'initialGzip', label: "initial load (index.html's scripts and styles), gzip", format: 'kib', better: 'lower' },
  { key: 'totalGzip', label: 'all JS and CSS (incl. lazy chunks), gzip', format: 'kib', better: 'lower' },
  { key: 'joinMs', label: 'navigation → name form shown (first visit)', format: 'ms', better: 'lower' },
  {
    key: 'boardMs',
    label: 'navigation → synced, rendered board (20 terms; includes typing a name to join)',
    format: 'ms',
    better: 'lower',
  },
]

export async function runClient(opts: BenchOptions): Promise<CaseResult[]> {
  if (opts.cases && !opts.cases.includes('f-client')) return []
  const c: CaseResult = {
    scenario: 'client',
    case: 'f-client',
    title: '(f) client: bundle and time to a synced board in Chromium (Parley only; no peer ships a client)',
    metrics: METRICS,
    rounds: {},
    notes: [],
  }
  log(`\n[f-client] client bundle and time to board`)
  if (!existsSync(join(DIST, 'index.html'))) {
    c.notes.push('Skipped: dist/client/index.html is missing — run `npm run build` first.')
    return [c]
  }
  const sizes = bundleSizes()
  const chromium = await benchChromium()
  if (!chromium) c.notes.push(`Time to board not measured: no Chromium at ${CHROMIUM} (apt-get install -y chromium).`)

  const server = await startServer('parley')
  try {
    const terms = Array.from({ length: 20 }, (_, i) => ({
      title: `Article ${i + 1} — bench marker ${i + 1}`,
      body: `The requested party shall decide on the request within ${10 + i} days and notify the requesting party of its decision in writing.`,
    }))
    const neg = await createNegotiation(server, 'Bench board', terms)
    const link = neg.links.negotiator.a!
    const marker = terms[terms.length - 1]!.title
    for (let round = 0; round < opts.rounds; round++) {
      const t = chromium ? await timeToBoard(chromium, link, marker) : { boardMs: NaN, joinMs: NaN }
      const boardMs = t.boardMs
      ;(c.rounds.parley ??= []).push({ ...sizes, ...t })
      log(
        `  round ${round + 1}/${opts.rounds} parley  initial ${(sizes.initialGzip / 1024).toFixed(1)} KiB gzip, total ${(sizes.totalGzip / 1024).toFixed(1)} KiB gzip, ` +
          `board in ${Number.isNaN(boardMs) ? '—' : boardMs.toFixed(0) + ' ms'}`,
      )
    }
  } finally {
    await server.stop()
  }
  return [c]
}

function bundleSizes(): { initialGzip: number; totalGzip: number } {
  const gz = (file: string) => gzipSync(readFileSync(file)).byteLength
  const html = readFileSync(join(DIST, 'index.html'), 'utf8')
  const referenced = new Set<string>()
  for (const m of html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.(?:js|css))"/g)) referenced.add(m[1]!)
  const assets = readdirSync(join(DIST, 'assets')).filter((f) => /\.(js|css)$/.test(f))
  return {
    initialGzip: [...referenced].reduce((n, f) => n + gz(join(DIST, f)), 0),
    totalGzip: assets.reduce((n, f) => n + gz(join(DIST, 'assets', f)), 0),
  }
}

async function timeToBoard(
  chromium: Chromium,
  link: string,
  marker: string,
): Promise<{ boardMs: number; joinMs: number }> {
  let joinMs = NaN
  const { context, close } = await freshBrowser(chromium, 'bench-chromium-')
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(link, { waitUntil: 'commit' })
    // A first visit asks for a display name: type one and join, as a person would (a few ms of automation).
    const join = page.getByRole('button', { name: /join/i })
    const shown = page.waitForFunction((text) => document.body?.innerText.includes(text), marker, {
      polling: 'raf',
      timeout: 30_000,
    })
    const first = await Promise.race([
      shown.then(() => 'board' as const),
      join.waitFor({ timeout: 30_000 }).then(() => 'join' as const),
    ])
    if (first === 'join') {
      joinMs = (await page.evaluate(() => performance.now())) as number
      const name = page.getByRole('textbox').first()
      if (await name.isVisible()) await name.fill('Bench')
      await join.click()
    }
    // performance.now() in the page counts from navigation start.
    const at = await page.waitForFunction((text) => (document.body?.innerText.includes(text) ? performance.now() : 0), marker, {
      polling: 'raf',
      timeout: 30_000,
    })
    await shown
    return { boardMs: (await at.jsonValue()) as number, joinMs }
  } finally {
    await close()
  }
}
