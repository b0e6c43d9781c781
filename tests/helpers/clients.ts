/**
 * Real clients: the stock y-websocket WebsocketProvider (with `ws` as its
 * WebSocket and the BroadcastChannel off — see TOOLCHAIN.md gotcha 1), a raw
 * websocket for speaking the protocol byte by byte, and the messages to send
 * on it. (A websocket spoken frame by frame over TCP is tests/helpers/wire.ts;
 * the control channel, tests/helpers/control.ts.)
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { MessageType, SyncMessageType } from '../../shared/protocol'

export function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeout?: number; interval?: number; what?: string } = {},
): Promise<T> {
  const timeout = opts.timeout ?? 5000
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        const v = await fn()
        if (v) return resolve(v)
      } catch (err) {
        if (Date.now() - start > timeout) return reject(err)
      }
      if (Date.now() - start > timeout) return reject(new Error(`timed out waiting for ${opts.what ?? 'condition'}`))
      setTimeout(tick, opts.interval ?? 20)
    }
    void tick()
  })
}

/**
 * A `ws` WebSocket bound to a local address. Linux routes all of 127/8 to
 * the loopback interface, so a canary connecting from 127.0.0.2 is "another
 * address" for the per-address connection cap while the abuse comes from
 * 127.0.0.1.
 */
export function wsFrom(localAddress: string): typeof WebSocket {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { localAddress })
    }
  } as unknown as typeof WebSocket
}

// ── the stock client ─────────────────────────────────────────────────────

export interface YClient {
  doc: Y.Doc
  provider: WebsocketProvider
  closes: Array<{ code: number; reason: string }>
  /** permission-denied reasons received */
  denied: string[]
  /** Parley's save receipts (the seq stored) */
  receipts: number[]
  destroy(): void
}

/** The stock y-websocket client, recording receipts, refusals and close codes without changing the provider. */
export function yClient(
  wsUrl: string,
  docName: string,
  params: Record<string, string> = {},
  opts: { doc?: Y.Doc; connect?: boolean; localAddress?: string; maxBackoffTime?: number; WebSocket?: typeof WebSocket } = {},
): YClient {
  const doc = opts.doc ?? new Y.Doc()
  const provider = new WebsocketProvider(wsUrl, docName, doc, {
    WebSocketPolyfill: (opts.WebSocket ??
      (opts.localAddress ? wsFrom(opts.localAddress) : WebSocket)) as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params,
    connect: opts.connect ?? true,
    maxBackoffTime: opts.maxBackoffTime ?? 300,
  })
  const client: YClient = {
    doc,
    provider,
    closes: [],
    denied: [],
    receipts: [],
    destroy() {
      provider.destroy()
      doc.destroy()
    },
  }
  provider.on('connection-close', (event: { code: number; reason: string } | null) => {
    if (event) client.closes.push({ code: event.code, reason: event.reason })
  })
  provider.messageHandlers[MessageType.saveReceipt] = (_enc, dec) => {
    client.receipts.push(decoding.readVarUint(dec))
  }
  const auth = provider.messageHandlers[MessageType.auth]!
  provider.messageHandlers[MessageType.auth] = (enc, dec, p, emit, type) => {
    const copy = decoding.clone(dec)
    decoding.readVarUint(copy)
    client.denied.push(decoding.readVarString(copy))
    auth(enc, dec, p, emit, type)
  }
  return client
}

export const synced = (c: YClient, timeout = 15_000) => waitFor(() => c.provider.synced, { timeout, what: 'sync' })

// ── a raw websocket ──────────────────────────────────────────────────────

/** A raw websocket to /yjs/<doc> for exact bytes; records messages and the close code. */
export interface RawClient {
  ws: WebSocket
  messages: Uint8Array[]
  opened: Promise<void>
  closed: Promise<{ code: number; reason: string }>
  /** resolves with the close code, or 'open' if the socket is still open after `ms` */
  closeCode(ms?: number): Promise<number | 'open'>
  /** sends if the socket is open (and drops the bytes if not) */
  send(data: Uint8Array | string): void
  /** permission-denied reasons received so far */
  denied(): string[]
}

