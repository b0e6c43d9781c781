/**
 * The one way tests start a real Parley: `startServer(options)`.
 *
 * - in this process (the default): `startParley` from server/app.ts on a
 *   random port, its log lines collected in `logs`, its internals (store,
 *   registry, service) reachable through `parley`;
 * - as a child process (`spawn: true`): server/main.ts, bundled once per test
 *   process (`serverBundle`), for tests that SIGKILL it, restart it on the
 *   same port and data dir, read what it prints, or preload something into it.
 *
 * Either way it gets a data dir of its own (unless `dataDir` names one) and
 * SQLite there, or PostgreSQL when `env` (or `setServerDefaults`) gives a
 * DATABASE_URL; a cluster of N such processes is tests/helpers/cluster.ts.
 * Both handles answer the same questions (URLs, the admin token, `api`,
 * `createNegotiation`, `close`); `createNegotiation`, `mintToken` and
 * `expectAlive` also take any `Target` (a URL and an admin token).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { loadConfig } from '../../server/config'
import { startParley, type Parley } from '../../server/app'
import { createLogger } from '../../server/log'
import type { CreatedNegotiation } from '../../shared/schemas'

const ROOT = new URL('../../', import.meta.url).pathname

/** The admin token a child process is given unless the test says otherwise. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789'

/** Anything with a base URL and an admin token: a server of either kind, an instance of a cluster, a balancer. */
export interface Target {
  url: string
  adminToken: string
}

export interface ApiInit {
  method?: string
  token?: string
  body?: unknown
  headers?: Record<string, string>
}

/** What both kinds of server hand out. */
export interface ServerBase extends Target {
  /** ws://…/yjs */
  wsUrl: string
  port: number
  dataDir: string
  /** fetch of `path` on this server; a `body` is sent as JSON, or as it is if bytes (POST unless `method` says otherwise) */
  api(path: string, init?: ApiInit): Promise<Response>
  /** a negotiation made by the admin (see `createNegotiation` below for the default body) */
  createNegotiation(body?: unknown): Promise<CreatedNegotiation>
  /** Stops the server (a child process: SIGTERM, and waits for it); the data dir stays for a restart unless `wipe`. */
  close(opts?: { wipe?: boolean }): Promise<void>
}

/** Parley in this process. */
export interface TestServer extends ServerBase {
  parley: Parley
  /** every line it logged, at debug level and up */
  logs: string[]
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null }

/** Parley as a child process. */
export interface ServerProcess extends ServerBase {
  proc: ChildProcess
  /** everything the process wrote to stdout and stderr */
  output: string[]
  /** resolves with the exit code/signal */
  exited: Promise<Exit>
  alive(): boolean
  /** sends `signal` (SIGKILL by default) unless it already exited, and waits for the exit */
  kill(signal?: NodeJS.Signals): Promise<void>
}

export interface ServerOptions {
  /** environment on top of the defaults below and those of `setServerDefaults` */
  env?: Record<string, string>
  /** default: a fresh temp dir */
  dataDir?: string
  /** default: a random free port */
  port?: number
  /**
   * The admin token. Default: ADMIN_TOKEN for a child process; in this process Parley generates one.
   * null: none given — the inherited PARLEY_ADMIN_TOKEN is dropped too — so Parley generates (or
   * reads back) its own, in the data dir.
   */
  adminToken?: string | null
  /** a child process (server/main.ts, bundled) instead of Parley in this process */
  spawn?: boolean
  /** child process: how long it may take to say it is running (30 s by default) */
  readyMs?: number
}

let defaultEnv: Record<string, string> = {}

/**
 * Env under every later `startServer` call of this test file (its own `env`
 * still wins): e.g. `{DATABASE_URL}` to run an existing suite on PostgreSQL.
 */
export function setServerDefaults(env: Record<string, string>): void {
  defaultEnv = { ...env }
}

