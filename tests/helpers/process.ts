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
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
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

export async function spawnServer(
  opts: { port?: number; dataDir?: string; env?: Record<string, string>; args?: string[] } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort())
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-proc-'))
  const adminToken = 'test-admin-token-0123456789'
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), PARLEY_DATA_DIR: dataDir, PARLEY_ADMIN_TOKEN: adminToken, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString())
      const m = output.join('').match(/Parley is running at (http:\/\/\S+)/)
      if (m) resolve(m[1]!)
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (c: Buffer) => output.push(c.toString()))
    void exited.then(({ code }) => reject(new Error(`server exited (${code}) before it was ready:\n${output.join('')}`)))
    setTimeout(() => reject(new Error(`server not ready after 20 s:\n${output.join('')}`)), 20_000).unref()
  })
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
