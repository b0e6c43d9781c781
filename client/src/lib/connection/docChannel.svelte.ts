/**
 * One Yjs document and its stock WebsocketProvider, with the connection's
 * state as reactive fields: link status, first sync, why it closed for good,
 * and (for writable docs) how many local edits are not yet saved.
 *
 * A doc with a local copy (localCopy.ts) reads it before it connects: the
 * doc shows at once, offline too, and the provider's first sync sends the
 * server whatever the copy holds that it lacks.
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { Awareness } from 'y-protocols/awareness'
import { writeSyncStep1 } from 'y-protocols/sync'
import {
  AuthMessageType,
  FINAL_CLOSE_CODES,
  MessageType,
  PermissionDeniedReason,
  SyncMessageType,
  tokenSubprotocols,
} from '../../../../shared/protocol'
import { SaveTracker } from './saveTracker'
import { LocalCopy } from './localCopy'

export type LinkStatus = 'connecting' | 'connected' | 'disconnected'

export interface ChannelOptions {
  docName: string
  token: string
  name: string
  writable: boolean
  /** publish awareness (cursors, viewport); watchers' awareness is not relayed anyway */
  awareness: boolean
  /** the IndexedDB database of this device's copy of the doc (localCopyName); none: no copy */
  localCopy?: string
}

/** How long sent edits may wait for their receipts before a barrier settles them. */
const STALL_MS = 3000

/** The transaction origin of every write this client makes outside the editor binding. */
export const LOCAL_ORIGIN = Object.freeze({ source: 'local' as const })

type Handler = WebsocketProvider['messageHandlers'][number]

export class DocChannel {
  readonly doc = new Y.Doc()
  readonly provider: WebsocketProvider
  readonly docName: string
  readonly writable: boolean

  status = $state<LinkStatus>('connecting')
  /** true once the doc holds the server's state (and again after each reconnect) */
  synced = $state(false)
  /** at least one sync completed since the page opened, or the local copy had content: the board can be shown */
  loaded = $state(false)
  /** the doc was shown from this device's copy before the server answered */
  fromLocalCopy = $state(false)
  /** set when the server closed the connection for good */
  closed = $state<{ code: number; reason: string } | null>(null)
  unsaved = $state(0)
  savingPaused = $state(false)
  lastDenied = $state<string | null>(null)
  /**
   * The server refused a write because the negotiation is concluded: the doc takes no more
   * writes, ever. What was refused is dropped from the unsaved count and from this device's
   * copy (a reload shows the final text); the page explains it instead of waiting to save.
   */
  refusedAsConcluded = $state(false)

  private readonly tracker: SaveTracker
  private readonly stallCheck: ReturnType<typeof setInterval>
  private local: LocalCopy | null
  /** false while the local copy is read: the provider connects after it */
  private started: boolean
  private destroyed = false

  constructor(baseUrl: string, opts: ChannelOptions) {
    this.docName = opts.docName
    this.writable = opts.writable
    this.tracker = new SaveTracker(() => {
      const s = this.tracker.snapshot()
      this.unsaved = s.unsaved
      this.savingPaused = s.paused
      this.local?.note()
    })
    this.local = opts.localCopy
      ? new LocalCopy(opts.localCopy, this.doc, opts.writable ? () => this.tracker.snapshot().unsaved : null)
      : null
    this.started = this.local === null
    this.provider = new WebsocketProvider(baseUrl, opts.docName, this.doc, {
      // The token rides in the handshake's Sec-WebSocket-Protocol header, not in the URL that
      // consoles and proxy logs show (shared/protocol.ts).
      params: { name: opts.name, ...(opts.writable ? { ack: '1' } : {}) },
      protocols: tokenSubprotocols(opts.token),
      // Tabs of one browser may hold different roles: never sync them behind the server's back.
      disableBc: true,
      maxBackoffTime: 2500,
      shouldReconnect: (event) => !FINAL_CLOSE_CODES.has(event.code),
      // With a local copy, its content goes into the first sync: connect once it is read.
      connect: this.started,
    })
    if (!opts.awareness) this.provider.awareness.setLocalState(null)
    this.installHandlers()

    this.provider.on('status', ({ status }) => {
      this.status = status
      if (status !== 'connected') this.synced = false
      // emitted just before the provider sends its own sync step 1
      if (status === 'connected') this.tracker.connected()
    })
    this.provider.on('sync', (isSynced: boolean) => {
      this.synced = isSynced
      if (isSynced) {
        this.loaded = true
        this.local?.noteSynced()
      }
    })
    this.provider.on('connection-close', () => this.tracker.disconnected())
    this.provider.on('closed', (event) => {
      this.closed = { code: event.code, reason: event.reason }
    })
    // Messages unanswered for long (the server skipped them): settle with a barrier.
    this.stallCheck = setInterval(() => {
      if (this.writable && this.tracker.stalled(STALL_MS)) this.sendBarrier()
    }, 1000)
    this.doc.on('update', (_update: Uint8Array, origin: unknown) => {
      const local = this.local
      // Mirrors the provider: it sends every update not from itself, if the socket is open.
      // What the local copy loads is counted once it is read (openLocalCopy).
      if (this.writable && origin !== this.provider && (local === null || origin !== local.origin)) {
        const ws = this.provider.ws
        this.tracker.localEdit(this.provider.wsconnected && ws !== null && ws.readyState === WebSocket.OPEN)
      }
      local?.note()
    })
    if (this.local) void this.openLocalCopy(this.local)
  }

