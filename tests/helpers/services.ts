/**
 * The outside services some suites need (PostgreSQL, Redis), probed the same
 * way everywhere. A suite asks `postgresForTests(name)` / `redisForTests(name)`
 * at the top of its file (top-level await) and registers its tests with
 * `describe.skipIf(!url)`. When the service is not reachable the suite is
 * skipped with one line saying what is missing — unless
 * PARLEY_REQUIRE_SERVICES=1 (CI), where that is a failure.
 *
 * Test URLs: PARLEY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
 * and PARLEY_TEST_REDIS_URL (default redis://127.0.0.1:6379). Each run gets
 * its own schema (`createTestSchema`) and Redis key prefix (`testRedisPrefix`).
 * A suite that restarts Redis runs one of its own (`startOwnRedis`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { freePort, killOnExit } from './server'
import { waitFor } from './clients'

export const PG_TEST_URL = process.env.PARLEY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_TEST_URL = process.env.PARLEY_TEST_REDIS_URL || 'redis://127.0.0.1:6379'

export const servicesRequired = (): boolean => process.env.PARLEY_REQUIRE_SERVICES === '1'

export interface Probe {
  ok: boolean
  /** the URL probed, password hidden */
  where: string
  /** why it is not usable, when !ok */
  problem?: string
}

/** A URL fit for a log line: no password. */
export function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparsable URL)'
  }
}

const describeError = (err: unknown): string => {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0])
  if (err instanceof Error) {
    const code = (err as { code?: string }).code
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message || String(code)
  }
  return String(err)
}

/** Connects and runs `SELECT 1`, within `timeoutMs`. */
export async function probePostgres(url = PG_TEST_URL, timeoutMs = 2000): Promise<Probe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return { ok: true, where: redact(url) }
  } catch (err) {
    return { ok: false, where: redact(url), problem: describeError(err) }
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** Speaks just enough RESP to send (AUTH and) PING and expect +PONG, within `timeoutMs`. */
export function probeRedis(url = REDIS_TEST_URL, timeoutMs = 2000): Promise<Probe> {
  const where = redact(url)
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return Promise.resolve({ ok: false, where, problem: 'PARLEY_TEST_REDIS_URL is not a URL' })
  }
  const command = (...args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')
  let request = ''
  if (u.password) {
    const user = decodeURIComponent(u.username)
    const pass = decodeURIComponent(u.password)
    request += user ? command('AUTH', user, pass) : command('AUTH', pass)
  }
  request += command('PING')
  const expected = (u.password ? '+OK\r\n' : '') + '+PONG\r\n'
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(u.port) || 6379 })
    let answer = ''
    const done = (probe: Probe) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(probe)
    }
    const timer = setTimeout(() => done({ ok: false, where, problem: `no answer within ${timeoutMs} ms` }), timeoutMs)
    socket.on('connect', () => socket.write(request))
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8')
      if (answer.startsWith('-')) done({ ok: false, where, problem: answer.split('\r\n')[0]!.slice(1) })
      else if (answer.length >= expected.length)
        done(
          answer.startsWith(expected)
            ? { ok: true, where }
            : { ok: false, where, problem: `unexpected answer ${JSON.stringify(answer)}` },
        )
    })
    socket.on('error', (err) => done({ ok: false, where, problem: describeError(err) }))
    socket.on('close', () => done({ ok: false, where, problem: 'connection closed' }))
  })
}

function gate(service: string, envVar: string, suite: string, probe: Probe): boolean {
  if (probe.ok) return true
  const line =
    `${suite}: ${service} not reachable at ${probe.where} (${probe.problem}); ` +
    `start it (../shared/TOOLCHAIN.md) or set ${envVar}`
  if (servicesRequired()) throw new Error(`PARLEY_REQUIRE_SERVICES=1 but ${line}`)
  console.warn(`SKIPPED ${line}`)
  return false
}

/**
 * The PostgreSQL URL for tests, or null after printing the one skip line.
 * Throws when PARLEY_REQUIRE_SERVICES=1 and the server is not reachable.
 */
export async function postgresForTests(suite: string): Promise<string | null> {
  return gate('PostgreSQL', 'PARLEY_TEST_DATABASE_URL', suite, await probePostgres()) ? PG_TEST_URL : null
}

/** The Redis URL for tests, or null after printing the one skip line (throws under PARLEY_REQUIRE_SERVICES=1). */
export async function redisForTests(suite: string): Promise<string | null> {
  return gate('Redis', 'PARLEY_TEST_REDIS_URL', suite, await probeRedis()) ? REDIS_TEST_URL : null
}

const runId = () => randomBytes(5).toString('hex')

export interface TestSchema {
  schema: string
  /** the base URL with `options=-c search_path=<schema>`: every connection opened with it works in the schema */
  url: string
  /** drops the schema and everything in it */
  drop(): Promise<void>
}

/** A fresh, empty schema `parley_test_<random>` for one test run. */
export async function createTestSchema(baseUrl = PG_TEST_URL): Promise<TestSchema> {
  const schema = `parley_test_${runId()}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5000 })
    client.on('error', () => undefined)
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  await admin(`CREATE SCHEMA ${schema}`)
  const u = new URL(baseUrl)
  const options = [u.searchParams.get('options'), `-c search_path=${schema}`].filter(Boolean).join(' ')
  u.searchParams.set('options', options)
  return { schema, url: u.toString(), drop: () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) }
}

/** A Redis key/channel prefix of its own for one test run. */
export const testRedisPrefix = (): string => `parley_test_${runId()}`

// ── a Redis of a suite's own ─────────────────────────────────────────

export interface OwnRedis {
  url: string
  port: number
  /** `redis-cli shutdown nosave`: every instance loses its connections and subscriptions */
  stop(): Promise<void>
  /** starts it again on the same port, empty */
  start(): Promise<void>
  close(): Promise<void>
}

/**
 * A redis-server child process on a random port, so restarting it cannot
 * break other suites (or other people's runs) that use the machine's Redis.
 * Null when there is no redis-server binary.
 */
export async function startOwnRedis(): Promise<OwnRedis | null> {
  const port = await freePort()
  let proc: ChildProcess | null = null
  const ping = () =>
    new Promise<boolean>((resolve) => {
      const s = new Socket()
      s.once('error', () => resolve(false))
      s.connect(port, '127.0.0.1', () => s.write('PING\r\n'))
      s.once('data', (d) => {
        s.destroy()
        resolve(d.toString().startsWith('+PONG'))
      })
    })
  const start = async () => {
    proc = killOnExit(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      }),
    )
    const failed = new Promise<boolean>((resolve) => {
      proc!.once('error', () => resolve(false))
      proc!.once('exit', () => resolve(false))
    })
    const up = waitFor(ping, { timeout: 5000, interval: 50, what: 'redis-server' }).then(() => true)
    if (!(await Promise.race([up, failed]))) throw new Error('redis-server did not start')
  }
  const stop = async () => {
    const p = proc
    proc = null
    if (!p || p.exitCode !== null) return
    const exited = new Promise((resolve) => p.once('exit', resolve))
    await new Promise<void>((resolve) => {
      const cli = spawn('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' })
      cli.once('exit', () => resolve())
      cli.once('error', () => resolve())
    })
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }
  try {
    await start()
  } catch {
    await stop()
    return null
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop, start, close: stop }
}
