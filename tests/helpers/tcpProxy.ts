/**
 * The one TCP proxy of the tests, in front of one server or round-robin over
 * several, that can play dead — the one the store contract suite, the cluster
 * suites and the commit-fault tests share:
 *
 * - in front of PostgreSQL: `refuse` closes every connection (a stopped
 *   server), `blackhole` accepts and never answers (a partition), `forward`
 *   relays again; switching drops the connections open so far.
 *   `cutAtNextCommit` loses the answer to the next COMMIT: the connection that
 *   sends it is cut right after the COMMIT reached the server (or right
 *   before), the worst moment for a client, which cannot tell whether its
 *   transaction committed.
 * - in front of several Parley instances (`startTcpProxy(() => ports)`), the
 *   test's nginx: each connection goes to the next backend in turn, and a
 *   backend that refuses is skipped, as nginx does with `max_fails`. When a
 *   backend dies its client connections are closed, so clients reconnect —
 *   and land on another instance.
 */
import { createServer, Socket, type Server } from 'node:net'

export type ProxyMode = 'forward' | 'refuse' | 'blackhole'

export interface CutOptions {
  /** true: the server gets the COMMIT (and commits); false: it never does */
  deliver: boolean
  /** runs the moment the client's connection is cut (e.g. to make the database unreachable) */
  then?: () => void
}

export interface TcpProxy {
  port: number
  /** http://127.0.0.1:<port> */
  url: string
  /** `url` (a postgres:// URL) pointed at this proxy */
  via(url: string): string
  mode(m: ProxyMode): void
  /** resolves once a COMMIT was caught and the connection that sent it cut */
  cutAtNextCommit(opts: CutOptions): Promise<void>
  /** open client connections per backend index */
  live(): number[]
  /** how many connections each backend has been given in all */
  given: number[]
  close(): Promise<void>
}

/** A simple-protocol Query message carrying exactly `COMMIT` (how pg sends client.query('COMMIT')). */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 11]), Buffer.from('COMMIT\0', 'latin1')])

/**
 * A proxy to `target`: a database URL (its host, and its port or PostgreSQL's), one port on
 * `targetHost`, or the backends' ports (re-read for every connection).
 */
export async function startTcpProxy(target: string | number | (() => number[]), targetHost = '127.0.0.1'): Promise<TcpProxy> {
  if (typeof target === 'string') {
    const u = new URL(target)
    return startTcpProxy(Number(u.port) || 5432, u.hostname)
  }
  const backends = typeof target === 'number' ? () => [target] : target
  let mode: ProxyMode = 'forward'
  let cut: (CutOptions & { done: () => void }) | null = null
  let next = 0
  const sockets = new Set<Socket>()
  /** upstreams that carried a cut COMMIT: kept until the server has answered it, so it surely ran */
  const draining = new Set<Socket>()
  const live = new Map<Socket, number>()
  const given: number[] = []

  const relay = (client: Socket, upstream: Socket) => {
    let severed = false
    upstream.on('close', () => {
      sockets.delete(upstream)
      draining.delete(upstream)
      if (!severed) client.destroy()
    })
    upstream.on('error', () => upstream.destroy())
    client.on('close', () => {
      if (!severed) upstream.destroy()
    })
    client.on('data', (chunk: Buffer) => {
      const at = cut ? chunk.indexOf(COMMIT_MESSAGE) : -1
      if (at < 0 || !cut) return void upstream.write(chunk)
      const { deliver, then, done } = cut
      cut = null
      severed = true
      if (deliver) {
        upstream.write(chunk)
        sockets.delete(upstream)
        draining.add(upstream)
        // The server's answer (CommandComplete, ReadyForQuery) means the COMMIT ran: then let go.
        upstream.removeAllListeners('data')
        upstream.on('data', () => upstream.end())
        setTimeout(() => upstream.destroy(), 10_000).unref()
      } else {
        upstream.destroy()
      }
      client.destroy()
      then?.()
      done()
    })
    upstream.on('data', (chunk: Buffer) => {
      if (!severed) client.write(chunk)
    })
  }

  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => {
      sockets.delete(client)
      live.delete(client)
    })
    client.on('error', () => client.destroy())
    if (mode === 'refuse') return void client.destroy()
    if (mode === 'blackhole') return void client.on('data', () => undefined)
    const ports = backends()
    const attempt = (tries: number) => {
      if (tries >= ports.length || client.destroyed) return void client.destroy()
      const index = next++ % ports.length
      const upstream = new Socket()
      upstream.once('error', () => {
        upstream.destroy()
        attempt(tries + 1)
      })
      upstream.connect(ports[index]!, targetHost, () => {
        upstream.removeAllListeners('error')
        if (client.destroyed) return void upstream.destroy()
        sockets.add(upstream)
        live.set(client, index)
        given[index] = (given[index] ?? 0) + 1
        relay(client, upstream)
      })
    }
    attempt(0)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    via(url) {
      const u = new URL(url)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    mode(m) {
      mode = m
      for (const s of sockets) s.destroy()
    },
    cutAtNextCommit(opts) {
      return new Promise<void>((done) => (cut = { ...opts, done }))
    },
    given,
    live: () => {
      const counts = backends().map(() => 0)
      for (const i of live.values()) counts[i] = (counts[i] ?? 0) + 1
      return counts
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut = null
        for (const s of [...sockets, ...draining]) s.destroy()
        server.close(() => resolve())
      }),
  }
}
