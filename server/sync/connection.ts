/**
 * One websocket connected to one document. Owns the per-connection limits
 * (rate, send buffer) and the bookkeeping the room's checks need; knows
 * nothing about the protocol beyond "send bytes" and "close with a code".
 */
import type { WebSocket } from 'ws'
import { CloseCode, CloseReason, type CloseCode as CloseCodeT } from '../../shared/protocol'
import type { Access, Peer } from './peer'
import { TokenBucket } from './rateLimit'

export interface ConnectionLimits {
  messagesPerSecond: number
  bytesPerSecond: number
  /** close a client whose unread outbound data exceeds this */
  maxBufferedBytes: number
  /** Yjs structs + delete ranges per second, shared by all connections of one token */
  structsPerSecond?: number
  structBurst?: number
}

let nextId = 1

/**
 * Messages framed once for many recipients. A broadcast costs one syscall
 * per recipient however it is sent, but `ws.send` also allocates a header,
 * wraps the payload and corks the socket for each of them; this builds the
 * websocket frames (RFC 6455 §5.2: FIN, binary, unmasked from a server) once
 * and writes the same bytes to every socket — several messages in one write.
 */
export class Outgoing {
  readonly frames: Buffer

  constructor(readonly messages: readonly Uint8Array[]) {
    let size = 0
    for (const m of messages) size += frameHeaderLength(m.byteLength) + m.byteLength
    const out = Buffer.allocUnsafe(size)
    let at = 0
    for (const m of messages) {
      at = writeFrameHeader(out, at, m.byteLength)
      out.set(m, at)
      at += m.byteLength
    }
    this.frames = out
  }
}

const frameHeaderLength = (n: number) => (n < 126 ? 2 : n < 65536 ? 4 : 10)

function writeFrameHeader(out: Buffer, at: number, n: number): number {
  out[at++] = 0x82 // FIN + binary
  if (n < 126) {
    out[at++] = n
  } else if (n < 65536) {
    out[at++] = 126
    out.writeUInt16BE(n, at)
    at += 2
  } else {
    out[at++] = 127
    out.writeUInt32BE(Math.floor(n / 2 ** 32), at)
    out.writeUInt32BE(n >>> 0, at + 4)
    at += 8
  }
  return at
}

/** ws internals the direct write relies on (ws 8); absent or busy → the ordinary ws.send path. */
interface WsInternals {
  _socket?: { write(data: Buffer): boolean; writable: boolean }
  _sender?: { _state: number; _queue: unknown[] }
}

export class Connection {
  readonly id: string
  /** what the connection speaks: y-websocket's Yjs messages, or a sealed caucus's (shared/sealed.ts) */
  protocol: 'yjs' | 'sealed' = 'yjs'
  /** awareness client id this connection speaks for, bound by its first awareness message */
  awarenessClientId: number | null = null
  refusedWrites = 0
  /** the connection missed writes while the store was down; ask it to resend when it is back */
  needsResync = false
  /** the room asked this connection for a sync step 2 after an update it could not integrate; cleared by the reply */
  awaitingStep2 = false
  lastSentAt = Date.now()
  closed = false
  /** messages of this connection waiting in its room's inbox while a commit is in flight */
  queued = 0
  private readonly messageBudget: TokenBucket
  private readonly byteBudget: TokenBucket

  constructor(
    readonly ws: WebSocket,
    readonly docName: string,
    readonly peer: Peer,
    readonly access: Access,
    readonly wantsReceipts: boolean,
    private readonly limits: ConnectionLimits,
    /** shared with the token's other connections (see SyncEndpoint); none: unlimited */
    private readonly structBudget: TokenBucket | null = null,
  ) {
    this.id = `c${process.pid.toString(36)}-${(nextId++).toString(36)}`
    this.messageBudget = new TokenBucket(limits.messagesPerSecond, limits.messagesPerSecond * 2)
    this.byteBudget = new TokenBucket(limits.bytesPerSecond, Math.max(limits.bytesPerSecond * 2, 2 * 1024 * 1024))
  }

  /**
   * Charges the structs and delete ranges of one update. Yjs spends ~5–25 µs on each, so the
   * message and byte limits alone still let one writer keep the event loop busy with 1 MiB
   * updates of 50 000 structs; false when over the budget.
   */
  admitStructs(n: number): boolean {
    return this.structBudget === null || this.structBudget.take(n)
  }

  /** Charges one inbound message; false when over the rate limit. */
  admit(bytes: number): boolean {
    return this.messageBudget.take(1) && this.byteBudget.take(bytes)
  }

  send(message: Uint8Array): void {
    if (this.closed) return
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer)
      return
    }
    this.lastSentAt = Date.now()
    this.ws.send(message)
  }

  /**
   * Keeps a quiet connection alive: a sealed caucus has no message to spare for it (the
   * awareness keepalive is a Yjs message), so a websocket ping, which proxies count as traffic
   * and browsers answer by themselves.
   */
  ping(): void {
    if (this.closed || this.ws.readyState !== 1) return
    this.lastSentAt = Date.now()
    this.ws.ping()
  }

  /** Sends one message; resolves once it has left for the kernel (or could not be sent). */
  sendFlushed(message: Uint8Array): Promise<void> {
    if (this.closed || this.ws.readyState !== 1) return Promise.resolve()
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer)
      return Promise.resolve()
    }
    this.lastSentAt = Date.now()
    return new Promise((resolve) => this.ws.send(message, () => resolve()))
  }

  /**
   * Sends pre-framed messages with one socket write. Only while ws has
   * nothing of its own queued (its sender is idle, as it always is without
   * compression), so frames never interleave; otherwise message by message.
   */
  sendOutgoing(out: Outgoing, now: number): void {
    if (this.closed || out.messages.length === 0) return
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer)
      return
    }
    this.lastSentAt = now
    const { _socket: socket, _sender: sender } = this.ws as unknown as WsInternals
    if (this.ws.readyState === 1 && socket?.writable && sender?._state === 0 && sender._queue.length === 0) {
      socket.write(out.frames)
    } else {
      for (const m of out.messages) this.ws.send(m)
    }
  }

  close(code: CloseCodeT, reason: string = CloseReason[code]): void {
    if (this.closed) return
    this.closed = true
    // A client that stopped reading would never complete the closing handshake.
    if (code === CloseCode.slowConsumer) this.ws.terminate()
    else this.ws.close(code, reason)
  }
}