export function rawClient(
  wsUrl: string,
  docName: string,
  params: Record<string, string> = {},
  opts: { headers?: Record<string, string>; localAddress?: string; maxPayload?: number } = {},
): RawClient {
  const qs = new URLSearchParams(params).toString()
  const ws = new WebSocket(`${wsUrl}/${docName}${qs ? `?${qs}` : ''}`, {
    headers: opts.headers,
    localAddress: opts.localAddress,
    maxPayload: opts.maxPayload ?? 64 * 1024 * 1024,
  })
  ws.binaryType = 'nodebuffer'
  const messages: Uint8Array[] = []
  ws.on('message', (data: Buffer) => messages.push(new Uint8Array(data)))
  ws.on('error', () => {})
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
  opened.catch(() => {}) // a socket nobody waits to open may fail to: not an unhandled rejection
  return {
    ws,
    messages,
    opened,
    closed,
    closeCode: (ms = 10_000) =>
      Promise.race([closed.then((c) => c.code), new Promise<'open'>((r) => setTimeout(() => r('open'), ms).unref())]),
    send: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data)
    },
    denied: () =>
      messages
        .filter((m) => m[0] === MessageType.auth)
        .map((m) => {
          const d = decoding.createDecoder(m)
          decoding.readVarUint(d)
          decoding.readVarUint(d)
          return decoding.readVarString(d)
        }),
  }
}

/** Opens a raw connection and waits until the server has admitted it and answered its sync step 1. */
export async function rawAdmitted(
  wsUrl: string,
  docName: string,
  params: Record<string, string>,
  opts: Parameters<typeof rawClient>[3] = {},
): Promise<RawClient> {
  const r = rawClient(wsUrl, docName, params, opts)
  await r.opened
  r.send(syncMessage(SyncMessageType.step1, Y.encodeStateVector(new Y.Doc())))
  await waitFor(() => r.messages.some((m) => m[0] === MessageType.sync && m[1] === SyncMessageType.step2), {
    timeout: 15_000,
    what: `admission to ${docName}`,
  })
  return r
}

// ── messages ─────────────────────────────────────────────────────────────

/** A y-websocket message from its parts. */
export function encodeMessage(fn: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  fn(e)
  return encoding.toUint8Array(e)
}

export const syncMessage = (sub: number, payload: Uint8Array) =>
  encodeMessage((e) => {
    encoding.writeVarUint(e, MessageType.sync)
    encoding.writeVarUint(e, sub)
    encoding.writeVarUint8Array(e, payload)
  })
export const updateMessage = (update: Uint8Array) => syncMessage(SyncMessageType.update, update)
export const step2Message = (update: Uint8Array) => syncMessage(SyncMessageType.step2, update)

export function awarenessMessage(entries: Array<{ clientId: number; clock: number; state: unknown }>): Uint8Array {
  return encodeMessage((e) => {
    encoding.writeVarUint(e, MessageType.awareness)
    const inner = encoding.createEncoder()
    encoding.writeVarUint(inner, entries.length)
    for (const x of entries) {
      encoding.writeVarUint(inner, x.clientId)
      encoding.writeVarUint(inner, x.clock)
      encoding.writeVarString(inner, JSON.stringify(x.state))
    }
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner))
  })
}

/** The update a change to a fresh doc (optionally seeded with `base`) produces, under `clientID`. */
export function updateFrom(change: (doc: Y.Doc) => void, opts: { base?: Uint8Array; clientID?: number } = {}): Uint8Array {
  const doc = new Y.Doc()
  if (opts.base) Y.applyUpdate(doc, opts.base)
  if (opts.clientID !== undefined) doc.clientID = opts.clientID
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  doc.transact(() => change(doc))
  doc.destroy()
  return updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
}
