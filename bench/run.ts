/**
 * `npm run bench [-- scenario… --flags]`: runs the scenarios (all by default),
 * prints one Markdown table per case and writes every round's numbers to
 * bench/results/<name>-<date>.json. Flags: see bench/lib/options.ts.
 *
 * Scenarios: fanout (a), rooms (b), capacity (g), coldload (c), history (d), idle (e), client (f), typing (h), sealed (i).
 */
import { parseOptions } from './lib/options'
import { machine, markdownTable, summarize, writeResults, type CaseResult } from './lib/report'
import { fanoutCases, log, roomsCases, runFanoutCase } from './scenarios/fanout'
import { runColdLoad } from './scenarios/coldload'
import { runHistory } from './scenarios/history'
import { runIdle } from './scenarios/idle'
import { runClient } from './scenarios/client'
import { runTyping } from './scenarios/typing'
import { runCapacity } from './scenarios/capacity'
import { issue21Table, runSealed } from './scenarios/sealed'
import { issue12Targets, issue19Targets, targetsTable } from './lib/targets'

const SCENARIOS = ['fanout', 'rooms', 'capacity', 'coldload', 'history', 'idle', 'client', 'typing', 'sealed'] as const
type Scenario = (typeof SCENARIOS)[number]

async function main(): Promise<void> {
  const opts = parseOptions()
  const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  for (const p of positional)
    if (!SCENARIOS.includes(p as Scenario)) throw new Error(`unknown scenario ${p}; one of ${SCENARIOS.join(', ')}`)
  const chosen = (positional.length ? positional : SCENARIOS) as Scenario[]
  const started = Date.now()
  const meta = { machine: machine(), options: opts, scenarios: chosen }
  log(
    `Parley bench: ${chosen.join(', ')} — ${opts.rounds} round(s), ${opts.durationMs / 1000} s windows, targets ${opts.targets.join(', ')}`,
  )
  log(
    `machine: ${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memoryGiB} GiB, Node ${meta.machine.node}, load ${meta.machine.loadAverage.join(' ')}`,
  )

  const cases: CaseResult[] = []
  const emit = (c: CaseResult) => {
    cases.push(c)
    process.stdout.write('\n' + markdownTable(c) + '\n')
  }
  // coldload prepares the stores that history reads; run it first when both are chosen.
  for (const s of chosen) {
    switch (s) {
      case 'fanout':
        for (const c of fanoutCases(opts)) emit(await runFanoutCase(c, opts))
        break
      case 'rooms':
        for (const c of roomsCases(opts)) emit(await runFanoutCase(c, opts))
        break
      case 'capacity':
        for (const { result, chart } of await runCapacity(opts)) {
          emit(result)
          if (chart) log(`  the curve: ${chart}`)
        }
        break
      case 'coldload':
        for (const c of await runColdLoad(opts)) emit(c)
        break
      case 'history':
        for (const c of await runHistory(opts)) emit(c)
        break
      case 'idle':
        for (const c of await runIdle(opts)) emit(c)
        break
      case 'client':
        for (const c of await runClient(opts)) emit(c)
        break
      case 'typing':
        for (const c of await runTyping(opts)) emit(c)
        break
      case 'sealed':
        for (const c of await runSealed(opts)) emit(c)
        break
    }
  }
  const targets = issue12Targets(cases)
  if (targets.length) process.stdout.write('\n' + targetsTable(targets, 'Issue 12 targets (Parley, median of rounds)') + '\n')
  const capacityTargets = issue19Targets(cases)
  if (capacityTargets.length)
    process.stdout.write(
      '\n' + targetsTable(capacityTargets, 'Issue 19 targets (Parley against the peers and the floor, medians of rounds)') + '\n',
    )
  const sealedTable = issue21Table(cases)
  if (sealedTable) process.stdout.write('\n' + sealedTable + '\n')
  const finished = { ...meta, loadAverageAfter: machine().loadAverage, seconds: Math.round((Date.now() - started) / 1000) }
  const file = writeResults(positional.length === 1 ? positional[0]! : 'bench', {
    meta: finished,
    cases: cases.map((c) => ({ ...c, summary: summarize(c) })),
    issue12Targets: targets,
    issue19Targets: capacityTargets,
  })
  log(
    `\n${cases.length} case(s) in ${finished.seconds} s; load average after ${finished.loadAverageAfter.join(' ')}; results in ${file}`,
  )
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack : err)
    process.exit(1)
  },
)
