/**
 * The sealed caucus's messages (CONTRACT.md "Sealed caucus (end-to-end
 * encrypted)"), declared once for the browser, the server and the tests.
 *
 * A sealed doc `<id>/sealed/<party>` speaks only these, y-websocket framed
 * (varUint type, then the payload), lib0-encoded:
 *
 *   200 update    client → server  varUint8Array nonce (12) · varUint8Array ciphertext
 *   201 relay     server → client  varUint seq · varUint8Array nonce · varUint8Array ciphertext
 *   202 catch-up  client → server  varUint afterSeq
 *   203 head      server → client  varUint headSeq
 *   100 receipt   server → client  varUint seq (shared/protocol.ts MessageType.saveReceipt)
 *
 * The server sees only the frame: it checks sizes (here), rights and rates,
 * numbers each update (seq, per doc, gap-free), stores it, and only then
 * relays it as a 201 to the doc's other connections and answers the sender
 * with a receipt carrying that seq. What the ciphertext holds (a Yjs update,
 * or a whole state as a compaction) is the delegation's browsers' business.
 *
 * No Node-only API here: the browser's provider imports this file as it is.
 * The cipher itself (AES-256-GCM through WebCrypto) is shared/sealedCrypto.ts.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CloseCode, MAX_MESSAGE_BYTES, MessageType } from './protocol'

/** First varUint of a sealed doc's messages (beside MessageType.saveReceipt, 100). */
export const SealedMessageType = {
  /** client → server: one sealed update `{nonce, ciphertext}` */
  update: 200,
  /** server → client: a stored sealed update `{seq, nonce, ciphertext}` */
  relay: 201,
  /** client → server: "send me every stored update after `afterSeq`" */
  catchUp: 202,
  /** server → client: the end of a catch-up, `{headSeq}` */
  head: 203,
} as const
export type SealedMessageType = (typeof SealedMessageType)[keyof typeof SealedMessageType]

/** AES-GCM's nonce: exactly this many bytes, fresh and random for every message. */
export const SEALED_NONCE_BYTES = 12
/** The delegation key: 32 random bytes (AES-256), base64url in invite links' fragment. */
export const SEALED_KEY_BYTES = 32
/** AES-GCM's authentication tag: a ciphertext is at least this long (the tag of an empty plaintext). */
export const SEALED_TAG_BYTES = 16
/**
 * The largest ciphertext a 200 may carry: the whole message (type, nonce, length prefixes) and the
 * 201 the server makes of it (a seq more) stay under MAX_MESSAGE_BYTES. Over it: close 4413. A
 * compaction bigger than this cannot be sealed in one message; the client keeps its updates instead.
 */
export const SEALED_MAX_CIPHERTEXT_BYTES = MAX_MESSAGE_BYTES - 64

/** True for the message types of a sealed doc's own (200–203). */
export const isSealedMessageType = (type: number): boolean => type >= SealedMessageType.update && type <= SealedMessageType.head

/** A frame the server refuses, with the close code it refuses it with (4400 malformed, 4413 too large). */
export class SealedFrameError extends Error {
  constructor(
    readonly code: typeof CloseCode.malformed | typeof CloseCode.tooLarge,
    message: string,
  ) {
    super(message)
    this.name = 'SealedFrameError'
  }
}

export type SealedClientMessage =
  { type: 'update'; nonce: Uint8Array; ciphertext: Uint8Array } | { type: 'catch-up'; afterSeq: number }

export type SealedServerMessage =
  | { type: 'relay'; seq: number; nonce: Uint8Array; ciphertext: Uint8Array }
  | { type: 'head'; headSeq: number }
  /** the sender's own update is stored as `seq` */
  | { type: 'receipt'; seq: number }

// ── encoding ──────────────────────────────────────────────────────────────

function encodeWith(fn: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  fn(e)
  return encoding.toUint8Array(e)
}

/** What the server would refuse, refused before it is sent: a client's own mistake, not the server's. */
function checkSizes(nonce: Uint8Array, ciphertext: Uint8Array): void {
  if (nonce.byteLength !== SEALED_NONCE_BYTES) throw new RangeError(`a sealed nonce is ${SEALED_NONCE_BYTES} bytes`)
  if (ciphertext.byteLength < SEALED_TAG_BYTES || ciphertext.byteLength > SEALED_MAX_CIPHERTEXT_BYTES)
    throw new RangeError(`a sealed ciphertext is ${SEALED_TAG_BYTES} to ${SEALED_MAX_CIPHERTEXT_BYTES} bytes`)
}

