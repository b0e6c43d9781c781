/**
 * The servers under test, each started as its own process on 127.0.0.1 with
 * a random port: Parley (server/main.ts, SQLite store, real tokens and roles)
 * and the peers (bench/servers/*.ts, bench/peers/*). A started server is killed with its
 * whole process group; every server this module started is also killed when
 * the bench process exits, on success or failure.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * `parley-base`: Parley from the checkout in BENCH_PARLEY_BASE_DIR, run as one more target of the same
 * run (A B A B …) — an A/B of two revisions on the same machine at the same time; the tables then give
 * parley / parley-base as the ratio. Only where asked for (`--targets=parley,parley-base`).
 */
export type TargetName = 'parley' | 'parley-base' | 'floor' | 'stock' | 'hocuspocus' | 'hocuspocus-sqlite'
export type Protocol = 'yws' | 'hocuspocus'

export const ALL_TARGETS: TargetName[] = ['parley', 'floor', 'stock', 'hocuspocus', 'hocuspocus-sqlite']
export const KNOWN_TARGETS: TargetName[] = [...ALL_TARGETS, 'parley-base']
/**
 * The servers a team would deploy instead. `floor` (bench/servers/floor.ts, a bare relay: no CRDT, no
 * store, no checks) is not one of them: it is the physical limit every server is also measured against.
 */
export const PEERS: TargetName[] = ['stock', 'hocuspocus', 'hocuspocus-sqlite']
export const isPeer = (t: TargetName): boolean => PEERS.includes(t)

export const protocolOf = (t: TargetName): Protocol => (t.startsWith('hocuspocus') ? 'hocuspocus' : 'yws')
export const isParley = (t: TargetName): boolean => t === 'parley' || t === 'parley-base'
export const persists = (t: TargetName): boolean => isParley(t) || t === 'hocuspocus-sqlite'

/**
 * Hocuspocus is a package of its own (bench/peers/hocuspocus): @hocuspocus/server 4 declares Node ≥ 22,
 * and Parley's install is to be clean on the Node 20 it supports. Installed on first use.
 */
const HOCUSPOCUS_DIR = 'bench/peers/hocuspocus'
const HOCUSPOCUS_SERVER = `${HOCUSPOCUS_DIR}/server.mjs`

/** Installs the Hocuspocus peer (`npm run bench:peers`) unless it is there. */
function ensureHocuspocus(): void {
  if (existsSync(join(ROOT, HOCUSPOCUS_DIR, 'node_modules/@hocuspocus/server/package.json'))) return
  process.stderr.write(`bench: installing the Hocuspocus peer in ${HOCUSPOCUS_DIR} (once; npm run bench:peers)\n`)
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', HOCUSPOCUS_DIR], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
  })
  if (r.status !== 0) throw new Error(`could not install the Hocuspocus peer (npm ci in ${HOCUSPOCUS_DIR} exited ${r.status})`)
}

/** Admin token of every Parley the bench starts (a throwaway, ≥ 16 characters). */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789'

/**
 * Parley's tunables for load from one address (CONTRACT.md defaults are for
 * browsers): the per-address connection cap is raised so one load generator
 * may open thousands of sockets. Rate limits keep their defaults unless a
 * scenario says otherwise.
 */
export const PARLEY_BENCH_ENV: Record<string, string> = {
  PARLEY_MAX_CONNECTIONS_PER_ADDRESS: '50000',
  PARLEY_LOG_LEVEL: 'warn',
}

export interface StartOptions {
  /** data dir (Parley) or database file's dir (hocuspocus-sqlite); a fresh temp dir when absent */
  dataDir?: string
  env?: Record<string, string>
  /** open the inspector (for a CPU profile of the measurement window, see bench/lib/inspector.ts) */
  inspect?: boolean
}

export interface RunningServer {
  target: TargetName
  pid: number
  port: number
  /** http://127.0.0.1:port */
  url: string
  dataDir: string | null
  /** inspector port when started with `inspect` */
  inspectPort: number | null
  /** SIGTERM (graceful: Parley and Hocuspocus flush their stores), SIGKILL after `graceMs` */
  stop(graceMs?: number): Promise<void>
}

const live = new Set<ChildProcess>()
let exitHooked = false

function hookExit(): void {
  if (exitHooked) return
  exitHooked = true
  const killAll = () => {
    for (const child of live) killGroup(child, 'SIGKILL')
  }
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll()
      process.exit(130)
    })
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

/** Spawns `node --import tsx <script>` in its own process group; resolves with the port it printed. */
export async function spawnNode(
  script: string,
  env: Record<string, string>,
  portPattern: RegExp,
  nodeArgs: string[] = [],
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; port: number; output: string }> {
  // BENCH_PARLEY_DIR: run Parley from another checkout (e.g. `git archive` of an older commit
  // with node_modules linked), to compare two revisions with the same harness.
  const cwd = script === 'server/main.ts' && process.env.BENCH_PARLEY_DIR ? process.env.BENCH_PARLEY_DIR : ROOT
  return spawnNodeIn(cwd, script, env, portPattern, nodeArgs, timeoutMs)
}

