/**
 * What the cluster suites share: several Parley processes on one PostgreSQL
 * schema and one Redis prefix, a TCP round-robin load balancer in front of
 * them (the test's nginx), a TCP proxy that can make PostgreSQL unreachable
 * (tests/helpers/tcpProxy.ts), and a Redis server of the suite's own that can
 * be restarted.
 *
 * Every process and socket opened here is closed by the matching `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, Socket, type Server } from 'node:net'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { createNegotiation, freePort, killOnExit, startServer, TWO_PARTIES, type ServerProcess } from '../helpers/server'
import { waitFor as waitForShort } from '../helpers/clients'
import { createTestSchema, testRedisPrefix, type TestSchema } from '../helpers/services'

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

// ── TCP plumbing: a round-robin balancer and a proxy that can play dead ──

export interface Balancer {
  url: string
  port: number
  /** open client connections per backend index */
  live(): number[]
  /** how many connections each backend has been given in all */
  given: number[]
  close(): Promise<void>
}

/**
 * Round-robin over `backends()` (ports, re-read for every connection); a
 * backend that refuses is skipped, as nginx does with `max_fails`. When a
 * backend dies, its client connections are closed, so clients reconnect —
 * and land on another instance.
 */
export async function startBalancer(backends: () => number[]): Promise<Balancer> {
  let next = 0
  const sockets = new Set<Socket>()
  const live = new Map<Socket, number>()
  const given: number[] = []
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('error', () => client.destroy())
    client.on('close', () => {
      sockets.delete(client)
      live.delete(client)
    })
    client.pause()
    const ports = backends()
    const attempt = (tries: number) => {
      if (tries >= ports.length || client.destroyed) return void client.destroy()
      const index = next++ % ports.length
      const upstream = new Socket()
      let connected = false
      upstream.once('error', () => {
        upstream.destroy()
        if (!connected) attempt(tries + 1)
      })
      upstream.connect(ports[index]!, '127.0.0.1', () => {
        connected = true
        upstream.removeAllListeners('error')
        sockets.add(upstream)
        live.set(client, index)
        given[index] = (given[index] ?? 0) + 1
        upstream.on('error', () => upstream.destroy())
        upstream.on('close', () => {
          sockets.delete(upstream)
          client.destroy()
        })
        client.on('close', () => upstream.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    attempt(0)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    given,
    live: () => {
      const counts = backends().map(() => 0)
      for (const i of live.values()) counts[i] = (counts[i] ?? 0) + 1
      return counts
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

// The PostgreSQL proxy lives with the other test equipment: the store contract suite uses it too.
export { startTcpProxy, type ProxyMode, type TcpProxy } from '../helpers/tcpProxy'

// ── a Redis of the suite's own ─────────────────────────────────────────

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
    const up = waitForShort(ping, { timeout: 5000, interval: 50, what: 'redis-server' }).then(() => true)
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
