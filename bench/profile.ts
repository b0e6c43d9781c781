/**
 * `npm run bench:profile [-- file.cpuprofile …]`: where a server spent its
 * CPU, from V8 .cpuprofile files (`node --cpu-prof`, DevTools, or the bench's
 * `--profile`, which records Parley over each case's measurement window into
 * bench/results/profiles/). Prints
 * self time by function and by area (Parley's code by directory, Yjs, ws,
 * SQLite, Node internals, GC, idle). Without arguments: the newest profile.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ROOT } from './lib/servers'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

function area(url: string, fn: string): string {
  if (fn === '(idle)') return '(idle)'
  if (fn === '(garbage collector)') return '(gc)'
  if (fn === '(program)') return '(program: native, outside JS)'
  if (!url) return `(native: ${fn || 'anonymous'})`
  const path = url.replace(/^file:\/\//, '')
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (m) return m[1]!
  if (path.startsWith('node:')) return 'node internals'
  if (path.startsWith(ROOT)) {
    const rel = relative(ROOT, path)
    return rel
      .split('/')
      .slice(0, rel.startsWith('server/') ? 2 : 1)
      .join('/')
  }
  return path
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: HeapNode[]
}

/** Sampled allocations (a .heapprofile): bytes by area and by allocating function. */
function summarizeHeap(file: string, top = 20): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }
  const byFn = new Map<string, number>()
  const byArea = new Map<string, number>()
  let total = 0
  const walk = (n: HeapNode) => {
    const { functionName, url, lineNumber } = n.callFrame
    if (n.selfSize > 0) {
      const where = url ? `${relative(ROOT, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : ''
      const key = `${functionName || '(anonymous)'} ${where}`.trim()
      byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize)
      const a = area(url, functionName)
      byArea.set(a, (byArea.get(a) ?? 0) + n.selfSize)
      total += n.selfSize
    }
    for (const c of n.children) walk(c)
  }
  walk(p.head)
  const pct = (b: number) => `${((100 * b) / total).toFixed(1).padStart(5)} %`
  console.log(`\n${relative(ROOT, file)}: ${(total / 2 ** 20).toFixed(1)} MiB sampled allocations (live at the end or not)`)
  console.log('\nby area:')
  for (const [a, b] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 15)) console.log(`  ${pct(b)}  ${a}`)
  console.log(`\ntop ${top} allocating functions:`)
  for (const [f, b] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${pct(b)}  ${f}`)
}

function summarize(file: string, top = 25): void {
  if (file.endsWith('.heapprofile')) return summarizeHeap(file)
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt)
    total += dt
  }
  const byFn = new Map<string, number>()
  const byArea = new Map<string, number>()
  for (const [id, us] of self) {
    const n = byId.get(id)!
    const { functionName, url, lineNumber } = n.callFrame
    const where = url ? `${relative(ROOT, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`.trim()
    byFn.set(key, (byFn.get(key) ?? 0) + us)
    const a = area(url, functionName)
    byArea.set(a, (byArea.get(a) ?? 0) + us)
  }
  const idle = byArea.get('(idle)') ?? 0
  const busy = total - idle
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`
  console.log(
    `\n${relative(ROOT, file)}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy time)`,
  )
  console.log('\nby area:')
  for (const [a, us] of [...byArea]
    .filter(([a]) => a !== '(idle)')
    .sort((x, y) => y[1] - x[1])
    .slice(0, 20)) {
    console.log(`  ${pct(us)}  ${a}`)
  }
  console.log(`\ntop ${top} functions by self time:`)
  for (const [fn, us] of [...byFn]
    .filter(([f]) => !f.startsWith('(idle)'))
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)) {
    console.log(`  ${pct(us)}  ${fn}`)
  }
  // Inclusive time of Parley's own functions (each counted once per sample, however deep it recurses):
  // which of its steps owns the Yjs, GC-free library and native time below it.
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const inclusive = new Map<string, number>()
  for (const [id, us] of self) {
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur)!.callFrame
      const path = url.replace(/^file:\/\//, '')
      if (!path.startsWith(ROOT) || path.includes('node_modules')) continue
      const key = `${functionName || '(anonymous)'} ${relative(ROOT, path)}:${lineNumber + 1}`
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + us)
    }
  }
  console.log(`\ntop ${top} of Parley's functions by total time (self + callees):`)
  for (const [fn, us] of [...inclusive].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${pct(us)}  ${fn}`)
}

const args = process.argv.slice(2)
let files = args
if (files.length === 0) {
  const dir = join(ROOT, 'bench', 'results', 'profiles')
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  if (all.length === 0) throw new Error(`no profiles in ${dir}; run the bench with --profile`)
  files = [all[0]!]
}
for (const f of files) summarize(f)
