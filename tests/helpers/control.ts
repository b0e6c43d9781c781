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

export function controlClient(
  url: string,
  token: string,
  name = 'tester',
  opts: { extraHeaders?: Record<string, string> } = {},
): ControlClient {
  const socket = io(url, {
    path: '/socket.io',
    auth: { token, name },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: opts.extraHeaders,
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
