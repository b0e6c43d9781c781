/**
 * Minimal protocol clients for the load generator: the y-websocket protocol
 * (Parley, stock server) and Hocuspocus's framing of it (a document-name
 * prefix, an auth handshake, sync acks). They speak exactly what the stock
 * providers send on the wire, but keep no Y.Doc unless the caller has one, so
 * hundreds of observers in one process cost the generator little and the
 * server — the thing measured — does the work.
 */
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { Protocol } from './servers'
import type { Endpoint } from './rooms'

const SYNC = 0
const AWARENESS = 1
const AUTH = 2
const HOCUS_SYNC_REPLY = 4
const HOCUS_SYNC_STATUS = 8
const PARLEY_RECEIPT = 100
/** sent in the auth message, as @hocuspocus/provider does */
const HOCUS_PROVIDER_VERSION = '4.7.0'

/** An empty Yjs update: what an observer with an empty doc answers to sync step 1. */
export const EMPTY_UPDATE = new Uint8Array([0, 0])
const EMPTY_STATE_VECTOR = new Uint8Array([0])

export interface WireHandlers {
  /** the server's sync step 2: the doc state */
  onState?(update: Uint8Array, at: number): void
  /** a sync update broadcast by the server; `at` is performance.now() at receipt */
  onUpdate?(update: Uint8Array, at: number): void
  /** an awareness update (the inner y-protocols awareness payload) */
  onAwareness?(payload: Uint8Array, at: number): void
  /** Parley's save receipt (seq) or Hocuspocus's sync status (1 = saved) */
  onReceipt?(value: number): void
  onDenied?(reason: string): void
}

export interface WireOptions {
  protocol: Protocol
  endpoint: Endpoint
  docName: string
  /** display name (y-websocket: `name` URL parameter) */
  name: string
  /** extra URL parameters for y-websocket servers, e.g. `ack=1` */
  query?: string
  /** answers the server's sync step 1; observers answer with an empty update */
  stateFor?: (stateVector: Uint8Array) => Uint8Array
  handlers?: WireHandlers
  /** bind the client end to this local address (spreads 10k sockets over 127.0.0.x) */
  localAddress?: string
}

export class WireClient {
  readonly ws: WebSocket
  /** resolves with performance.now() when the server's sync step 2 arrived */
  readonly synced: Promise<number>
  readonly closed: Promise<{ code: number; reason: string }>
  readonly startedAt = performance.now()
  isSynced = false
  private markSynced!: (at: number) => void
  private failSync!: (err: Error) => void
  private readonly prefix: Uint8Array
  private readonly hocus: boolean