  /** Reads the local copy into the doc, counts its unconfirmed edits, then connects. */
  private async openLocalCopy(local: LocalCopy): Promise<void> {
    const restored = await local.load()
    if (this.destroyed) return
    if (restored === null) {
      this.local = null
    } else {
      if (restored.content) {
        this.fromLocalCopy = true
        this.loaded = true
      }
      if (this.writable && restored.unsaved > 0) this.tracker.restored(restored.unsaved)
    }
    this.started = true
    if (!this.closed) this.provider.connect()
  }

  /**
   * Stops keeping the local copy and hands it over, for removal (the link lost
   * its access: see removeLocalCopies).
   */
  takeLocalCopy(): LocalCopy | null {
    const local = this.local
    this.local = null
    return local
  }

  get awareness(): Awareness {
    return this.provider.awareness
  }

  /** Runs `fn` as one local transaction (one update, one history entry). */
  transact(fn: (doc: Y.Doc) => void): void {
    if (!this.writable) throw new Error(`${this.docName} is read-only for this role`)
    this.doc.transact(() => fn(this.doc), LOCAL_ORIGIN)
  }

  /** Try the connection again now (after "offline", or a user's click). */
  reconnect(): void {
    if (this.closed || !this.started) return
    if (this.provider.ws === null) this.provider.connect()
  }

  /** A sync step 1 of our own: its reply comes after everything sent before it was handled (see SaveTracker). */
  private sendBarrier(): void {
    const ws = this.provider.ws
    if (!this.provider.wsconnected || !ws || ws.readyState !== WebSocket.OPEN) return
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, MessageType.sync)
    writeSyncStep1(e, this.doc)
    this.tracker.barrierSent()
    ws.send(encoding.toUint8Array(e))
  }

  /** The doc is final on the server: nothing pending will ever be saved, and this device's copy must not send it again. */
  private final(): void {
    this.refusedAsConcluded = true
    this.tracker.abandon()
    const local = this.takeLocalCopy()
    if (local) void local.clear()
  }

  destroy(): void {
    this.destroyed = true
    clearInterval(this.stallCheck)
    this.local?.drop()
    this.provider.destroy()
    this.doc.destroy()
  }

  private installHandlers(): void {
    const handlers = this.provider.messageHandlers
    const sync = handlers[MessageType.sync]!
    const auth = handlers[MessageType.auth]!

    handlers[MessageType.saveReceipt] = ((_enc, dec) => {
      decoding.readVarUint(dec) // the doc's committed sequence number; the count is what matters here
      this.tracker.receipt()
    }) satisfies Handler

    handlers[MessageType.auth] = ((enc, dec, provider, emitSynced, type) => {
      const peek = decoding.clone(dec)
      if (decoding.readVarUint(peek) === AuthMessageType.permissionDenied) {
        const reason = decoding.readVarString(peek)
        this.lastDenied = reason
        if (reason === PermissionDeniedReason.concluded) return this.final()
        this.tracker.denied(reason === PermissionDeniedReason.storeUnavailable)
        return
      }
      auth(enc, dec, provider, emitSynced, type)
    }) satisfies Handler

    handlers[MessageType.sync] = ((enc, dec, provider, emitSynced, type) => {
      const kind = decoding.readVarUint(decoding.clone(dec))
      sync(enc, dec, provider, emitSynced, type)
      if (!this.writable) return
      if (kind === SyncMessageType.step2) return this.tracker.stepTwoReceived()
      if (kind !== SyncMessageType.step1) return
      // The provider answers a server sync step 1 with our step 2 in `enc`, sent right after this returns.
      const reply = decoding.createDecoder(encoding.toUint8Array(enc))
      decoding.readVarUint(reply)
      if (decoding.readVarUint(reply) !== SyncMessageType.step2) return
      const update = decoding.readVarUint8Array(reply)
      if (this.tracker.fullStateSent(isEmptyUpdate(update))) queueMicrotask(() => this.sendBarrier())
    }) satisfies Handler
  }
}

/** A Yjs v1 update with no structs and no deletions is exactly [0, 0]. */
const isEmptyUpdate = (u: Uint8Array) => u.length === 2 && u[0] === 0 && u[1] === 0
