/**
 * The Ed25519 key that signs concluded negotiations' records
 * (CONTRACT.md "Signed record"). Given by PARLEY_SIGNING_KEY (through
 * config.ts), or generated once and kept in the data dir as PKCS#8 PEM
 * (mode 0600), as the token secret is (auth/secrets.ts): restarts keep
 * signing with the same key, so a record checked against a saved
 * `GET /api/keys` answer still checks later. Instances of a cluster each have
 * their own data dir: they must be given the same PARLEY_SIGNING_KEY.
 *
 * PARLEY_SIGNING_KEY is either a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
 * newlines as they are or written `\n`) or the base64url of the private JWK's
 * JSON (`{"kty":"OKP","crv":"Ed25519","d":…,"x":…}`).
 *
 * The key's id is the RFC 7638 thumbprint of its public JWK, so anyone can
 * recompute it from the key and no registry of names is needed.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { jwkThumbprint, RECORD_ALG, toBase64url, type PublicJwk, type RecordKey } from '../../shared/record'

/** The key's file in the data dir, when Parley generated it. */
export const SIGNING_KEY_FILE = 'signing-key.pem'

export interface SigningKey {
  kid: string
  /** where the key came from, for messages (`PARLEY_SIGNING_KEY` or the file's path) */
  source: string
  publicJwk: PublicJwk
  /** what `GET /api/keys` lists for it */
  entry: RecordKey
  /** Ed25519 signature of `data`, base64url */
  sign(data: Uint8Array): string
}

/** The signing key: from `envValue` when given, else the data dir's, generated there on first use. */
export function loadSigningKey(dataDir: string, envValue: string | undefined): SigningKey {
  if (envValue !== undefined) return keyFrom(parseKey(envValue, 'PARLEY_SIGNING_KEY'), 'PARLEY_SIGNING_KEY')
  const path = join(dataDir, SIGNING_KEY_FILE)
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true })
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    try {
      writeFileSync(path, pem, { mode: 0o600, flag: 'wx' })
    } catch (err) {
      // Another process starting on the same data dir wrote it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  return keyFrom(parseKey(readFileSync(path, 'utf8'), path), path)
}

/**
 * The signing key if one is configured or kept, without generating one (for `npm run verify`,
 * which must leave the data dir as it found it); null when there is none.
 */
export function existingSigningKey(dataDir: string, envValue: string | undefined): SigningKey | null {
  if (envValue !== undefined) return keyFrom(parseKey(envValue, 'PARLEY_SIGNING_KEY'), 'PARLEY_SIGNING_KEY')
  const path = join(dataDir, SIGNING_KEY_FILE)
  return existsSync(path) ? keyFrom(parseKey(readFileSync(path, 'utf8'), path), path) : null
}

function parseKey(text: string, source: string): KeyObject {
  const bad = (why: string) =>
    new Error(`${source}: not an Ed25519 private key (${why}); give a PKCS#8 PEM or the base64url of a private JWK`)
  let key: KeyObject
  const trimmed = text.trim()
  try {
    if (trimmed.startsWith('-----BEGIN')) key = createPrivateKey({ key: trimmed.replace(/\\n/g, '\n'), format: 'pem' })
    else {
      const jwk = JSON.parse(Buffer.from(trimmed, 'base64url').toString('utf8')) as Record<string, unknown>
      key = createPrivateKey({ key: jwk as never, format: 'jwk' })
    }
  } catch (err) {
    throw bad((err as Error).message)
  }
  if (key.asymmetricKeyType !== 'ed25519') throw bad(`it is ${key.asymmetricKeyType ?? 'not asymmetric'}`)
  return key
}

function keyFrom(privateKey: KeyObject, source: string): SigningKey {
  const { x } = createPublicKey(privateKey).export({ format: 'jwk' })
  const publicJwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: x! }
  const kid = jwkThumbprint(publicJwk)
  return {
    kid,
    source,
    publicJwk,
    entry: { kid, alg: RECORD_ALG, jwk: { ...publicJwk, kid, alg: RECORD_ALG, use: 'sig' } },
    sign: (data) => toBase64url(sign(null, data, privateKey)),
  }
}

/** Ed25519 verification with node:crypto (shared/record.ts VerifyEd25519). */
export function verifyEd25519(data: Uint8Array, signature: Uint8Array, jwk: PublicJwk): boolean {
  try {
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' })
    return verify(null, data, key, signature)
  } catch {
    return false
  }
}