  constructor(private readonly opts: WireOptions) {
    this.hocus = opts.protocol === 'hocuspocus'
    this.prefix = this.hocus ? encodeWith((e) => encoding.writeVarString(e, opts.docName)) : new Uint8Array(0)
    this.synced = new Promise<number>((resolve, reject) => {
      this.markSynced = resolve
      this.failSync = reject
    })
    this.synced.catch(() => {})
    const url = this.hocus
      ? opts.endpoint.url
      : `${opts.endpoint.url}&name=${encodeURIComponent(opts.name)}${opts.query ? `&${opts.query}` : ''}`
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) })
    this.ws.binaryType = 'nodebuffer'
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        if (!this.isSynced) this.failSync(new Error(`closed before sync: ${code} ${reason.toString()}`))
        resolve({ code, reason: reason.toString() })
      })
    })
    this.ws.on('error', (err) => {
      if (!this.isSynced) this.failSync(err)
    })
    this.ws.on('open', () => {
      if (this.hocus) {
        // The provider authenticates first; sync starts once the server says "authenticated".
        this.sendRaw(
          encodeWith((e) => {
            encoding.writeUint8Array(e, this.prefix)
            encoding.writeVarUint(e, AUTH)
            encoding.writeVarUint(e, 0) // token
            encoding.writeVarString(e, opts.endpoint.token)
            encoding.writeVarString(e, HOCUS_PROVIDER_VERSION)
          }),
        )
      }
      // Like both stock providers, sync step 1 follows at once (Hocuspocus queues it until auth completes).
      this.sendSyncStep1()
    })
    this.ws.on('message', (data: Buffer) => this.receive(data))
  }

  private sendSyncStep1(): void {
    this.sendRaw(
      encodeWith((e) => {
        encoding.writeUint8Array(e, this.prefix)
        encoding.writeVarUint(e, SYNC)
        encoding.writeVarUint(e, 0)
        encoding.writeVarUint8Array(e, EMPTY_STATE_VECTOR)
      }),
    )
  }

  private receive(data: Buffer): void {
    const at = performance.now()
    const d = decoding.createDecoder(data)
    if (this.hocus) {
      const nameLength = decoding.readVarUint(d) // document name: skipped, not decoded
      d.pos += nameLength
    }
    const type = decoding.readVarUint(d)
    const h = this.opts.handlers
    switch (type) {
      case SYNC:
      case HOCUS_SYNC_REPLY: {
        const sub = decoding.readVarUint(d)
        const payload = decoding.readVarUint8Array(d)
        if (sub === 0) {
          const reply = this.opts.stateFor ? this.opts.stateFor(payload) : EMPTY_UPDATE
          this.sendRaw(
            encodeWith((e) => {
              encoding.writeUint8Array(e, this.prefix)
              encoding.writeVarUint(e, SYNC)
              encoding.writeVarUint(e, 1)
              encoding.writeVarUint8Array(e, reply)
            }),
          )
        } else if (sub === 1) {
          h?.onState?.(payload, at)
          if (!this.isSynced) {
            this.isSynced = true
            this.markSynced(at)
          }
        } else if (sub === 2) {
          h?.onUpdate?.(payload, at)
        }
        return
      }
      case AWARENESS:
        h?.onAwareness?.(decoding.readVarUint8Array(d), at)
        return
      case AUTH: {
        const sub = decoding.readVarUint(d)
        if (this.hocus && sub === 2) return // authenticated
        const reason = decoding.hasContent(d) ? decoding.readVarString(d) : ''
        h?.onDenied?.(reason)
        return
      }
      case HOCUS_SYNC_STATUS:
      case PARLEY_RECEIPT:
        h?.onReceipt?.(decoding.readVarUint(d))
        return
    }
  }

  sendRaw(message: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(message)
  }

  sendUpdate(update: Uint8Array): void {
    this.sendRaw(
      encodeWith((e) => {
        encoding.writeUint8Array(e, this.prefix)
        encoding.writeVarUint(e, SYNC)
        encoding.writeVarUint(e, 2)
        encoding.writeVarUint8Array(e, update)
      }),
    )
  }

  /** Sends an awareness update (the inner payload, see `encodeAwarenessEntries`). */
  sendAwareness(payload: Uint8Array): void {
    this.sendRaw(
      encodeWith((e) => {
        encoding.writeUint8Array(e, this.prefix)
        encoding.writeVarUint(e, AWARENESS)
        encoding.writeVarUint8Array(e, payload)
      }),
    )
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close()
  }

  terminate(): void {
    this.ws.terminate()
  }
}

export function encodeWith(fn: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  fn(e)
  return encoding.toUint8Array(e)
}

export interface AwarenessEntry {
  clientId: number
  clock: number
  json: string
}

/** y-protocols awareness update: count, then (clientId, clock, JSON state) per entry. */
export function encodeAwarenessEntries(entries: AwarenessEntry[]): Uint8Array {
  return encodeWith((e) => {
    encoding.writeVarUint(e, entries.length)
    for (const x of entries) {
      encoding.writeVarUint(e, x.clientId)
      encoding.writeVarUint(e, x.clock)
      encoding.writeVarString(e, x.json)
    }
  })
}

/** Reads (clientId, clock) of each entry, skipping the JSON text without decoding it. */
export function readAwarenessClocks(payload: Uint8Array, visit: (clientId: number, clock: number) => void): void {
  const d = decoding.createDecoder(payload)
  const n = decoding.readVarUint(d)
  for (let i = 0; i < n; i++) {
    const clientId = decoding.readVarUint(d)
    const clock = decoding.readVarUint(d)
    const jsonLength = decoding.readVarUint(d)
    d.pos += jsonLength
    visit(clientId, clock)
  }
}

/** Opens `count` clients `concurrency` at a time and waits until every one is synced. */
export async function openAll<T extends WireClient>(
  count: number,
  make: (i: number) => T,
  concurrency = 64,
  timeoutMs = 120_000,
): Promise<T[]> {
  const clients: T[] = new Array(count)
  let next = 0
  const deadline = Date.now() + timeoutMs
  const worker = async () => {
    while (next < count) {
      const i = next++
      const c = make(i)
      clients[i] = c
      const left = deadline - Date.now()
      await Promise.race([
        c.synced,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`client ${i} not synced in time`)), Math.max(left, 1)).unref(),
        ),
      ])
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return clients
}
