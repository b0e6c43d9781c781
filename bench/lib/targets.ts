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

export function targetsTable(rows: TargetRow[]): string {
  if (rows.length === 0) return ''
  const lines = [
    '#### Issue 12 targets (Parley, median of rounds)',
    '',
    '| target | size | figure | met? |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| ${r.target} | ${r.size} | ${r.figure} | ${r.met === null ? '— (not measured)' : r.met ? 'met' : '**not met**'} |`,
    ),
  ]
  return lines.join('\n')
}
