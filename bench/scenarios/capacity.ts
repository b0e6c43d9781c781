/**
 * (g) Capacity: how many live negotiations — each 2 writers at 20 keystrokes/s
 * and 4 watchers, the load of (b) — one server process holds with p99 ≤ 50 ms
 * and nothing missing. The number an operator sizes hardware by.
 *
 * Per target, the count steps up (a fresh server for every step, the same load
 * generator as (a) and (b)) until a step fails — p99 over the limit, a
 * keystroke missing after the drain, a refused or closed connection — or the
 * steps run out; then the gap between the last step held and the first one
 * failed is halved twice. The capacity is the largest count held. Every step
 * is kept: its p99 against the count is the curve drawn (bench/lib/chart.ts)
 * into bench/results/capacity-<date>.svg. Targets take turns round by round,
 * as everywhere in the bench; the table gives the median capacity of the rounds.
 *
 * The load generator runs on the same machine: at a few hundred negotiations it
 * spends a core of its own (its CPU per second is printed per step), which
 * caps what any target can show here; the ratio between targets is what counts.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchOptions } from '../lib/options'
import { loadAverage } from '../lib/proc'
import type { CaseResult, Metric } from '../lib/report'
import { ROOT, type TargetName } from '../lib/servers'
import { lineChart, type Series } from '../lib/chart'
import { log, runOnce, type FanoutCase } from './fanout'

export const CAPACITY_CASE = 'g-capacity'
/** the latency an operator promises: every keystroke on every screen within this */
export const CAPACITY_P99_MS = 50
const STEPS = [10, 25, 50, 75, 100, 150, 200, 300, 400, 600]
const QUICK_STEPS = [10, 25, 50, 100]
/** halvings of the gap between the last count held and the first failed */
const REFINEMENTS = 2

export interface CapacityStep {
  rooms: number
  p99: number
  p50: number
  missing: number
  cpuPer1000: number
  generatorCpuPerSecond: number
  held: boolean
  why: string
}

const METRICS: Metric[] = [
  {
    key: 'capacity',
    label: `live negotiations held (p99 ≤ ${CAPACITY_P99_MS} ms, nothing missing)`,
    format: 'int',
    better: 'higher',
  },
  { key: 'p99AtCapacity', label: 'edit→observer p99 at that count', format: 'ms', better: 'lower' },
  { key: 'cpuAtCapacity', label: 'server CPU s / 1,000 deliveries at that count', format: 'cpu', better: 'lower' },
]

export async function runCapacity(opts: BenchOptions): Promise<{ result: CaseResult; chart: string | null }[]> {
  if (opts.cases && !opts.cases.includes(CAPACITY_CASE)) return []
  const steps = opts.quick ? QUICK_STEPS : STEPS
  const result: CaseResult = {
    scenario: 'capacity',
    case: CAPACITY_CASE,
    title: `(g) capacity: live negotiations of 2 writers × 20 keystrokes/s + 4 watchers one process holds with p99 ≤ ${CAPACITY_P99_MS} ms`,
    metrics: METRICS,
    rounds: {},
    notes: [
      `Counts stepped ${steps.join(', ')}, a fresh server per step, until one failed; then the gap to the last count held halved ${REFINEMENTS} times.`,
      'A step fails when p99 exceeds the limit, any keystroke of the window is missing after the drain, or a connection is refused or closed.',
      'The load generator shares the machine (2 cores): its CPU per step is in the JSON results; at a few hundred negotiations it caps every target alike.',
    ],
  }
  const curves = new Map<TargetName, CapacityStep[][]>()
  // A search is ~10 steps per target (~2 minutes): one round unless asked (--capacity-rounds), which
  // keeps the full run near 40 minutes.
  const rounds = opts.capacityRounds
  log(`\n[${CAPACITY_CASE}] ${result.title} — load average ${loadAverage().join(' ')}`)
  for (let round = 0; round < rounds; round++) {
    for (const target of opts.targets) {
      const tried: CapacityStep[] = []
      const attempt = async (rooms: number) => {
        const step = await measure(target, rooms, opts)
        tried.push(step)
        log(
          `  round ${round + 1}/${rounds} ${target.padEnd(17)} ${String(rooms).padStart(4)} negotiations: ` +
            `p99 ${step.p99.toFixed(1)} ms  cpu ${step.cpuPer1000.toFixed(3)}/1k  gen cpu ${step.generatorCpuPerSecond.toFixed(2)}/s  ${step.held ? 'held' : `failed (${step.why})`}`,
        )
        return step.held
      }
      let held = 0
      let failed = Infinity
      for (const rooms of steps) {
        if (await attempt(rooms)) held = rooms
        else {
          failed = rooms
          break
        }
      }
      for (let i = 0; i < REFINEMENTS && Number.isFinite(failed) && failed - held > 2; i++) {
        const mid = Math.round((held + failed) / 2)
        if (await attempt(mid)) held = mid
        else failed = mid
      }
      const at = tried.find((s) => s.rooms === held)
      ;(result.rounds[target] ??= []).push({
        capacity: held,
        p99AtCapacity: at?.p99 ?? NaN,
        cpuAtCapacity: at?.cpuPer1000 ?? NaN,
      })
      if (!Number.isFinite(failed))
        result.notes.push(
          `${target} held the largest count tried (${held}) in round ${round + 1}: its capacity is at least that.`,
        )
      ;(curves.get(target) ?? curves.set(target, []).get(target)!).push(tried.sort((a, b) => a.rooms - b.rooms))
    }
  }
  result.extra = { curves: Object.fromEntries(curves) }
  const chart = drawCurves(curves)
  return [{ result, chart }]
}

