/**
 * Open connections per client address (websockets and socket.io together),
 * so thousands of sockets from one address cannot starve everyone else.
 */
import type { IncomingMessage } from 'node:http'

export class ConnectionCounter {
  private counts = new Map<string, number>()

  constructor(
    private readonly maxPerAddress: number,
    /** behind a proxy (PARLEY_TRUST_PROXY=1) the client is the first X-Forwarded-For address */
    private readonly trustProxy = false,
  ) {}

  addressOf(req: Pick<IncomingMessage, 'headers'> & { socket?: { remoteAddress?: string } }): string {
    const forwarded = this.trustProxy ? req.headers['x-forwarded-for'] : undefined
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
    return first || req.socket?.remoteAddress || 'unknown'
  }

  /** Counts one more connection; false (and nothing counted) when the address is at its cap. */
  acquire(address: string): boolean {
    const n = this.counts.get(address) ?? 0
    if (n >= this.maxPerAddress) return false
    this.counts.set(address, n + 1)
    return true
  }

  release(address: string): void {
    const n = (this.counts.get(address) ?? 1) - 1
    if (n <= 0) this.counts.delete(address)
    else this.counts.set(address, n)
  }
}
