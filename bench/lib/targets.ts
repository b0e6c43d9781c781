/**
 * Issue 12's targets ("Measured at 1M") beside the figures of this run: each
 * figure the median of its case's rounds (Parley), each target met or not.
 * Only what the run measured is listed (e.g. the 1M/100k store ratio needs
 * both sizes in the same run: `npm run bench:1m` runs 100k and 1M).
 */
import { sizeLabel } from './options'
import { formatValue, summarize, type CaseResult, type Metric } from './report'

export interface TargetRow {
  target: string
  size: string
  figure: string
  met: boolean | null
  value: number
  limit: number
}

const MiB = 2 ** 20

const sizeOf = (c: CaseResult) => {
  const m = /^[cd]-(\d+)([kM]?)$/.exec(c.case)
  return m ? Number(m[1]) * (m[2] === 'k' ? 1_000 : m[2] === 'M' ? 1_000_000 : 1) : NaN
}

export function issue12Targets(cases: CaseResult[]): TargetRow[] {
  const rows: TargetRow[] = []
  const median = (c: CaseResult, key: string) => summarize(c).medians.parley?.[key] ?? NaN
  const add = (target: string, c: CaseResult, key: string, limit: number, format: Metric['format'], extra = '') => {
    const value = median(c, key)
    rows.push({
      target,
      size: sizeLabel(sizeOf(c)),
      figure: formatValue(value, format) + extra,
      met: Number.isFinite(value) ? value <= limit : null,
      value,
      limit,
    })
  }
  const cold = cases.filter((c) => c.scenario === 'coldload' && c.rounds.parley?.length)
  const hist = cases.filter((c) => c.scenario === 'history' && c.rounds.parley?.length)
  for (const c of cold) add('cold load: connect → sync step 2 ≤ 50 ms (issue: at 1M)', c, 'ms', 50, 'ms')
  for (const c of hist) {
    const p50 = (key: string) => ` (p50 ${formatValue(median(c, key), 'ms')})`
    add('a random version (GET versions/:n) p99 ≤ 20 ms', c, 'versionP99', 20, 'ms', p50('versionP50'))
    add('the board at a random seq (boardAt) p99 ≤ 30 ms', c, 'boardAtP99', 30, 'ms', p50('boardAtP50'))
    add('a redline of two random versions p99 ≤ 50 ms', c, 'redlineP99', 50, 'ms', p50('redlineP50'))
    add('the first page of versions (limit=500) ≤ 10 ms, at p99', c, 'listP99', 10, 'ms', p50('listP50'))
    const first = median(c, 'firstVersionMs')
    add(
      'first history request after a restart ≤ 2× a warm one',
      c,
      'firstRatio',
      2,
      'ratio',
      ` (${formatValue(first, 'ms')} vs ${formatValue(median(c, 'versionP50'), 'ms')} p50)`,
    )
    add(
      '(also) the first version list after a restart, code warm, ≤ 2× a warm one',
      c,
      'firstListRatio',
      2,
      'ratio',
      ` (${formatValue(median(c, 'firstListMs'), 'ms')} vs ${formatValue(median(c, 'listP50'), 'ms')} p50)`,
    )
  }
  const dataDir = new Map(cold.map((c) => [sizeOf(c), median(c, 'dataDirBytes')]))
  const at100k = dataDir.get(100_000)
  if (at100k !== undefined)
    rows.push({
      target: 'store (whole data dir) at 100k ≤ 12 MiB',
      size: '100k',
      figure: formatValue(at100k, 'bytes'),
      met: at100k <= 12 * MiB,
      value: at100k,
      limit: 12 * MiB,
    })
  const at1M = dataDir.get(1_000_000)
  if (at100k !== undefined && at1M !== undefined) {
    const ratio = at1M / at100k
    rows.push({
      target: 'store at 1M ≤ 10.5× store at 100k',
      size: '1M / 100k',
      figure: `${ratio.toFixed(2)}× (${formatValue(at1M, 'bytes')} / ${formatValue(at100k, 'bytes')})`,
      met: ratio <= 10.5,
      value: ratio,
      limit: 10.5,
    })
  }
  return rows
}

/**
 * Issue 19's targets beside this run's figures: Parley against the best peer, against Hocuspocus with
 * SQLite (the peer that persists) and against the floor (bench/servers/floor.ts), each a ratio of medians
 * of rounds of this one run. "p99 stable": Parley's worst round is at most 1.5× its median round.
 */
