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
 */
import { connect } from 'node:net'
import { randomBytes } from 'node:crypto'
import pg from 'pg'

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
