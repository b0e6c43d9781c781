/**
 * Results of a bench run: per case, every round's numbers per target, their
 * medians, and Parley's ratio to the best peer of the same run. Printed as
 * Markdown tables and written as JSON under bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { median } from './stats'
import { ROOT, type TargetName } from './servers'
import { loadAverage } from './proc'

export interface Metric {
  key: string
  label: string
  /** how to print a value */
  format: 'ms' | 'us' | 'int' | 'cpu' | 'mib' | 'kib' | 'bytes' | 'ratio'
  better: 'lower' | 'higher'
}

export interface CaseResult {
  scenario: string
  case: string
  title: string
  metrics: Metric[]
  /** target → one record per round (metric key → value; NaN when not measured) */
  rounds: Partial<Record<TargetName, Array<Record<string, number>>>>
  /** notes printed under the table (what is not comparable and why) */
  notes: string[]
  /** what a case keeps beside its rounds for the JSON results (e.g. (g)'s steps per target) */
  extra?: Record<string, unknown>
}

export interface Summary {
  medians: Partial<Record<TargetName, Record<string, number>>>
  /** metric → Parley's median / best peer's median (lower is better for Parley unless `better: higher`) */
  ratios: Record<string, { ratio: number; bestPeer: TargetName | null }>
  /** metric → Parley's median / the floor's (bench/servers/floor.ts), when the floor ran */
  floorRatios: Record<string, number>
  /** metric → Parley's median / parley-base's (an A/B of two revisions), when both ran beside peers */
  baseRatios: Record<string, number>
}

/**
 * The targets Parley is compared with as peers: every target but Parley itself and the floor (the limit
 * measured against, not a server one would deploy instead); parley-base (Parley at another revision, an
 * A/B) only when no real peer ran beside it.
 */
export function peersOf(targets: readonly TargetName[]): TargetName[] {
  const real = targets.filter((t) => t !== 'parley' && t !== 'floor' && t !== 'parley-base')
  return real.length === 0 && targets.includes('parley-base') ? ['parley-base'] : real
}

export function summarize(c: CaseResult): Summary {
  const medians: Summary['medians'] = {}
  for (const [t, rounds] of Object.entries(c.rounds) as Array<[TargetName, Array<Record<string, number>>]>) {
    medians[t] = Object.fromEntries(c.metrics.map((m) => [m.key, median(rounds.map((r) => r[m.key] ?? NaN))]))
  }
  const ratios: Summary['ratios'] = {}
  const peers = peersOf(Object.keys(medians) as TargetName[])
  for (const m of c.metrics) {
    const parley = medians.parley?.[m.key]
    let best: TargetName | null = null
    for (const t of peers) {
      const med = medians[t]!
      if (!Number.isFinite(med[m.key])) continue
      if (best === null) best = t
      else {
        const a = med[m.key]!
        const b = medians[best]![m.key]!
        if (m.better === 'lower' ? a < b : a > b) best = t
      }
    }
    const ratio = best !== null && parley !== undefined ? parley / medians[best]![m.key]! : NaN
    ratios[m.key] = { ratio, bestPeer: best }
  }
  const floorRatios: Summary['floorRatios'] = {}
  if (medians.floor && medians.parley)
    for (const m of c.metrics) floorRatios[m.key] = medians.parley[m.key]! / medians.floor[m.key]!
  const baseRatios: Summary['baseRatios'] = {}
  if (medians['parley-base'] && medians.parley)
    for (const m of c.metrics) baseRatios[m.key] = medians.parley[m.key]! / medians['parley-base'][m.key]!
  return { medians, ratios, floorRatios, baseRatios }
}

export function formatValue(v: number | undefined, f: Metric['format']): string {
  if (v === undefined || Number.isNaN(v)) return '—'
  if (!Number.isFinite(v)) return '∞'
  switch (f) {
    case 'ms':
      return v >= 100 ? `${v.toFixed(0)} ms` : v >= 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`
    case 'us':
      return v >= 100 ? `${v.toFixed(0)} µs` : v >= 10 ? `${v.toFixed(1)} µs` : `${v.toFixed(2)} µs`
    case 'int':
      return Math.round(v).toLocaleString('en-US')
    case 'cpu':
      return v.toFixed(3)
    case 'mib':
      return `${(v / 1024 / 1024).toFixed(0)} MiB`
    case 'kib':
      return `${(v / 1024).toFixed(1)} KiB`
    case 'bytes':
      return v >= 1024 * 1024 ? `${(v / 1024 / 1024).toFixed(1)} MiB` : `${(v / 1024).toFixed(0)} KiB`
    case 'ratio':
      return `${v.toFixed(2)}×`
  }
}

const fmtRatio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '—')

export function markdownTable(c: CaseResult): string {
  const s = summarize(c)
  const targets = Object.keys(c.rounds) as TargetName[]
  const hasParley = targets.includes('parley')
  const hasFloor = hasParley && targets.includes('floor')
  const peers = peersOf(targets)
  // parley-base beside real peers: an A/B column of its own (alone beside Parley, it is the peer)
  const hasBase = hasParley && targets.includes('parley-base') && !peers.includes('parley-base')
  const n = Math.max(...Object.values(c.rounds).map((r) => r!.length))
  const head = [
    'metric (median of ' + n + ')',
    ...targets,
    ...(hasParley && peers.length ? ['Parley / best peer'] : []),
    ...(hasFloor ? ['Parley / floor'] : []),
    ...(hasBase ? ['Parley / parley-base'] : []),
  ]
  const lines = [`#### ${c.title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`]
  for (const m of c.metrics) {
    const cells = targets.map((t) => formatValue(s.medians[t]?.[m.key], m.format))
    const r = s.ratios[m.key]!
    if (hasParley && peers.length)
      cells.push(r.bestPeer && Number.isFinite(r.ratio) ? `${fmtRatio(r.ratio)} (vs ${r.bestPeer})` : '—')
    if (hasFloor) cells.push(fmtRatio(s.floorRatios[m.key] ?? NaN))
    if (hasBase) cells.push(fmtRatio(s.baseRatios[m.key] ?? NaN))
    lines.push(`| ${m.label} | ${cells.join(' | ')} |`)
  }
  if (c.notes.length) lines.push('', ...c.notes.map((x) => `- ${x}`))
  return lines.join('\n')
}

export function machine() {
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
  } catch {
    // not a git checkout
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    commit,
    date: new Date().toISOString(),
    loadAverage: loadAverage(),
  }
}

export function writeResults(name: string, payload: unknown): string {
  const dir = join(ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    file,
    JSON.stringify(payload, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2),
  )
  return file
}