export function startServer(opts: ServerOptions & { spawn: true }): Promise<ServerProcess>
export function startServer(opts?: ServerOptions & { spawn?: false }): Promise<TestServer>
export async function startServer(opts: ServerOptions = {}): Promise<TestServer | ServerProcess> {
  const created = !opts.dataDir
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), opts.spawn ? 'parley-proc-' : 'parley-test-'))
  const wipe = async (o: { wipe?: boolean } = {}) => {
    if (o.wipe && created) rmSync(dataDir, { recursive: true, force: true })
  }
  return opts.spawn ? spawnParley(opts, dataDir, wipe) : inProcess(opts, dataDir, wipe)
}

async function inProcess(
  opts: ServerOptions,
  dataDir: string,
  wipe: (o?: { wipe?: boolean }) => Promise<void>,
): Promise<TestServer> {
  const env: Record<string, string> = { PORT: String(opts.port ?? 0), PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'info' }
  if (opts.adminToken) env.PARLEY_ADMIN_TOKEN = opts.adminToken
  const config = loadConfig({ ...env, ...defaultEnv, ...opts.env })
  const logs: string[] = []
  const parley = await startParley(config, { log: createLogger('debug', (line) => logs.push(line)) })
  const server: TestServer = {
    ...handle(parley.url, parley.port, dataDir, parley.adminToken),
    parley,
    logs,
    async close(o) {
      await parley.close()
      await wipe(o)
    },
  }
  return server
}

/** URLs, `api` and `createNegotiation` of a server at `url`. */
function handle(url: string, port: number, dataDir: string, adminToken: string) {
  const target = { url, adminToken }
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/yjs',
    port,
    dataDir,
    adminToken,
    api: (path: string, init: ApiInit = {}) => api(url, path, init),
    createNegotiation: (body?: unknown) => createNegotiation(target, body),
  }
}

// ── the server as a child process ─────────────────────────────────────────

/** Children still running when this test process exits (a crash, a timeout) are killed with it. */
const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

