/**
 * The sealed caucus's frames and cipher (shared/sealed.ts, shared/sealedCrypto.ts):
 * what the server refuses and with which code, and that a ciphertext opens only
 * with its key, its nonce and its doc name (CONTRACT.md "Sealed caucus").
 */
import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import { CloseCode, MessageType } from '../../shared/protocol'
import {
  decodeSealedClientMessage,
  decodeSealedServerMessage,
  encodeSealedCatchUp,
  encodeSealedHead,
  encodeSealedRelay,
  encodeSealedUpdate,
  SEALED_MAX_CIPHERTEXT_BYTES,
  SEALED_NONCE_BYTES,
  SEALED_TAG_BYTES,
  SealedFrameError,
  SealedMessageType,
} from '../../shared/sealed'
import {
  decodeSealedKey,
  encodeSealedKey,
  importSealedKey,
  newSealedKeyBytes,
  openSealed,
  sealBytes,
} from '../../shared/sealedCrypto'
import { parseDocName, sealedDocName } from '../../shared/docNames'
import { docAccess } from '../../shared/roles'
import { MAX_MESSAGE_BYTES } from '../../shared/protocol'

const frame = (fn: (e: encoding.Encoder) => void) => {
  const e = encoding.createEncoder()
  fn(e)
  return encoding.toUint8Array(e)
}
const update = (nonceBytes: number, ciphertextBytes: number) =>
  frame((e) => {
    encoding.writeVarUint(e, SealedMessageType.update)
    encoding.writeVarUint8Array(e, new Uint8Array(nonceBytes))
    encoding.writeVarUint8Array(e, new Uint8Array(ciphertextBytes))
  })
const refusal = (bytes: Uint8Array): number | 'accepted' => {
  try {
    decodeSealedClientMessage(bytes)
    return 'accepted'
  } catch (err) {
    expect(err).toBeInstanceOf(SealedFrameError)
    return (err as SealedFrameError).code
  }
}

