/**
 * A TCP proxy in front of PostgreSQL that can play dead — the one the store
 * contract suite, the cluster suites and the commit-fault tests share:
 * `refuse` closes every connection (a stopped server), `blackhole` accepts and
 * never answers (a partition), `forward` relays again; switching drops the
 * connections open so far. `cutAtNextCommit` loses the answer to the next
 * COMMIT: the connection that sends it is cut right after the COMMIT reached
 * the server (or right before), the worst moment for a client, which cannot
 * tell whether its transaction committed.
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
  /** `url` (a postgres:// URL) pointed at this proxy */
  via(url: string): string
  mode(m: ProxyMode): void
  /** resolves once a COMMIT was caught and the connection that sent it cut */
  cutAtNextCommit(opts: CutOptions): Promise<void>
  close(): Promise<void>
}

/** A simple-protocol Query message carrying exactly `COMMIT` (how pg sends client.query('COMMIT')). */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 11]), Buffer.from('COMMIT\0', 'latin1')])

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward'
  let cut: (CutOptions & { done: () => void }) | null = null
  const sockets = new Set<Socket>()
  /** upstreams that carried a cut COMMIT: kept until the server has answered it, so it surely ran */
  const draining = new Set<Socket>()
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => client.destroy())
    if (mode === 'refuse') return void client.destroy()
    if (mode === 'blackhole') return void client.on('data', () => undefined)
    const upstream = new Socket()
    sockets.add(upstream)
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
    upstream.connect(targetPort, targetHost, () => {
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
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
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
    close: () =>
      new Promise<void>((resolve) => {
        cut = null
        for (const s of [...sockets, ...draining]) s.destroy()
        server.close(() => resolve())
      }),
  }
}