async function spawnNodeIn(
  cwd: string,
  script: string,
  env: Record<string, string>,
  portPattern: RegExp,
  nodeArgs: string[],
  timeoutMs: number,
): Promise<{ child: ChildProcess; port: number; output: string }> {
  hookExit()
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.length > 64 * 1024) output = output.slice(-32 * 1024)
      const m = portPattern.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, sig) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited (${code ?? sig}) before listening:\n${output}`))
    })
  })
  // Keep draining its output so a chatty server never blocks on a full pipe; echo errors.
  child.stdout!.removeAllListeners('data')
  child.stderr!.removeAllListeners('data')
  child.stdout!.resume()
  child.stderr!.on('data', (chunk: Buffer) => {
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${script}] ${chunk}`)
  })
  return { child, port, output }
}

function stopper(child: ChildProcess): (graceMs?: number) => Promise<void> {
  return (graceMs = 10_000) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
      child.once('exit', () => {
        clearTimeout(timer)
        // the group may hold stragglers (none expected)
        killGroup(child, 'SIGKILL')
        resolve()
      })
      killGroup(child, 'SIGTERM')
    })
}

export async function startServer(target: TargetName, opts: StartOptions = {}): Promise<RunningServer> {
  const ownDir = !opts.dataDir && persists(target)
  const dataDir = opts.dataDir ?? (persists(target) ? mkdtempSync(join(tmpdir(), `bench-${target}-`)) : null)
  const nodeArgs = opts.inspect ? ['--inspect=127.0.0.1:0'] : []
  let spawned: { child: ChildProcess; port: number; output: string }
  switch (target) {
    case 'parley':
      spawned = await spawnNode(
        'server/main.ts',
        { PORT: '0', PARLEY_DATA_DIR: dataDir!, PARLEY_ADMIN_TOKEN: ADMIN_TOKEN, ...PARLEY_BENCH_ENV, ...opts.env },
        /running at http:\/\/127\.0\.0\.1:(\d+)/,
        nodeArgs,
      )
      break
    case 'parley-base': {
      const base = process.env.BENCH_PARLEY_BASE_DIR
      if (!base) throw new Error('target parley-base needs BENCH_PARLEY_BASE_DIR (a checkout with node_modules)')
      spawned = await spawnNodeIn(
        base,
        'server/main.ts',
        { PORT: '0', PARLEY_DATA_DIR: dataDir!, PARLEY_ADMIN_TOKEN: ADMIN_TOKEN, ...PARLEY_BENCH_ENV, ...opts.env },
        /running at http:\/\/127\.0\.0\.1:(\d+)/,
        nodeArgs,
        30_000,
      )
      break
    }
    case 'floor':
      spawned = await spawnNode('bench/servers/floor.ts', { PORT: '0', ...opts.env }, /BENCH_LISTENING (\d+)/, nodeArgs)
      break
    case 'stock':
      spawned = await spawnNode('bench/servers/stock.ts', { PORT: '0', ...opts.env }, /BENCH_LISTENING (\d+)/, nodeArgs)
      break
    case 'hocuspocus':
    case 'hocuspocus-sqlite':
      ensureHocuspocus()
      spawned = await spawnNode(
        HOCUSPOCUS_SERVER,
        {
          PORT: '0',
          ...(target === 'hocuspocus-sqlite' ? { HOCUSPOCUS_SQLITE: join(dataDir!, 'hocuspocus.sqlite') } : {}),
          ...opts.env,
        },
        /BENCH_LISTENING (\d+)/,
        nodeArgs,
      )
      break
  }
  const { child, port, output } = spawned
  const inspectPort = opts.inspect ? Number(/Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1] ?? NaN) : null
  const stop = stopper(child)
  return {
    target,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    inspectPort,
    stop: async (graceMs) => {
      await stop(graceMs)
      if (ownDir && dataDir && !process.env.BENCH_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Runs a load generator (bench/load/*.ts) in its own process: sends it
 * `config` over IPC and resolves with the result it sends back. Killed on
 * timeout and when the bench exits.
 */
export function runWorker<C, R>(script: string, config: C, timeoutMs = 10 * 60_000, nodeArgs: string[] = []): Promise<R> {
  hookExit()
  const child = fork(join(ROOT, script), [], {
    cwd: ROOT,
    execArgv: [...nodeArgs, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // structured clone keeps Infinity and NaN, which JSON would turn into null
    serialization: 'advanced',
    detached: true,
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL')
      reject(new Error(`${script} timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    let settled = false
    child.once('message', (msg: { ok: boolean; result?: R; error?: string }) => {
      settled = true
      clearTimeout(timer)
      if (msg.ok) resolve(msg.result!)
      else reject(new Error(`${script} failed: ${msg.error}`))
    })
    child.once('exit', (code, sig) => {
      clearTimeout(timer)
      // The result may still be in the IPC channel when 'exit' is emitted.
      setTimeout(() => {
        if (!settled) reject(new Error(`${script} exited (${code ?? sig}) without a result`))
      }, 2000)
    })
    child.send(config as object)
  })
}