async function measure(target: TargetName, rooms: number, opts: BenchOptions): Promise<CapacityStep> {
  const c: FanoutCase = {
    id: `${CAPACITY_CASE}-${rooms}`,
    title: '',
    rooms,
    observersPerRoom: 4,
    awareness: false,
    targets: [target],
  }
  // Shorter windows than (a)/(b): many steps per target; 1 s of warm-up after every client is synced.
  const stepOpts: BenchOptions = { ...opts, durationMs: Math.min(opts.durationMs, 5000), warmupMs: 1000 }
  try {
    const r = await runOnce(target, c, stepOpts, false)
    const closes = Object.values(r.unexpectedCloses).reduce((a, b) => a + b, 0)
    const why =
      r.denied > 0
        ? `${r.denied} refused`
        : closes > 0
          ? `${closes} closed`
          : r.missing > 0
            ? `${r.missing} missing`
            : r.p99IsLowerBound || r.p99 > CAPACITY_P99_MS
              ? `p99 ${r.p99IsLowerBound ? '≥ ' : ''}${r.p99.toFixed(0)} ms`
              : ''
    return {
      rooms,
      p99: r.p99IsLowerBound ? Infinity : r.p99,
      p50: r.p50,
      missing: r.missing,
      cpuPer1000: r.cpuPer1000,
      generatorCpuPerSecond: r.generatorCpuSeconds / r.windowSeconds,
      held: why === '',
      why,
    }
  } catch (err) {
    // A server that falls over (or a generator that cannot connect everyone in time) did not hold the count.
    return {
      rooms,
      p99: Infinity,
      p50: NaN,
      missing: NaN,
      cpuPer1000: NaN,
      generatorCpuPerSecond: NaN,
      held: false,
      why: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 120),
    }
  }
}

/** The curve of every target (median p99 of the rounds at each count tried), as an SVG file under bench/results. */
function drawCurves(curves: Map<TargetName, CapacityStep[][]>): string | null {
  const series: Series[] = []
  for (const [target, rounds] of curves) {
    const byCount = new Map<number, number[]>()
    for (const steps of rounds)
      for (const s of steps) (byCount.get(s.rooms) ?? byCount.set(s.rooms, []).get(s.rooms)!).push(s.p99)
    const points = [...byCount]
      .sort((a, b) => a[0] - b[0])
      .map(([x, ys]) => ({ x, y: ys.sort((a, b) => a - b)[Math.floor((ys.length - 1) / 2)]! }))
    series.push({ name: target, points })
  }
  if (series.length === 0) return null
  const svg = lineChart({
    title: 'Edit→observer p99 against live negotiations (2 writers × 20 keystrokes/s + 4 watchers each)',
    xLabel: 'live negotiations in one process',
    yLabel: 'p99, ms',
    series,
    limit: { y: CAPACITY_P99_MS, label: `${CAPACITY_P99_MS} ms` },
    yMax: CAPACITY_P99_MS * 3,
  })
  const dir = join(ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `capacity-${new Date().toISOString().replace(/[:.]/g, '-')}.svg`)
  writeFileSync(file, svg)
  return file
}
