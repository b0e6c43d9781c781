/**
 * Which browser origins may open websockets and socket.io sessions
 * (PARLEY_ALLOWED_ORIGINS; by default only the server's own origins). A
 * request without an Origin header is not from a browser page and is let
 * through: the token still decides what it may do.
 *
 * "The server's own origins" are derived from configuration, never from the
 * request's Host header: a page on `http://evil.example:4000` whose name was
 * rebound to this server's address (DNS rebinding) sends `Host:
 * evil.example:4000` and a matching Origin, and comparing the two would let
 * it in. The own origins are PARLEY_PUBLIC_URL when set, else the bind
 * address at the listening port — with the loopback names when bound to
 * loopback, and the machine's own addresses and host name when bound to
 * every interface.
 */
import type { IncomingMessage } from 'node:http'
import { hostname, networkInterfaces } from 'node:os'

export interface OwnOrigins {
  host: string
  /** the port the server listens on (known once it does) */
  port: () => number
  publicUrl?: string
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.')
const isWildcard = (host: string) => host === '0.0.0.0' || host === '::'

export class OriginPolicy {
  private readonly configured: Set<string> | null
  private own: { port: number; origins: Set<string> } | null = null

  constructor(
    configured: string[] | undefined,
    private readonly server: OwnOrigins,
  ) {
    this.configured = configured?.length ? new Set(configured.map(normalize)) : null
  }

  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin
    if (origin === undefined) return true
    const o = normalize(origin)
    return this.ownOrigins().has(o) || (this.configured?.has(o) ?? false)
  }

  /** The server's own origins, computed once the port is known. */
  ownOrigins(): Set<string> {
    const port = this.server.port()
    if (this.own?.port === port) return this.own.origins
    const origins = new Set<string>()
    if (this.server.publicUrl) origins.add(normalize(this.server.publicUrl))
    const add = (host: string) => origins.add(normalize(`http://${host}:${port}`))
    const { host } = this.server
    if (isLoopback(host) || isWildcard(host)) LOOPBACK_NAMES.forEach(add)
    if (isWildcard(host)) {
      add(hostname())
      for (const list of Object.values(networkInterfaces()))
        for (const a of list ?? []) add(a.family === 'IPv6' ? `[${a.address.split('%')[0]}]` : a.address)
    } else if (!isLoopback(host)) {
      add(host.includes(':') ? `[${host}]` : host)
    }
    this.own = { port, origins }
    return origins
  }
}

function normalize(origin: string): string {
  try {
    return new URL(origin).origin
  } catch {
    return origin
  }
}
