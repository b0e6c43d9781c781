/**
 * Which browser origins may open websockets and socket.io sessions
 * (PARLEY_ALLOWED_ORIGINS; by default only the server's own origin). A
 * request without an Origin header is not from a browser page and is let
 * through: the token still decides what it may do.
 */
import type { IncomingMessage } from 'node:http'

export class OriginPolicy {
  private readonly allowed: Set<string> | null

  constructor(configured: string[] | undefined, ownOrigins: string[]) {
    this.allowed = configured?.length ? new Set([...configured, ...ownOrigins].map(normalize)) : null
  }

  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin
    if (origin === undefined) return true
    if (this.allowed) return this.allowed.has(normalize(origin))
    // Default: same origin, whatever name the browser used to reach this server.
    try {
      return new URL(origin).host === req.headers.host
    } catch {
      return false
    }
  }
}

function normalize(origin: string): string {
  try {
    return new URL(origin).origin
  } catch {
    return origin
  }
}