export function issue19Targets(cases: CaseResult[]): TargetRow[] {
  const rows: TargetRow[] = []
  const ratioRow = (target: string, c: CaseResult, value: number, limit: number, detail: string, higherIsBetter = false) =>
    rows.push({
      target,
      size: c.case,
      figure: `${formatValue(value, 'ratio')} (${detail})`,
      met: Number.isFinite(value) ? (higherIsBetter ? value >= limit : value <= limit) : null,
      value,
      limit,
    })
  const peerNames = ['stock', 'hocuspocus', 'hocuspocus-sqlite'] as const
  for (const c of cases.filter((x) => x.scenario === 'fanout' || x.scenario === 'rooms')) {
    const s = summarize(c)
    const parley = s.medians.parley
    if (!parley) continue
    const ms = (v: number | undefined) => formatValue(v, 'ms')
    const cpu = (v: number | undefined) => formatValue(v, 'cpu')
    const floor = s.medians.floor
    if (c.case === 'a-500' && floor) {
      ratioRow(
        'CPU per delivery ≤ 1.15× the floor',
        c,
        parley.cpuPer1000! / floor.cpuPer1000!,
        1.15,
        `${cpu(parley.cpuPer1000)} vs ${cpu(floor.cpuPer1000)} s/1k`,
      )
      ratioRow('p99 ≤ 1.25× the floor', c, parley.p99! / floor.p99!, 1.25, `${ms(parley.p99)} vs ${ms(floor.p99)}`)
    }
    const peers = peerNames.filter((t) => s.medians[t] && Number.isFinite(s.medians[t]!.p99))
    if (peers.length) {
      const best = peers.reduce((a, b) => (s.medians[b]!.p99! < s.medians[a]!.p99! ? b : a))
      ratioRow(
        'p99 ≤ 1.0× the best peer',
        c,
        parley.p99! / s.medians[best]!.p99!,
        1,
        `${ms(parley.p99)} vs ${ms(s.medians[best]!.p99)}, ${best}`,
      )
    }
    const hs = s.medians['hocuspocus-sqlite']
    if (hs)
      ratioRow(
        'CPU per delivery ≤ 1.0× Hocuspocus+SQLite',
        c,
        parley.cpuPer1000! / hs.cpuPer1000!,
        1,
        `${cpu(parley.cpuPer1000)} vs ${cpu(hs.cpuPer1000)} s/1k`,
      )
    const p99s = (c.rounds.parley ?? []).map((r) => r.p99!).filter((v) => !Number.isNaN(v))
    if (p99s.length > 1) {
      const worst = Math.max(...p99s)
      ratioRow(
        'p99 stable: worst round ≤ 1.5× the median round',
        c,
        worst / parley.p99!,
        1.5,
        `rounds ${p99s.map((v) => ms(v)).join(' / ')}`,
      )
    }
    if ((c.case === 'a-10' || c.case === 'a-500') && peers.length) {
      const best = peers.reduce((a, b) => (s.medians[b]!.peakRss! < s.medians[a]!.peakRss! ? b : a))
      ratioRow(
        'server RSS ≤ 1.2× the best peer',
        c,
        parley.peakRss! / s.medians[best]!.peakRss!,
        1.2,
        `${formatValue(parley.peakRss, 'mib')} vs ${formatValue(s.medians[best]!.peakRss, 'mib')}, ${best}`,
      )
    }
  }
  for (const c of cases.filter((x) => x.scenario === 'idle')) {
    const v = summarize(c).medians.parley?.perConnection
    if (v === undefined) continue
    rows.push({
      target: 'RSS per idle connection ≤ 7.5 KiB',
      size: c.case,
      figure: formatValue(v, 'kib'),
      met: v <= 7.5 * 1024,
      value: v,
      limit: 7.5 * 1024,
    })
  }
  for (const c of cases.filter((x) => x.scenario === 'capacity')) {
    const s = summarize(c)
    const mine = s.medians.parley?.capacity
    const theirs = s.medians['hocuspocus-sqlite']?.capacity
    if (mine === undefined || theirs === undefined) continue
    ratioRow('live negotiations held ≥ 1.0× Hocuspocus+SQLite', c, mine / theirs, 1, `${mine} vs ${theirs}`, true)
  }
  return rows
}

export function targetsTable(rows: TargetRow[], title: string): string {
  if (rows.length === 0) return ''
  const lines = [
    `#### ${title}`,
    '',
    '| target | case | figure | met? |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| ${r.target} | ${r.size} | ${r.figure} | ${r.met === null ? '— (not measured)' : r.met ? 'met' : '**not met**'} |`,
    ),
  ]
  return lines.join('\n')
}
