/**
 * A cluster of N Parley instances (child processes started by `startServer`,
 * tests/helpers/server.ts) on one fresh PostgreSQL schema and one Redis
 * prefix. In front of them the suites put a round-robin TCP proxy (the test's
 * nginx) and, between them and PostgreSQL, one that can make it unreachable
 * (both tests/helpers/tcpProxy.ts); a Redis of the suite's own that can be
 * restarted is `startOwnRedis` (tests/helpers/services.ts).
 *
 * Every process opened here is closed by `close()`.
 */
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { createNegotiation, startServer, TWO_PARTIES, type ServerProcess } from './server'
import { waitFor as waitForShort } from './clients'
import { createTestSchema, testRedisPrefix, type TestSchema } from './services'

export const CLUSTER_SECRET = 'cluster-test-secret-0123456789-0123456789'

/** Three server processes on a 2-core machine, next to other suites: first loads and catch-ups can be slow. */
export const SYNC_MS = 15_000

/** tests/helpers/clients.ts `waitFor`, with SYNC_MS as its default timeout. */
export const waitFor: typeof waitForShort = (fn, opts = {}) => waitForShort(fn, { timeout: SYNC_MS, ...opts })

export interface Cluster {
  schema: TestSchema
  prefix: string
  instances: Array<ServerProcess | null>
  /** ws://…/yjs of instance i */
  ws(i: number): string
  http(i: number): string
  /** starts (or restarts, on its old port) instance i */
  start(i: number): Promise<ServerProcess>
  kill(i: number, signal?: NodeJS.Signals): Promise<void>
  createNegotiation(baseUrl: string, body?: unknown): Promise<CreatedNegotiation>
  /** output of every instance, for DEBUG_CLUSTER */
  dump(): string
  close(): Promise<void>
}

export interface ClusterOptions {
  size: number
  redisUrl: string
  /** default: a fresh schema on this server */
  pgUrl: string
  /** DATABASE_URL the instances use (e.g. through a proxy); default: the schema's */
  databaseUrl?: (schema: TestSchema) => string
  env?: Record<string, string>
  /** more environment for instance i alone (e.g. a clock of its own) */
  envFor?: (i: number) => Record<string, string>
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const schema = await createTestSchema(opts.pgUrl)
  const prefix = testRedisPrefix()
  const instances: Array<ServerProcess | null> = Array.from({ length: opts.size }, () => null)
  const ports: number[] = []
  const dead: ServerProcess[] = []
  const env = {
    DATABASE_URL: opts.databaseUrl ? opts.databaseUrl(schema) : schema.url,
    REDIS_URL: opts.redisUrl,
    PARLEY_REDIS_PREFIX: prefix,
    PARLEY_SECRET: CLUSTER_SECRET,
    PARLEY_LOG_LEVEL: 'warn',
    ...opts.env,
  }
  const start = async (i: number) => {
    // Three instances start next to other suites on a 2-core machine: readiness may take long.
    const p = await startServer({ spawn: true, port: ports[i], env: { ...env, ...opts.envFor?.(i) }, readyMs: 90_000 })
    ports[i] = p.port
    instances[i] = p
    return p
  }
  const cluster: Cluster = {
    schema,
    prefix,
    instances,
    ws: (i) => `ws://127.0.0.1:${ports[i]}/yjs`,
    http: (i) => `http://127.0.0.1:${ports[i]}`,
    start,
    async kill(i, signal = 'SIGKILL') {
      const p = instances[i]
      if (!p) return
      instances[i] = null
      dead.push(p)
      await p.kill(signal)
    },
    createNegotiation: (baseUrl, body) =>
      createNegotiation(
        { url: baseUrl, adminToken: instances.find((p) => p)!.adminToken },
        body ?? { ...TWO_PARTIES, title: 'Cluster' },
      ),
    dump: () =>
      [...instances, ...dead]
        .map((p, i) => (p ? `── instance ${i} (:${p.port}) ──\n${p.output.join('').slice(-6000)}` : ''))
        .join('\n'),
    async close() {
      if (process.env.DEBUG_CLUSTER) console.log(cluster.dump())
      await Promise.all(instances.map((p) => p?.kill('SIGKILL')))
      await schema.drop().catch(() => undefined)
    },
  }
  // One after another: started together on a busy 2-core machine, each can take longer than a start on its own.
  try {
    for (let i = 0; i < opts.size; i++) await start(i)
  } catch (err) {
    await cluster.close()
    throw err
  }
  return cluster
}
