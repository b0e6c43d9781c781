/**
 * Real clients: the stock y-websocket WebsocketProvider (with `ws` as its
 * WebSocket and the BroadcastChannel off — see TOOLCHAIN.md gotcha 1) and a
 * raw websocket for speaking the protocol byte by byte.
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

export interface YClient {
  doc: Y.Doc
  provider: WebsocketProvider
  closes: Array<{ code: number; reason: string }>
  denied: string[]
  receipts: number[]
  destroy(): void
}

export function yClient(
  wsUrl: string,
  docName: string,
  params: Record<string, string> = {},
  opts: { doc?: Y.Doc; connect?: boolean } = {},
): YClient {
  const doc = opts.doc ?? new Y.Doc()
  const provider = new WebsocketProvider(wsUrl, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params,
    connect: opts.connect ?? true,
    maxBackoffTime: 300,
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
  // Parley's save receipt (type 100) and the auth message, observed without changing the provider.
  provider.messageHandlers[100] = (_enc, dec) => {
    client.receipts.push(decoding.readVarUint(dec))
  }
  const authHandler = provider.messageHandlers[2]!
  provider.messageHandlers[2] = (enc, dec, p, emit, type) => {
    const copy = decoding.clone(dec)
    decoding.readVarUint(copy)
    client.denied.push(decoding.readVarString(copy))
    authHandler(enc, dec, p, emit, type)
  }
  return client
}

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

export const synced = (c: YClient, timeout = 5000) => waitFor(() => c.provider.synced, { timeout, what: 'sync' })

/** A raw websocket to /yjs/<doc>: send exact bytes, observe messages and the close code. */
export interface RawClient {
  ws: WebSocket
  messages: Uint8Array[]
  closed: Promise<{ code: number; reason: string }>
  opened: Promise<void>
  send(bytes: Uint8Array | string): void
}

export function rawClient(
  wsUrl: string,
  docName: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
): RawClient {
  const qs = new URLSearchParams(params).toString()
  const ws = new WebSocket(`${wsUrl}/${docName}${qs ? `?${qs}` : ''}`, { headers })
  const messages: Uint8Array[] = []
  ws.binaryType = 'nodebuffer'
  ws.on('message', (data: Buffer) => messages.push(new Uint8Array(data)))
  ws.on('error', () => {})
  return {
    ws,
    messages,
    opened: new Promise((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
      ws.once('error', reject)
    }),
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    send: (bytes) => ws.send(bytes),
  }
}

export function encodeMessage(fn: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  fn(e)
  return encoding.toUint8Array(e)
}
