/**
 * Knobs of a bench run, from flags or the environment (flags win):
 *   --rounds=N        BENCH_ROUNDS       rounds of A B A B … per case (default 3)
 *   --duration=S      BENCH_DURATION     measurement window per run, seconds (default 6)
 *   --warmup=S        BENCH_WARMUP       typing before the window opens, seconds (default 2)
 *   --targets=a,b     BENCH_TARGETS      subset of parley,stock,hocuspocus,hocuspocus-sqlite (or parley-base: see servers.ts)
 *   --cases=x,y       BENCH_CASES        subset of a scenario's cases (e.g. 500,500-awareness)
 *   --sizes=n,m       BENCH_SIZES        stored updates of the (c) cold-load and (d) history boards (default 10000,100000;
 *                                        --quick: 2000,10000); e.g. --sizes=1000000 for the 1M case (npm run bench:1m)
 *   --quick           BENCH_QUICK=1      smoke test: 1 round, 3 s windows, small sizes
 *   --profile         BENCH_PROFILE=1    also write a CPU profile of Parley (over the measurement window, via the inspector) per case
 *   --capacity-rounds=N BENCH_CAPACITY_ROUNDS  searches per target in (g) capacity (default 1: each is ~10 server runs)
 */
import { ALL_TARGETS, KNOWN_TARGETS, type TargetName } from './servers'

export interface BenchOptions {
  rounds: number
  durationMs: number
  warmupMs: number
  targets: TargetName[]
  cases: string[] | null
  /** sizes of the (c) and (d) boards, in stored updates; null: the defaults (coldLoadSizes) */
  sizes: number[] | null
  quick: boolean
  profile: boolean
  /** searches per target in (g) capacity */
  capacityRounds: number
}

export function parseOptions(argv = process.argv.slice(2), env = process.env): BenchOptions {
  const flags = new Map<string, string>()
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a)
    if (m) flags.set(m[1]!, m[2] ?? '1')
  }
  const get = (flag: string, envName: string) => flags.get(flag) ?? env[envName]
  const quick = get('quick', 'BENCH_QUICK') === '1'
  const num = (flag: string, envName: string, dflt: number) => {
    const v = get(flag, envName)
    const n = v === undefined ? dflt : Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} must be a positive number`)
    return n
  }
  const list = (flag: string, envName: string) =>
    get(flag, envName)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? null
  const targets = (list('targets', 'BENCH_TARGETS') ?? ALL_TARGETS) as TargetName[]
  for (const t of targets) if (!KNOWN_TARGETS.includes(t)) throw new Error(`unknown target ${t}`)
  return {
    rounds: Math.round(num('rounds', 'BENCH_ROUNDS', quick ? 1 : 3)),
    durationMs: num('duration', 'BENCH_DURATION', quick ? 3 : 6) * 1000,
    warmupMs: num('warmup', 'BENCH_WARMUP', quick ? 1 : 2) * 1000,
    targets,
    cases: list('cases', 'BENCH_CASES'),
    sizes: sizesOf(list('sizes', 'BENCH_SIZES')),
    quick,
    profile: get('profile', 'BENCH_PROFILE') === '1',
    capacityRounds: Math.round(num('capacity-rounds', 'BENCH_CAPACITY_ROUNDS', 1)),
  }
}

/** `--sizes=100000,1e6` or `100k,1M`: positive integers, in the order given. */
function sizesOf(items: string[] | null): number[] | null {
  if (!items) return null
  return items.map((item) => {
    const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(item)
    const n = m ? Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1_000 : 1_000_000) : NaN
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--sizes: ${item} is not a positive number of updates`)
    return n
  })
}

/** 2000 → "2k", 100000 → "100k", 1000000 → "1M": the size part of a case id (c-100k, d-1M). */
export function sizeLabel(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`
  return String(n)
}
