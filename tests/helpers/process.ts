/**
 * Parley as a child process (`node --import tsx server/main.ts`), for tests
 * that kill it with SIGKILL and start it again on the same port and data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ServerProcess {
  url: string
  port: number
  dataDir: string
  adminToken: string
  proc: ChildProcess
  output: string[]
  /** resolves with the exit code/signal */
  exited: Promise<Exit>
  kill(signal?: NodeJS.Signals): Promise<void>
}

const ROOT = new URL('../../', import.meta.url).pathname

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null }

/**
 * Follows a freshly spawned Parley (stdout and stderr piped): collects what it
 * writes in `output` and resolves `ready` with the address from its "Parley is
 * running at" line. `ready` rejects, with the output, if the process exits
 * first or is not ready within `readyMs`; then it is killed.
 */
export function followServer(
  proc: ChildProcess,
  readyMs: number,
): { output: string[]; exited: Promise<Exit>; ready: Promise<string> } {
  const output: string[] = []
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  let timer: NodeJS.Timeout | undefined
  const ready = new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      output.push(chunk.toString())
      const m = output.join('').match(/Parley is running at (http:\/\/\S+)/)
      if (m) resolve(m[1]!)
    })
    proc.stderr!.on('data', (c: Buffer) => output.push(c.toString()))
    void exited.then(({ code, signal }) =>
      reject(new Error(`server exited (${code ?? signal}) before it was ready:\n${output.join('')}`)),
    )
    timer = setTimeout(() => reject(new Error(`server not ready after ${readyMs} ms:\n${output.join('')}`)), readyMs)
  }).then(
    (url) => {
      clearTimeout(timer)
      return url
    },
    (err: unknown) => {
      clearTimeout(timer)
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      throw err
    },
  )
  return { output, exited, ready }
}

/**
 * Starts `node --import tsx server/main.ts` on `port` (random by default) with
 * its own data dir; `readyMs` (20 s by default) is how long it may take to say
 * it is running, `onSpawn` sees the child first (e.g. to kill it on exit).
 */
export async function spawnServer(
  opts: {
    port?: number
    dataDir?: string
    env?: Record<string, string>
    args?: string[]
    readyMs?: number
    onSpawn?: (proc: ChildProcess) => void
  } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort())
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-proc-'))
  const adminToken = 'test-admin-token-0123456789'
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), PARLEY_DATA_DIR: dataDir, PARLEY_ADMIN_TOKEN: adminToken, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  opts.onSpawn?.(proc)
  const { output, exited, ready } = followServer(proc, opts.readyMs ?? 20_000)
  const url = await ready
  return {
    url,
    port,
    dataDir,
    adminToken,
    proc,
    output,
    exited,
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      await exited
    },
  }
}
