/**
 * The socket.io control channel (CONTRACT.md, "socket.io control channel"):
 * token auth at the handshake, one socket.io room per negotiation, the term
 * commands with validated payloads and `{ok, error:{code, message}}` acks,
 * `presence` to everyone and `version` to those who may read history.
 */
import type { Server, Socket } from 'socket.io'
import { ErrorCode } from '../../shared/errors'
import { mayCommand, mayReadHistory } from '../../shared/roles'
import {
  CommandSchemas,
  SocketAuthSchema,
  type Ack,
  type CommandName,
  type CommandPayload,
  type Presence,
  type Version,
} from '../../shared/schemas'
import { CloseCode } from '../../shared/protocol'
import type { Claims } from '../auth/tokens'
import type { TokenAdmission } from '../auth/admission'
import { displayName } from '../auth/displayName'
import { ParleyError } from '../errors'
import type { Actor, NegotiationService } from '../negotiation/service'
import { BucketsByKey, TokenBucket } from '../sync/rateLimit'
import type { Logger } from '../log'

export interface SessionData {
  claims: Claims
  user: string
}

export interface CommandHandlers {
  restore(actor: Actor, termId: string, n: number): Promise<void>
}

const negotiationRoom = (id: string) => `n:${id}`
const historyRoom = (id: string) => `h:${id}`
/** Presence changes within this window go out as one message (a room of 500 joining at once). */
const PRESENCE_COALESCE_MS = 150
/**
 * Inbound budget of one socket, for every packet — unknown events included, which socket.io
 * parses and drops without a word. Far above what a client needs (commands are limited to
 * 20/s on their own); a socket over it is a flood and is disconnected.
 */
const INBOUND_PACKETS_PER_SECOND = 100
const INBOUND_BYTES_PER_SECOND = 2 * 1024 * 1024
/** Commands per token — all its sockets together, so ten sockets get what one does. */
const COMMANDS_PER_SECOND = 20
const COMMAND_BURST = 40
/**
 * Named checkpoints per token: each is a permanent version of the record, so a delegation marks
 * moments ("before the break", "first reading done"), not keystrokes. A few at once, then one a minute.
 */
const CHECKPOINTS_PER_SECOND = 1 / 60
const CHECKPOINT_BURST = 5

export class ControlChannel {
  private presenceTimers = new Map<string, NodeJS.Timeout>()
  private readonly commandBudgets = new BucketsByKey(COMMANDS_PER_SECOND, COMMAND_BURST)
  private readonly checkpointBudgets = new BucketsByKey(CHECKPOINTS_PER_SECOND, CHECKPOINT_BURST)

  constructor(
    private readonly io: Server,
    private readonly admission: TokenAdmission,
    private readonly service: NegotiationService,
    private readonly handlers: CommandHandlers,
    private readonly log: Logger,
  ) {
    io.use((socket, next) => void this.authenticate(socket, next))
    io.on('connection', (socket) => this.onConnection(socket))
    service.onlineUsers = (negotiationId) => this.onlineUsers(negotiationId)
  }

  /** The names of everyone connected to a negotiation, on every instance (who may be @mentioned). */
  private async onlineUsers(negotiationId: string): Promise<string[]> {
    try {
      const sockets = await this.io.in(negotiationRoom(negotiationId)).fetchSockets()
      return sockets.map((s) => (s.data as SessionData).user)
    } catch {
      return []
    }
  }

  private async authenticate(socket: Socket, next: (err?: Error) => void): Promise<void> {
    const refuse = (code: number, message: string) => {
      const err = new Error(message) as Error & { data: { code: number } }
      err.data = { code }
      next(err)
    }
    try {
      const auth = SocketAuthSchema.safeParse(socket.handshake.auth)
      const claims = auth.success ? await this.admission.claimsOf(auth.data.token) : null
      if (!claims) return refuse(CloseCode.unauthorized, 'missing, bad, expired or revoked token')
      if (!(await this.service.exists(claims.negotiationId))) return refuse(CloseCode.negotiationGone, 'negotiation is gone')
      const data: SessionData = {
        claims,
        user: displayName(claims.name ?? (auth.success ? auth.data.name : null)),
      }
      socket.data = data
      next()
    } catch (err) {
      this.log.error('socket.io handshake failed', err)
      refuse(CloseCode.storeUnavailable, 'server error, try again')
    }
  }

  private onConnection(socket: Socket): void {
    const { claims } = socket.data as SessionData
    void socket.join(negotiationRoom(claims.negotiationId))
    if (mayReadHistory(claims)) void socket.join(historyRoom(claims.negotiationId))
    this.schedulePresence(claims.negotiationId)
    socket.on('disconnect', () => this.schedulePresence(claims.negotiationId))
    const packets = new TokenBucket(INBOUND_PACKETS_PER_SECOND, 2 * INBOUND_PACKETS_PER_SECOND)
    const bytes = new TokenBucket(INBOUND_BYTES_PER_SECOND, 2 * INBOUND_BYTES_PER_SECOND)
    // engine.io announces each packet before socket.io decodes it: cut the flood at the transport.
    socket.conn.on('packet', (packet: { type: string; data?: unknown }) => {
      if (packet.type !== 'message' || socket.disconnected) return
      const size =
        typeof packet.data === 'string' ? packet.data.length : ((packet.data as Uint8Array | undefined)?.byteLength ?? 0)
      if (packets.take(1) && bytes.take(size)) return
      socket.emit('session:closed', { code: CloseCode.rateLimited, reason: 'too many messages' })
      socket.disconnect(true)
    })
    for (const name of Object.keys(CommandSchemas) as CommandName[]) {
      socket.on(name, (payload: unknown, ack: unknown) => void this.command(socket, name, payload, ack))
    }
  }

