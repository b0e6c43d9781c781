/**
 * The socket.io control channel (CONTRACT.md): term commands with acks,
 * `presence` of everyone in the negotiation, live `version` events for those
 * who may read history, and `session:closed` when the server ends a session.
 */
import { io, type Socket } from 'socket.io-client'
import { ErrorCode, LocalRefusal } from '../../../../shared/errors'
import { CloseCode, FINAL_CLOSE_CODES } from '../../../../shared/protocol'
import type { Ack, CommandName, CommandPayload, Presence, SessionClosed, Version } from '../../../../shared/schemas'
import { m } from '../../paraglide/messages'

const COMMAND_TIMEOUT_MS = 10_000

export type CommandResult = Ack

export class ControlChannel {
  connected = $state(false)
  online = $state.raw<Presence['online']>([])
  /** `version` events received since the page opened (history readers only) */
  liveVersions = $state.raw<Version[]>([])
  closed = $state<SessionClosed | null>(null)

  private readonly socket: Socket

  constructor(token: string, name: string) {
    this.socket = io({
      path: '/socket.io',
      auth: { token, name },
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
    })
    this.socket.on('connect', () => (this.connected = true))
    this.socket.on('disconnect', () => (this.connected = false))
    this.socket.on('connect_error', (err: Error & { data?: { code?: number } }) => {
      const code = err.data?.code
      // the server refuses a handshake with 4401 or 4404 (final) or 4429, 4503 (retried)
      if (code !== undefined && FINAL_CLOSE_CODES.has(code)) {
        this.closed = { code, reason: err.message }
        this.socket.disconnect()
      }
    })
    this.socket.on('presence', (p: Presence) => {
      if (p && Array.isArray(p.online)) this.online = p.online
    })
    this.socket.on('version', (v: Version) => {
      if (v && typeof v.n === 'number') this.liveVersions = [...this.liveVersions, v]
    })
    this.socket.on('session:closed', (c: SessionClosed) => {
      this.closed = { code: Number(c?.code) || CloseCode.unauthorized, reason: String(c?.reason ?? '') }
    })
  }

  /** Sends a command; resolves with the server's ack, or a local refusal when it cannot be sent. */
  command<C extends CommandName>(name: C, payload: CommandPayload<C>): Promise<CommandResult> {
    if (this.closed) return Promise.resolve(refusal(LocalRefusal.sessionClosed, m.connection_refusal_session_closed()))
    if (!this.socket.connected) {
      return Promise.resolve(refusal(LocalRefusal.offline, m.connection_refusal_offline()))
    }
    return new Promise((resolve) => {
      this.socket.timeout(COMMAND_TIMEOUT_MS).emit(name, payload, (err: Error | null, ack: Ack) => {
        if (err) resolve(refusal(LocalRefusal.timeout, m.connection_refusal_timeout()))
        else if (ack && typeof ack === 'object' && 'ok' in ack) resolve(ack)
        else resolve(refusal(ErrorCode.internal.name, m.connection_refusal_unexpected()))
      })
    })
  }

  reconnect(): void {
    if (!this.closed && !this.socket.connected) this.socket.connect()
  }

  destroy(): void {
    this.socket.removeAllListeners()
    this.socket.disconnect()
  }
}

const refusal = (code: string, message: string): Ack => ({ ok: false, error: { code, message } })
