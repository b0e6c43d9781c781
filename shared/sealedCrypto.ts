/**
 * The sealed caucus's cipher (CONTRACT.md "Sealed caucus"): AES-256-GCM
 * through WebCrypto (`globalThis.crypto.subtle`, in browsers and in Node 20
 * alike), a fresh random 12-byte nonce per message, the doc name as
 * additional data — so a ciphertext moved to another doc (another
 * delegation's, another negotiation's) fails to open. The key is 32 random
 * bytes, carried as base64url in invite links' fragment.
 *
 * The browser and the tests use this; the server never does (it has no key).
 */
import { SEALED_KEY_BYTES, SEALED_NONCE_BYTES } from './sealed'

const ALGORITHM = 'AES-GCM'
const TAG_BITS = 128

const subtle = (): SubtleCrypto => {
  const s = globalThis.crypto?.subtle
  if (!s) throw new Error('WebCrypto is not available (a sealed caucus needs a secure context: https or localhost)')
  return s
}

/** WebCrypto's AES is here: browsers give it to secure contexts only (https, or localhost). */
export const sealedCryptoAvailable = (): boolean => globalThis.crypto?.subtle !== undefined

/** Copied into a buffer of its own: WebCrypto takes no views of shared or resizable memory. */
const own = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes)

/** 32 fresh random bytes: a new delegation key. */
export function newSealedKeyBytes(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SEALED_KEY_BYTES))
}

/** The key's bytes as a non-extractable AES-GCM key (encrypt and decrypt). */
export function importSealedKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.byteLength !== SEALED_KEY_BYTES) throw new RangeError(`a sealed caucus key is ${SEALED_KEY_BYTES} bytes`)
  return subtle().importKey('raw', own(raw), { name: ALGORITHM }, false, ['encrypt', 'decrypt'])
}

/** Encrypts `plaintext` (a Yjs update, or a whole state) for the doc `docName`. */
export async function sealBytes(
  key: CryptoKey,
  docName: string,
  plaintext: Uint8Array,
): Promise<{ nonce: Uint8Array; ciphertext: Uint8Array }> {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(SEALED_NONCE_BYTES))
  const sealed = await subtle().encrypt(
    { name: ALGORITHM, iv: nonce, additionalData: new TextEncoder().encode(docName), tagLength: TAG_BITS },
    key,
    own(plaintext),
  )
  return { nonce, ciphertext: new Uint8Array(sealed) }
}

/**
 * Decrypts a sealed update of `docName`. Rejects (a DOMException `OperationError`) when the
 * ciphertext, the nonce or the doc name was altered, or the key is another: never apply it then.
 */
export async function openSealed(
  key: CryptoKey,
  docName: string,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const plain = await subtle().decrypt(
    { name: ALGORITHM, iv: own(nonce), additionalData: new TextEncoder().encode(docName), tagLength: TAG_BITS },
    key,
    own(ciphertext),
  )
  return new Uint8Array(plain)
}

/** The key as invite links carry it: base64url, no padding (43 characters). */
export function encodeSealedKey(raw: Uint8Array): string {
  let bin = ''
  for (const b of raw) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A key from its base64url text; null when it is not 32 bytes of base64url. */
export function decodeSealedKey(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{43}=?$/.test(text)) return null
  try {
    const bin = atob(text.replace(/=$/, '').replace(/-/g, '+').replace(/_/g, '/') + '=')
    const raw = Uint8Array.from(bin, (c) => c.charCodeAt(0))
    return raw.byteLength === SEALED_KEY_BYTES ? raw : null
  } catch {
    return null
  }
}