  private async command(socket: Socket, name: CommandName, payload: unknown, ack: unknown): Promise<void> {
    const reply = (answer: Ack) => typeof ack === 'function' && ack(answer)
    const session = socket.data as SessionData
    const fail = (code: string, message: string) => reply({ ok: false, error: { code, message } })
    if (!this.commandBudgets.take(session.claims.jti))
      return void fail(ErrorCode.rateLimited.name, 'too many commands, slow down')
    if (!mayCommand(session.claims)) return void fail(ErrorCode.wrongRole.name, `${session.claims.role}s cannot ${name}`)
    const parsed = CommandSchemas[name].safeParse(payload)
    if (!parsed.success) {
      return void fail(
        ErrorCode.badRequest.name,
        parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; '),
      )
    }
    if (name === 'checkpoint:create' && !this.checkpointBudgets.take(session.claims.jti))
      return void fail(ErrorCode.rateLimited.name, 'named checkpoints mark moments: at most one a minute after the first few')
    const actor: Actor = {
      negotiationId: session.claims.negotiationId,
      role: session.claims.role,
      party: session.claims.party,
      user: session.user,
      session: `s:${socket.id}`,
    }
    try {
      const p = parsed.data as Record<string, unknown>
      switch (name) {
        case 'term:accept':
          await this.service.move(actor, 'accept', p.termId as string, undefined, {
            adReferendum: (parsed.data as CommandPayload<'term:accept'>).adReferendum,
          })
          break
        case 'term:confirm':
          await this.service.move(actor, 'confirm', p.termId as string)
          break
        case 'term:choose':
          await this.service.commands.choose(actor, p.termId as string, p.group as number, p.option as number)
          break
        case 'package:accept':
          return void reply({ ok: true, ...(await this.service.conclusion.acceptPackage(actor, p.hash as string | undefined)) })
        case 'negotiation:initial':
          return void reply({ ok: true, ...(await this.service.conclusion.initial(actor)) })
        case 'term:reject':
        case 'term:withdraw':
        case 'term:reopen':
          await this.service.move(actor, name.slice(5) as 'accept', p.termId as string, p.reason as string | undefined)
          break
        case 'checkpoint:create':
          await this.service.checkpoint(actor, p.name as string)
          break
        case 'term:restore':
          await this.handlers.restore(actor, p.termId as string, p.n as number)
          break
        case 'comment:add':
          return void reply({
            ok: true,
            ...(await this.service.comments.add(actor, parsed.data as CommandPayload<'comment:add'>)),
          })
        case 'comment:reply':
          return void reply({
            ok: true,
            ...(await this.service.comments.reply(actor, parsed.data as CommandPayload<'comment:reply'>)),
          })
        case 'comment:edit':
          await this.service.comments.edit(actor, parsed.data as CommandPayload<'comment:edit'>)
          break
        case 'comment:delete':
          await this.service.comments.delete(actor, parsed.data as CommandPayload<'comment:delete'>)
          break
        case 'suggestion:accept':
        case 'suggestion:reject':
          await this.service.commands.decideSuggestion(actor, p.termId as string, p.id as string, name === 'suggestion:accept')
          break
        case 'comment:resolve':
        case 'comment:reopen':
          await this.service.comments.resolve(actor, parsed.data as CommandPayload<'comment:resolve'>, name === 'comment:resolve')
          break
      }
      reply({ ok: true })
    } catch (err) {
      if (err instanceof ParleyError) return void fail(err.code, err.message)
      this.log.error(`command ${name} failed`, err)
      fail(ErrorCode.storeUnavailable.name, 'the change could not be saved; try again')
    }
  }

  private schedulePresence(negotiationId: string): void {
    if (this.presenceTimers.has(negotiationId)) return
    const timer = setTimeout(() => {
      this.presenceTimers.delete(negotiationId)
      void this.emitPresence(negotiationId)
    }, PRESENCE_COALESCE_MS)
    this.presenceTimers.set(negotiationId, timer)
  }

  private async emitPresence(negotiationId: string): Promise<void> {
    try {
      const sockets = await this.io.in(negotiationRoom(negotiationId)).fetchSockets()
      const online: Presence['online'] = sockets.map((s) => {
        const d = s.data as SessionData
        return { user: d.user, role: d.claims.role, ...(d.claims.party ? { party: d.claims.party } : {}) }
      })
      this.io.to(negotiationRoom(negotiationId)).emit('presence', { online } satisfies Presence)
    } catch (err) {
      this.log.warn(`presence of ${negotiationId} not sent`, err)
    }
  }

  /**
   * `local`: this is the only instance (no Redis adapter), so the history room's members here are all
   * there are — socket.io encodes a packet before it looks for recipients, so an empty room is skipped
   * (two delegations typing make a version per keystroke). Nobody who may read history misses one.
   */
  emitVersion(negotiationId: string, version: Version, local = false): void {
    const room = historyRoom(negotiationId)
    if (local && !this.io.of('/').adapter.rooms.has(room)) return
    this.io.to(room).emit('version', version)
  }

  /** Disconnects sockets whose session matches, telling them why first. */
  closeWhere(pred: (d: SessionData) => boolean, code: number, reason: string): void {
    for (const socket of this.io.of('/').sockets.values()) {
      const d = socket.data as SessionData | undefined
      if (d?.claims && pred(d)) {
        socket.emit('session:closed', { code, reason })
        socket.disconnect(true)
      }
    }
  }

  close(): void {
    for (const t of this.presenceTimers.values()) clearTimeout(t)
    this.presenceTimers.clear()
  }
}
