/**
 * (h) Server CPU per keystroke typing into a short term and into a long one
 * (issue 12, item 6): per-keystroke work must not depend on how long the term
 * typed into is. One term, grown to 500 and to 50,000 characters as two
 * delegations typing in turns at random places would grow it
 * (bench/lib/typingFill.ts, generated once, the same for every target), is
 * synced to the server; then the two delegations type into it in turns at 20
 * keystrokes/s, each turn at a cursor put at a random place (bench/load/typing.ts).
 * Every run is a fresh server process with one board; the two lengths
 * alternate their order from round to round. Reported per target: µs of
 * server CPU per keystroke for each length, and their ratio, long / short,
 * taken per round (issue 12's target for Parley: ≤ 1.5×). With --profile, a
 * CPU profile of Parley over each window of the last round (which then
 * carries the profiler's overhead).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../server/config'
import type { TypingConfig, TypingResult } from '../load/typing'
import type { BenchOptions } from '../lib/options'
import { loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { prepareRooms } from '../lib/rooms'
import { PARLEY_BENCH_ENV, ROOT, isParley, protocolOf, runWorker, startServer, type TargetName } from '../lib/servers'
import { growTerm, type TypingFill } from '../lib/typingFill'
import { log } from './fanout'

export const TYPING_CASE = 'h-typing'
const SEED = 12
const KEYSTROKES_PER_SECOND = 20
const TURN_KEYSTROKES = 20

export async function runTyping(opts: BenchOptions): Promise<CaseResult[]> {
  if (opts.cases && !opts.cases.includes(TYPING_CASE)) return []
  const [short, long] = opts.quick ? [500, 10_000] : [500, 50_000]
  const fmt = (n: number) => n.toLocaleString('en-US')
  // Hocuspocus with SQLite differs from Hocuspocus by a debounced store of the merged state: left out, as in (a)-10.
  const targets = opts.targets.filter((t) => t !== 'hocuspocus-sqlite')
  const metrics: Metric[] = [
    { key: 'short', label: `server CPU per keystroke, ${fmt(short)}-character term`, format: 'us', better: 'lower' },
    { key: 'long', label: `server CPU per keystroke, ${fmt(long)}-character term`, format: 'us', better: 'lower' },
    { key: 'ratio', label: `long / short (per round; Parley's target ≤ 1.5×)`, format: 'ratio', better: 'lower' },
    { key: 'keystrokes', label: 'keystrokes in a window (the fewer of the two)', format: 'int', better: 'higher' },
    { key: 'missing', label: 'keystrokes not relayed after drain', format: 'int', better: 'lower' },
  ]
  const c: CaseResult = {
    scenario: 'typing',
    case: TYPING_CASE,
    title: `(h) 2 delegations typing in turns at ${KEYSTROKES_PER_SECOND} keystrokes/s (each turn at a random place) into a ${fmt(short)}- vs a ${fmt(long)}-character term (grown by typing)`,
    metrics,
    rounds: {},
    notes: [
      'Server CPU: all threads of the server process (/proc/<pid>/task/*/schedstat), from the window’s start until both delegations had received every keystroke, divided by the keystrokes typed in the window.',
      'Each term was grown as two delegations typing in turns at random places (one in ten keystrokes a backspace) grow it — about one Yjs item per character, as a long clause written by two parties is, not one pasted run — and synced to the server in a few updates by one delegation before the typing (Parley: paced inside its per-token struct budget).',
      'Hocuspocus with SQLite is left out: it differs from Hocuspocus in memory by a debounced store of the merged state.',
    ],
  }
  log(`\n[${TYPING_CASE}] ${c.title} — load average ${loadAverage().join(' ')}`)
  // The same terms for every target and round.
  const fills = new Map<number, TypingFill>()
  for (const length of [short, long]) {
    const started = Date.now()
    fills.set(length, growTerm('annex-1', length, SEED))
    log(
      `  grew a ${fmt(length)}-character term in ${((Date.now() - started) / 1000).toFixed(1)} s (${fmt(fills.get(length)!.items)} items)`,
    )
  }
  for (let round = 0; round < opts.rounds; round++) {
    for (const target of targets) {
      const lengths = round % 2 === 0 ? [short, long] : [long, short]
      const byLength = new Map<number, TypingResult>()
      for (const length of lengths) {
        const profile = opts.profile && isParley(target) && round === opts.rounds - 1
        const r = await runOnce(target, fills.get(length)!, opts, profile)
        byLength.set(length, r)
        const closes = Object.entries(r.unexpectedCloses)
          .map(([code, n]) => `${n}×${code}`)
          .join(' ')
        log(
          `  round ${round + 1}/${opts.rounds} ${target.padEnd(11)} ${fmt(length).padStart(6)} chars (${fmt(r.items)} items, filled in ${r.fillSeconds.toFixed(1)} s): ` +
            `${r.keystrokes} keystrokes, cpu ${(r.serverCpuSeconds * 1000).toFixed(1)} ms (ticks ${(r.serverCpuSecondsTicks * 1000).toFixed(0)} ms) → ${r.usPerKeystroke.toFixed(0)} µs/keystroke  ` +
            `gen cpu ${(r.generatorCpuSeconds / r.windowSeconds).toFixed(2)}/s` +
            (r.missing ? `  missing ${r.missing}` : '') +
            (closes ? `  closes ${closes}` : '') +
            (r.denied ? `  denied ${r.denied}` : ''),
        )
      }
      const s = byLength.get(short)!
      const l = byLength.get(long)!
      ;(c.rounds[target] ??= []).push({
        short: s.usPerKeystroke,
        long: l.usPerKeystroke,
        ratio: l.usPerKeystroke / s.usPerKeystroke,
        keystrokes: Math.min(s.keystrokes, l.keystrokes),
        missing: s.missing + l.missing,
      })
    }
  }
  return [c]
}

async function runOnce(target: TargetName, fill: TypingFill, opts: BenchOptions, profile: boolean): Promise<TypingResult> {
  const server = await startServer(target, { inspect: profile })
  let profileFile: string | undefined
  if (profile) {
    const dir = join(ROOT, 'bench', 'results', 'profiles')
    mkdirSync(dir, { recursive: true })
    profileFile = join(
      dir,
      `${TYPING_CASE}-${fill.length}-${target}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
    )
    log(`  profile of the window: ${profileFile}`)
  }
  try {
    const [room] = await prepareRooms(server, 1)
    const config: TypingConfig = {
      protocol: protocolOf(target),
      docName: room!.docName,
      writers: [room!.writers[0]!, room!.writers[1]!],
      fill,
      structBudget: isParley(target) ? parleyStructBudget() : null,
      seed: SEED,
      keystrokesPerSecond: KEYSTROKES_PER_SECOND,
      turnKeystrokes: TURN_KEYSTROKES,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      drainMs: Math.max(2000, opts.durationMs / 2),
      serverPid: server.pid,
      ...(profileFile ? { profile: { inspectPort: server.inspectPort!, file: profileFile } } : {}),
    }
    return await runWorker<TypingConfig, TypingResult>('bench/load/typing.ts', config, 3 * 60_000)
  } finally {
    await server.stop()
  }
}

/** What one token of the Parley the bench starts may send, structs and delete ranges (server/app.ts). */
function parleyStructBudget(): { perSecond: number; burst: number } {
  const config = loadConfig({ ...PARLEY_BENCH_ENV })
  const perSecond = config.rate.structsPerSecond
  return { perSecond, burst: Math.max(2 * perSecond, config.maxStructsPerUpdate) }
}
