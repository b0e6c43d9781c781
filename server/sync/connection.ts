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

export class Connection {
  readonly id: string
  /** awareness client id this connection speaks for, bound by its first awareness message */
  awarenessClientId: number | null = null
  refusedWrites = 0
  /** the connection missed writes while the store was down; ask it to resend when it is back */
  needsResync = false
  /** the room asked this connection for a sync step 2 after an update it could not integrate; cleared by the reply */
  awaitingStep2 = false
  lastSentAt = Date.now()
  closed = false
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

  close(code: CloseCodeT, reason: string = CloseReason[code]): void {
    if (this.closed) return
    this.closed = true
    // A client that stopped reading would never complete the closing handshake.
    if (code === CloseCode.slowConsumer) this.ws.terminate()
    else this.ws.close(code, reason)
  }
}