/** Kills `child` (if still running) when this test process exits. */
export function killOnExit<T extends ChildProcess>(child: T): T {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

let bundle: Promise<string> | null = null

/**
 * server/main.ts compiled once per test process by esbuild (the compiler tsx
 * itself uses, resolved through tsx so no extra dependency is needed).
 * Starting `node bundle.mjs` takes a fraction of `node --import tsx` — it
 * matters when a suite restarts the server twenty times. Same code, same
 * node_modules: only the TypeScript-to-JS step happens up front. The bundle
 * sits one level below the project root, as server/main.ts does, so paths
 * the server takes from its own location (`../dist/client`) still hold.
 *
 * PARLEY_TEST_SERVER_ENTRY builds another entry instead — a patched copy of
 * server/ with a fix taken out — to check that a suite catches the bug it
 * guards against.
 */
export function serverBundle(): Promise<string> {
  bundle ??= (async () => {
    const esbuild = createRequire(join(ROOT, 'node_modules/tsx/package.json'))('esbuild') as typeof import('esbuild')
    const dir = join(ROOT, '.tmp')
    mkdirSync(dir, { recursive: true })
    const outfile = join(dir, `server-bundle-${process.pid}.mjs`)
    await esbuild.build({
      entryPoints: [process.env.PARLEY_TEST_SERVER_ENTRY ?? join(ROOT, 'server/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      // package.json's engines: 20.19 keeps `import … with { type: 'json' }` (node20 would drop the attribute)
      target: 'node20.19',
      packages: 'external',
      sourcemap: 'inline',
      outfile,
      logLevel: 'silent',
    })
    process.once('exit', () => rmSync(outfile, { force: true }))
    return outfile
  })()
  return bundle
}

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

/**
 * Follows a freshly spawned Parley (stdout and stderr piped): collects what it
 * writes in `output` and resolves `ready` with the address from its "Parley is
 * running at" line. `ready` rejects, with the output, if the process exits
 * first or is not ready within `readyMs`; then it is killed.
 */
function followServer(proc: ChildProcess, readyMs: number): { output: string[]; exited: Promise<Exit>; ready: Promise<string> } {
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

async function spawnParley(
  opts: ServerOptions,
  dataDir: string,
  wipe: (o?: { wipe?: boolean }) => Promise<void>,
): Promise<ServerProcess> {
  const main = await serverBundle()
  const port = opts.port ?? (await freePort())
  const { PARLEY_ADMIN_TOKEN: _inherited, ...parentEnv } = process.env
  const token = opts.adminToken === undefined ? ADMIN_TOKEN : opts.adminToken
  const proc = killOnExit(
    spawn(process.execPath, ['--enable-source-maps', main], {
      cwd: ROOT,
      env: {
        ...parentEnv,
        PORT: String(port),
        HOST: '127.0.0.1',
        PARLEY_DATA_DIR: dataDir,
        // A developer's .env in the project root must not fill in what a test leaves unset (DATABASE_URL…).
        PARLEY_ENV_FILE: '',
        ...(token ? { PARLEY_ADMIN_TOKEN: token } : {}),
        PARLEY_LOG_LEVEL: 'debug',
        ...defaultEnv,
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  const { output, exited, ready } = followServer(proc, opts.readyMs ?? 30_000)
  const url = await ready
  const alive = () => proc.exitCode === null && proc.signalCode === null
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (alive()) proc.kill(signal)
    await exited
  }
  const adminToken = token ?? opts.env?.PARLEY_ADMIN_TOKEN ?? generatedToken(dataDir)
  return {
    ...handle(url, port, dataDir, adminToken),
    proc,
    output,
    exited,
    alive,
    kill,
    async close(o) {
      await kill('SIGTERM')
      await wipe(o)
    },
  }
}

/** The admin token a server generated and keeps in its data dir (server/auth/secrets.ts). */
function generatedToken(dataDir: string): string {
  const file = join(dataDir, 'admin-token')
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
}

// ── what any server answers ───────────────────────────────────────────────

function api(base: string, path: string, init: ApiInit = {}): Promise<Response> {
  const bytes = init.body instanceof Uint8Array
  return fetch(base + path, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers: {
      ...(init.body !== undefined ? { 'content-type': bytes ? 'application/octet-stream' : 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    body:
      init.body === undefined
        ? undefined
        : bytes || typeof init.body === 'string'
          ? (init.body as string | Uint8Array<ArrayBuffer>)
          : JSON.stringify(init.body),
  })
}

/** Two parties, a and b, and no terms: what `createNegotiation` makes unless given a body. */
export const TWO_PARTIES = {
  title: 'Test talks',
  parties: [
    { id: 'a', name: 'Alpha' },
    { id: 'b', name: 'Beta' },
  ],
}

/** Two parties and one opening term, as the attack and fault suites start. */
export const WITH_OPENING_TERM = {
  title: 'Attack surface',
  parties: TWO_PARTIES.parties,
  terms: [{ title: 'Opening term', body: 'As drafted.' }],
}

/** POST /api/negotiations as the admin; throws unless 201. */
export async function createNegotiation(target: Target, body: unknown = TWO_PARTIES): Promise<CreatedNegotiation> {
  const post = () => api(target.url, '/api/negotiations', { token: target.adminToken, body })
  // After a server was killed and started again on the same port, fetch may hand the request to a pooled
  // connection of the dead process (ECONNRESET): that request never reached anyone, so it is sent again.
  const res = await post().catch((err: Error & { cause?: { code?: string } }) => {
    if (err.cause?.code !== 'ECONNRESET') throw err
    return post()
  })
  if (res.status !== 201) throw new Error(`create negotiation: ${res.status} ${await res.text()}`)
  return (await res.json()) as CreatedNegotiation
}

/** POST /api/negotiations/:id/tokens as the admin; throws unless 201. */
export async function mintToken(
  target: Target,
  negotiationId: string,
  body: { role: string; party?: string; expiresIn?: number; name?: string },
): Promise<{ token: string; jti: string }> {
  const res = await api(target.url, `/api/negotiations/${negotiationId}/tokens`, { token: target.adminToken, body })
  if (res.status !== 201) throw new Error(`mint token: ${res.status} ${await res.text()}`)
  return (await res.json()) as { token: string; jti: string }
}

/** The server answers /healthz with 200 (and, for a child process, has not exited). */
export async function expectAlive(target: Target & { alive?: () => boolean }): Promise<void> {
  if (target.alive) expect(target.alive(), 'server process is alive').toBe(true)
  const res = await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(10_000) })
  expect(res.status).toBe(200)
}