/** 200: one sealed update, client → server. */
export const encodeSealedUpdate = (nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array => {
  checkSizes(nonce, ciphertext)
  return encodeWith((e) => {
    encoding.writeVarUint(e, SealedMessageType.update)
    encoding.writeVarUint8Array(e, nonce)
    encoding.writeVarUint8Array(e, ciphertext)
  })
}

/** 201: a stored sealed update, server → client. */
export const encodeSealedRelay = (seq: number, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array =>
  encodeWith((e) => {
    encoding.writeVarUint(e, SealedMessageType.relay)
    encoding.writeVarUint(e, seq)
    encoding.writeVarUint8Array(e, nonce)
    encoding.writeVarUint8Array(e, ciphertext)
  })

/** 202: ask for every stored update after `afterSeq` (0: all of them). */
export const encodeSealedCatchUp = (afterSeq: number): Uint8Array =>
  encodeWith((e) => {
    encoding.writeVarUint(e, SealedMessageType.catchUp)
    encoding.writeVarUint(e, afterSeq)
  })

/** 203: the end of a catch-up; `headSeq` the doc's last seq. */
export const encodeSealedHead = (headSeq: number): Uint8Array =>
  encodeWith((e) => {
    encoding.writeVarUint(e, SealedMessageType.head)
    encoding.writeVarUint(e, headSeq)
  })

// ── decoding ──────────────────────────────────────────────────────────────

/**
 * A client's message on a sealed doc, checked as the server checks it: a 200's nonce is exactly
 * SEALED_NONCE_BYTES and its ciphertext SEALED_TAG_BYTES to SEALED_MAX_CIPHERTEXT_BYTES (over:
 * 4413); anything else — a Yjs sync or awareness message, a server-to-client type, an unknown
 * type, a truncated or over-long field, trailing bytes — is a SealedFrameError with 4400.
 */
export function decodeSealedClientMessage(data: Uint8Array): SealedClientMessage {
  try {
    const d = decoding.createDecoder(data)
    const type = decoding.readVarUint(d)
    let msg: SealedClientMessage
    switch (type) {
      case SealedMessageType.update: {
        const nonce = decoding.readVarUint8Array(d)
        if (nonce.byteLength !== SEALED_NONCE_BYTES)
          throw new SealedFrameError(CloseCode.malformed, `sealed nonce of ${nonce.byteLength} bytes, not ${SEALED_NONCE_BYTES}`)
        const length = decoding.readVarUint(d)
        if (length > SEALED_MAX_CIPHERTEXT_BYTES)
          throw new SealedFrameError(CloseCode.tooLarge, `sealed ciphertext over ${SEALED_MAX_CIPHERTEXT_BYTES} bytes`)
        if (length < SEALED_TAG_BYTES)
          throw new SealedFrameError(CloseCode.malformed, `sealed ciphertext shorter than its ${SEALED_TAG_BYTES}-byte tag`)
        msg = { type: 'update', nonce, ciphertext: decoding.readUint8Array(d, length) }
        break
      }
      case SealedMessageType.catchUp:
        msg = { type: 'catch-up', afterSeq: decoding.readVarUint(d) }
        break
      case MessageType.sync:
      case MessageType.awareness:
      case MessageType.auth:
      case MessageType.queryAwareness:
        throw new SealedFrameError(CloseCode.malformed, `Yjs message type ${type} on a sealed doc`)
      case SealedMessageType.relay:
      case SealedMessageType.head:
      case MessageType.saveReceipt:
        throw new SealedFrameError(CloseCode.malformed, `message type ${type} goes from server to client only`)
      default:
        throw new SealedFrameError(CloseCode.malformed, `unknown message type ${type} on a sealed doc`)
    }
    if (decoding.hasContent(d)) throw new SealedFrameError(CloseCode.malformed, 'trailing bytes after a sealed message')
    return msg
  } catch (err) {
    if (err instanceof SealedFrameError) throw err
    throw new SealedFrameError(CloseCode.malformed, `undecodable sealed message: ${(err as Error).message}`)
  }
}

/** A server's message on a sealed doc (201, 203, or the 100 receipt); throws on anything else. */
export function decodeSealedServerMessage(data: Uint8Array): SealedServerMessage {
  const d = decoding.createDecoder(data)
  const type = decoding.readVarUint(d)
  let msg: SealedServerMessage
  switch (type) {
    case SealedMessageType.relay:
      msg = {
        type: 'relay',
        seq: decoding.readVarUint(d),
        nonce: decoding.readVarUint8Array(d),
        ciphertext: decoding.readVarUint8Array(d),
      }
      break
    case SealedMessageType.head:
      msg = { type: 'head', headSeq: decoding.readVarUint(d) }
      break
    case MessageType.saveReceipt:
      msg = { type: 'receipt', seq: decoding.readVarUint(d) }
      break
    default:
      throw new Error(`unexpected message type ${type} on a sealed doc`)
  }
  if (decoding.hasContent(d)) throw new Error('trailing bytes after a sealed message')
  return msg
}
