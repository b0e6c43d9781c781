/** socket.io-client sessions against the control channel, with promise-returning commands. */
import { io, type Socket } from 'socket.io-client'
import type { Ack, Presence, Version } from '../../shared/schemas'

export interface ControlClient {
  socket: Socket
  versions: Version[]
  presence: Presence[]
  command(event: string, payload: unknown): Promise<Ack>
  close(): void
}

/**
 * A control-channel session. By default it does not reconnect, so a refusal or a drop stays
 * visible; `reconnect: true` makes it reconnect by itself (quickly), like the browser app —
 * e.g. through a balancer when its instance dies.
 */
export function controlClient(
  url: string,
  token: string,
  name = 'tester',
  opts: { extraHeaders?: Record<string, string>; reconnect?: boolean } = {},
): ControlClient {
  const socket = io(url, {
    path: '/socket.io',
    auth: { token, name },
    transports: ['websocket'],
    forceNew: true,
    extraHeaders: opts.extraHeaders,
    ...(opts.reconnect ? { reconnectionDelay: 100, reconnectionDelayMax: 500 } : { reconnection: false }),
  })
  const client: ControlClient = {
    socket,
    versions: [],
    presence: [],
    command: (event, payload) => socket.timeout(10_000).emitWithAck(event, payload) as Promise<Ack>,
    close: () => void socket.close(),
  }
  socket.on('version', (v: Version) => client.versions.push(v))
  socket.on('presence', (p: Presence) => client.presence.push(p))
  return client
}

/** Resolves when connected, rejects with the connect_error (whose `data.code` tells why). */
export function connected(c: ControlClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (c.socket.connected) return resolve()
    c.socket.once('connect', () => resolve())
    c.socket.once('connect_error', (err) => reject(err))
  })
}

/**
 * Sends a command until it is answered (for a client that reconnects): a command whose instance
 * died before it answered may or may not have been applied; the ledger rules make a repeat
 * harmless (an accepted term accepted again changes nothing).
 */
export async function commandSurely(c: ControlClient, event: string, payload: unknown, timeoutMs = 20_000): Promise<Ack> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (c.socket.connected) {
      try {
        return await c.command(event, payload)
      } catch (err) {
        if (Date.now() > until) throw err
      }
    }
    if (Date.now() > until) throw new Error(`${event} not answered within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
