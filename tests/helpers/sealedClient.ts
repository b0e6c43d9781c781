/**
 * A sealed caucus client in Node, honest about the wire: a `ws` socket that
 * speaks shared/sealed.ts's frames and encrypts with WebCrypto through
 * shared/sealedCrypto.ts (AES-256-GCM, a fresh 12-byte nonce per message, the
 * doc name as additional data) — what the browser's provider sends, byte for
 * byte. It keeps every frame it receives, so a test can search them.
 */
import WebSocket from 'ws'
import { MessageType } from '../../shared/protocol'
import {
  decodeSealedServerMessage,
  encodeSealedCatchUp,
  encodeSealedUpdate,
  SealedMessageType,
  type SealedServerMessage,
} from '../../shared/sealed'
import { openSealed, sealBytes } from '../../shared/sealedCrypto'
import { waitFor } from './clients'

export type Relay = Extract<SealedServerMessage, { type: 'relay' }>

export interface SealedClient {
  ws: WebSocket
  docName: string
  opened: Promise<void>
  closed: Promise<{ code: number; reason: string }>
  /** every binary frame received, as received */
  frames: Uint8Array[]
  relays: Relay[]
  receipts: number[]
  heads: number[]
  /** every seq this connection learned of, in arrival order: 201s and its own receipts */
  seqs: number[]
  /** frames that are none of 201, 203 or 100 (a sealed doc must never get any) */
  unexpected: Uint8Array[]
  /** sends bytes as they are (for malformed frames) */
  send(bytes: Uint8Array | string): void
  /** encrypts `plaintext` (bytes, or text as UTF-8) and sends it as a 200; resolves with what was sent */
  seal(plaintext: Uint8Array | string): Promise<{ nonce: Uint8Array; ciphertext: Uint8Array }>
  /** seals and waits for the receipt: the seq it was stored as */
  sealAndWait(plaintext: Uint8Array | string): Promise<number>
  /** sends 202 {afterSeq}; resolves with the 201s that answered it and the 203's head */
  catchUp(afterSeq: number, timeout?: number): Promise<{ rows: Relay[]; head: number }>
  /** decrypts a relayed row with this client's key (rejects if tampered or another key) */
  open(row: { nonce: Uint8Array; ciphertext: Uint8Array }): Promise<Uint8Array>
  /** resolves with the close code, or 'open' if still open after `ms` */
  closeCode(ms?: number): Promise<number | 'open'>
  close(): void
}

export function sealedClient(
  wsUrl: string,
  docName: string,
  token: string,
  key: CryptoKey | null,
  opts: { name?: string } = {},
): SealedClient {
  const qs = new URLSearchParams({ token, name: opts.name ?? 'sealed client' })
  const ws = new WebSocket(`${wsUrl}/${docName}?${qs}`, { maxPayload: 64 * 1024 * 1024 })
  ws.binaryType = 'nodebuffer'
  const frames: Uint8Array[] = []
  const relays: Relay[] = []
  const receipts: number[] = []
  const heads: number[] = []
  const seqs: number[] = []
  const unexpected: Uint8Array[] = []
  /** resolvers of pending catch-ups, in the order they were asked */
  const catchUps: Array<{ rows: Relay[]; done: (r: { rows: Relay[]; head: number }) => void }> = []
  const receiptWaiters: Array<(seq: number) => void> = []
  ws.on('message', (data: Buffer) => {
    const bytes = new Uint8Array(data)
    frames.push(bytes)
    let msg: SealedServerMessage
    try {
      msg = decodeSealedServerMessage(bytes)
    } catch {
      unexpected.push(bytes)
      return
    }
    if (msg.type === 'relay') {
      relays.push(msg)
      seqs.push(msg.seq)
      catchUps[0]?.rows.push(msg)
    } else if (msg.type === 'receipt') {
      receipts.push(msg.seq)
      seqs.push(msg.seq)
      receiptWaiters.shift()?.(msg.seq)
    } else {
      heads.push(msg.headSeq)
      const c = catchUps.shift()
      c?.done({ rows: c.rows, head: msg.headSeq })
    }
  })
  ws.on('error', () => {})
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  opened.catch(() => {})
  const send = (bytes: Uint8Array | string) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(bytes)
  }
  // WebCrypto may finish two encryptions out of order: sent in the order they were asked for.
  let sending: Promise<unknown> = opened
  const seal = (plaintext: Uint8Array | string) => {
    if (!key) throw new Error('this client has no key')
    const bytes = typeof plaintext === 'string' ? new TextEncoder().encode(plaintext) : plaintext
    const sealing = sealBytes(key, docName, bytes)
    const sent = sending.then(async () => {
      const sealed = await sealing
      send(encodeSealedUpdate(sealed.nonce, sealed.ciphertext))
      return sealed
    })
    sending = sent.catch(() => {})
    return sent
  }
  const client: SealedClient = {
    ws,
    docName,
    opened,
    closed,
    frames,
    relays,
    receipts,
    heads,
    seqs,
    unexpected,
    send,
    seal,
    async sealAndWait(plaintext) {
      const got = new Promise<number>((resolve) => receiptWaiters.push(resolve))
      await seal(plaintext)
      return got
    },
    async catchUp(afterSeq, timeout = 15_000) {
      await opened
      const box: { result: { rows: Relay[]; head: number } | null } = { result: null }
      catchUps.push({ rows: [], done: (r) => (box.result = r) })
      send(encodeSealedCatchUp(afterSeq))
      await waitFor(() => box.result, { timeout, what: `203 after 202 {${afterSeq}} on ${docName}` })
      return box.result!
    },
    open(row) {
      if (!key) throw new Error('this client has no key')
      return openSealed(key, docName, row.nonce, row.ciphertext)
    },
    closeCode: (ms = 10_000) =>
      Promise.race([closed.then((c) => c.code), new Promise<'open'>((r) => setTimeout(() => r('open'), ms).unref())]),
    close() {
      ws.close()
    },
  }
  return client
}

/** The message types of a sealed doc, for tests that build frames by hand. */
export { MessageType, SealedMessageType }