describe('[SK10] sealed frames', () => {
  it('200 and 202 round-trip; 201, 203 and the receipt decode on the client side', () => {
    const nonce = new Uint8Array(SEALED_NONCE_BYTES).fill(7)
    const ciphertext = new Uint8Array(40).fill(9)
    expect(decodeSealedClientMessage(encodeSealedUpdate(nonce, ciphertext))).toEqual({ type: 'update', nonce, ciphertext })
    expect(decodeSealedClientMessage(encodeSealedCatchUp(12345))).toEqual({ type: 'catch-up', afterSeq: 12345 })
    expect(decodeSealedServerMessage(encodeSealedRelay(3, nonce, ciphertext))).toEqual({
      type: 'relay',
      seq: 3,
      nonce,
      ciphertext,
    })
    expect(decodeSealedServerMessage(encodeSealedHead(99))).toEqual({ type: 'head', headSeq: 99 })
    const receipt = frame((e) => {
      encoding.writeVarUint(e, MessageType.saveReceipt)
      encoding.writeVarUint(e, 4)
    })
    expect(decodeSealedServerMessage(receipt)).toEqual({ type: 'receipt', seq: 4 })
    // the wire as CONTRACT.md writes it: varUint type, then the fields in order
    expect([...encodeSealedCatchUp(5)]).toEqual([0xca, 0x01, 5])
    expect([...encodeSealedHead(5)]).toEqual([0xcb, 0x01, 5])
  })

  it('the largest ciphertext still fits one message, as a 200 and as the 201 made of it', () => {
    const nonce = new Uint8Array(SEALED_NONCE_BYTES)
    const ciphertext = new Uint8Array(SEALED_MAX_CIPHERTEXT_BYTES)
    expect(encodeSealedUpdate(nonce, ciphertext).byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
    expect(encodeSealedRelay(2 ** 52, nonce, ciphertext).byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
    expect(refusal(update(SEALED_NONCE_BYTES, SEALED_MAX_CIPHERTEXT_BYTES))).toBe('accepted')
  })

  it('refused with 4400: a nonce of another size, a ciphertext shorter than its tag, Yjs and server-to-client types, bad fields', () => {
    expect(refusal(update(11, 40))).toBe(CloseCode.malformed)
    expect(refusal(update(13, 40))).toBe(CloseCode.malformed)
    expect(refusal(update(0, 40))).toBe(CloseCode.malformed)
    expect(refusal(update(SEALED_NONCE_BYTES, SEALED_TAG_BYTES - 1))).toBe(CloseCode.malformed)
    expect(refusal(update(SEALED_NONCE_BYTES, SEALED_TAG_BYTES))).toBe('accepted')
    for (const type of [MessageType.sync, MessageType.awareness, MessageType.auth, MessageType.queryAwareness])
      expect(refusal(frame((e) => (encoding.writeVarUint(e, type), encoding.writeVarUint(e, 0))))).toBe(CloseCode.malformed)
    expect(refusal(encodeSealedRelay(1, new Uint8Array(12), new Uint8Array(20)))).toBe(CloseCode.malformed)
    expect(refusal(encodeSealedHead(1))).toBe(CloseCode.malformed)
    expect(refusal(frame((e) => (encoding.writeVarUint(e, MessageType.saveReceipt), encoding.writeVarUint(e, 1))))).toBe(
      CloseCode.malformed,
    )
    expect(refusal(frame((e) => encoding.writeVarUint(e, 204)))).toBe(CloseCode.malformed)
    expect(refusal(new Uint8Array())).toBe(CloseCode.malformed)
    // truncated: a ciphertext length past the end
    expect(refusal(update(SEALED_NONCE_BYTES, 40).subarray(0, 30))).toBe(CloseCode.malformed)
    // trailing bytes after a 200 and after a 202
    expect(refusal(new Uint8Array([...update(SEALED_NONCE_BYTES, 40), 0]))).toBe(CloseCode.malformed)
    expect(refusal(new Uint8Array([...encodeSealedCatchUp(1), 0]))).toBe(CloseCode.malformed)
    // a seq past 2^53
    expect(refusal(new Uint8Array([0xca, 0x01, ...Array(9).fill(0xff), 0x01]))).toBe(CloseCode.malformed)
  })

  it('refused with 4413: a ciphertext over the limit, told from its length before its bytes are read', () => {
    expect(refusal(update(SEALED_NONCE_BYTES, SEALED_MAX_CIPHERTEXT_BYTES + 1))).toBe(CloseCode.tooLarge)
    // only the length prefix, no bytes: still 4413, not "truncated"
    const claim = frame((e) => {
      encoding.writeVarUint(e, SealedMessageType.update)
      encoding.writeVarUint8Array(e, new Uint8Array(SEALED_NONCE_BYTES))
      encoding.writeVarUint(e, 50 * 1024 * 1024)
    })
    expect(refusal(claim)).toBe(CloseCode.tooLarge)
  })

  it('a client cannot build what the server would refuse', () => {
    expect(() => encodeSealedUpdate(new Uint8Array(11), new Uint8Array(20))).toThrow(RangeError)
    expect(() => encodeSealedUpdate(new Uint8Array(12), new Uint8Array(SEALED_MAX_CIPHERTEXT_BYTES + 1))).toThrow(RangeError)
  })

  it('`<id>/sealed/<party>` parses, and has its delegation caucus rights exactly', () => {
    expect(parseDocName(sealedDocName('n1', 'us'))).toEqual({ negotiationId: 'n1', kind: 'sealed', party: 'us' })
    expect(parseDocName('n1/sealed')).toBeNull()
    expect(parseDocName('n1/sealed/US')).toBeNull()
    const grants = [
      { negotiationId: 'n1', role: 'negotiator' as const, party: 'us' },
      { negotiationId: 'n1', role: 'negotiator' as const, party: 'ru' },
      { negotiationId: 'n1', role: 'observer' as const },
      { negotiationId: 'n1', role: 'reviewer' as const },
      { negotiationId: 'n2', role: 'negotiator' as const, party: 'us' },
    ]
    for (const g of grants) expect(docAccess(g, 'n1/sealed/us')).toBe(docAccess(g, 'n1/caucus/us'))
    expect(grants.map((g) => docAccess(g, 'n1/sealed/us'))).toEqual(['write', 'none', 'none', 'none', 'none'])
  })
})

describe('[SK11] the sealed cipher (AES-256-GCM, the doc name as additional data)', () => {
  const doc = 'n1/sealed/us'

  it('opens with its key and doc name; a fresh nonce every time', async () => {
    const key = await importSealedKey(newSealedKeyBytes())
    const plain = new TextEncoder().encode('red line: 45 days')
    const a = await sealBytes(key, doc, plain)
    const b = await sealBytes(key, doc, plain)
    expect(a.nonce.byteLength).toBe(SEALED_NONCE_BYTES)
    expect(a.ciphertext.byteLength).toBe(plain.byteLength + SEALED_TAG_BYTES)
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false)
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false)
    expect(await openSealed(key, doc, a.nonce, a.ciphertext)).toEqual(plain)
  })

  it('refuses a tampered ciphertext or nonce, another doc name, another key', async () => {
    const raw = newSealedKeyBytes()
    const key = await importSealedKey(raw)
    const { nonce, ciphertext } = await sealBytes(key, doc, new TextEncoder().encode('fallback: 60 days'))
    const flipped = new Uint8Array(ciphertext)
    flipped[0]! ^= 1
    await expect(openSealed(key, doc, nonce, flipped)).rejects.toThrow()
    const otherNonce = new Uint8Array(nonce)
    otherNonce[11]! ^= 1
    await expect(openSealed(key, doc, otherNonce, ciphertext)).rejects.toThrow()
    await expect(openSealed(key, 'n1/sealed/ru', nonce, ciphertext)).rejects.toThrow()
    await expect(openSealed(await importSealedKey(newSealedKeyBytes()), doc, nonce, ciphertext)).rejects.toThrow()
  })

  it('the key as links carry it: base64url of 32 bytes, read back; anything else is no key', () => {
    const raw = newSealedKeyBytes()
    const text = encodeSealedKey(raw)
    expect(text).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(decodeSealedKey(text)).toEqual(raw)
    expect(decodeSealedKey(text.slice(1))).toBeNull()
    expect(decodeSealedKey(`${text}A`)).toBeNull()
    expect(decodeSealedKey('not a key at all, not a key at all, not a k')).toBeNull()
  })
})
