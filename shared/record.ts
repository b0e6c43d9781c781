/**
 * The signed record of a concluded negotiation (CONTRACT.md "Concluding a
 * negotiation", "Signed record"): what `GET /api/negotiations/:id/record`
 * answers, what `npm run verify -- --record <file>` reads back, and the pure
 * checks both sides agree on.
 *
 * The signature is Ed25519 over the canonical JSON of the record without its
 * `signature` field: keys sorted recursively by UTF-16 code units, no
 * whitespace, strings and numbers as JSON.stringify writes them (for the
 * strings and integers a record holds, that is RFC 8785). It is computed over
 * the record as read, unknown fields included, so a field added after signing
 * breaks it.
 *
 * No node: imports: the Ed25519 check itself is passed in (node:crypto in the
 * CLI and the server, WebCrypto where a browser has Ed25519), so this module
 * runs anywhere.
 */
import { z } from 'zod'
import { digest } from 'lib0/hash/sha256'
import { fromBase64UrlEncoded, toBase64UrlEncoded } from 'lib0/buffer'
import { packageHashOfAgreed } from './conclusion'
import { termHash } from './negotiation'

/** The record's signature algorithm (JOSE name). */
export const RECORD_ALG = 'EdDSA'

/** An Ed25519 public key as a JWK (RFC 8037); `kid`, `alg`, `use` may ride along. */
export interface PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  kid?: string
  alg?: string
  use?: string
}

/** One entry of `GET /api/keys`. */
export interface RecordKey {
  kid: string
  alg: typeof RECORD_ALG
  jwk: PublicJwk
}

/** `GET /api/keys`. */
export interface KeySet {
  keys: RecordKey[]
}

export interface RecordTerm {
  id: string
  title: string
  body: string
  /** SHA-256 hex of `title + "\n" + body` (termHash): the hash every party accepted */
  hash: string
}

export interface RecordInitial {
  party: string
  user: string
  /** ISO 8601 */
  at: string
}

export interface ChainPoint {
  seq: number
  hash: string
}

/** `GET /api/negotiations/:id/record`. */
export interface SignedRecord {
  negotiationId: string
  title: string
  parties: Array<{ id: string; name: string }>
  /** SHA-256 hex of the terms' hashes in order, one per line */
  packageHash: string
  /** the package's agreed terms, in board order */
  terms: RecordTerm[]
  /** one per party, in the negotiation's party order */
  initials: RecordInitial[]
  /** the store's chain heads of the board and the ledger (fixed once concluded) */
  chain: { board: ChainPoint; ledger: ChainPoint }
  /** ISO 8601 */
  concludedAt: string
  /** RFC 7638 thumbprint of the signing key's public JWK */
  kid: string
  /** Ed25519, base64url, over canonicalJson of every other field */
  signature: string
}

export type UnsignedRecord = Omit<SignedRecord, 'signature'>

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest')
const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url')
const iso = z.iso.datetime({ offset: true })
const chainPoint = z.object({ seq: z.number().int().min(0), hash: hex64 })

/** A record as read from a file or an answer: the shape only (the checks below say whether it holds). */
export const SignedRecordSchema = z.object({
  negotiationId: z.string().min(1),
  title: z.string(),
  parties: z.array(z.object({ id: z.string().min(1), name: z.string() })).min(1),
  packageHash: hex64,
  terms: z.array(z.object({ id: z.string().min(1), title: z.string(), body: z.string(), hash: hex64 })),
  initials: z.array(z.object({ party: z.string().min(1), user: z.string(), at: iso })),
  chain: z.object({ board: chainPoint, ledger: chainPoint }),
  concludedAt: iso,
  kid: b64url,
  signature: b64url,
})

export const PublicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: b64url,
  kid: z.string().optional(),
  alg: z.string().optional(),
  use: z.string().optional(),
})

/**
 * Keys to check a record against: a saved `GET /api/keys` answer (`{keys:[{kid, alg, jwk}]}`),
 * a plain JWK Set (`{keys:[jwk]}`), or one public JWK. Each key's kid is its thumbprint,
 * whatever the file calls it (a mislabelled key is no key for that kid).
 */
export function readKeySet(value: unknown): RecordKey[] {
  const entries = value && typeof value === 'object' && 'keys' in value ? (value as { keys: unknown }).keys : [value]
  if (!Array.isArray(entries)) throw new Error('"keys" is not a list')
  return entries.map((e, i) => {
    const jwk = e && typeof e === 'object' && 'jwk' in e ? (e as { jwk: unknown }).jwk : e
    const parsed = PublicJwkSchema.safeParse(jwk)
    if (!parsed.success) throw new Error(`key ${i} is not an Ed25519 public JWK (kty OKP, crv Ed25519, x)`)
    const { kty, crv, x } = parsed.data
    return { kid: jwkThumbprint(parsed.data), alg: RECORD_ALG, jwk: { kty, crv, x } }
  })
}

// ── canonical JSON and encodings ─────────────────────────────────────────

/** JSON with object keys sorted recursively and no whitespace (see the module comment). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonical JSON has no NaN or Infinity')
    const s = JSON.stringify(value)
    if (s === undefined) throw new Error(`canonical JSON cannot hold a ${typeof value}`)
    return s
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

const utf8 = new TextEncoder()

/** The bytes the signature is over: the canonical JSON of the record without `signature`. */
export function signedBytes(record: object): Uint8Array {
  const rest: Record<string, unknown> = { ...(record as Record<string, unknown>) }
  delete rest.signature
  return utf8.encode(canonicalJson(rest))
}

/** base64url without padding (RFC 4648 §5). */
export const toBase64url = (bytes: Uint8Array): string => toBase64UrlEncoded(bytes)

/** base64url (no padding) to bytes; null when it is not base64url. */
export function fromBase64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null
  return fromBase64UrlEncoded(s)
}

/** RFC 7638 thumbprint of an Ed25519 public JWK: base64url SHA-256 of `{"crv","kty","x"}` in that order. */
export function jwkThumbprint(jwk: Pick<PublicJwk, 'crv' | 'kty' | 'x'>): string {
  return toBase64url(digest(utf8.encode(canonicalJson({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))))
}

// ── the checks ───────────────────────────────────────────────────────────

/** One check of a record: `check` names the field it is about (`signature`, `terms[2].hash`, …). */
export interface RecordCheck {
  check: string
  ok: boolean
  detail: string
  /** not made (e.g. no store at hand): neither a pass nor a failure */
  skipped?: boolean
}

/** Ed25519 verification of `signature` over `data` with `jwk`; false (not a throw) when it does not hold. */
export type VerifyEd25519 = (data: Uint8Array, signature: Uint8Array, jwk: PublicJwk) => boolean | Promise<boolean>

/**
 * Every check a record must pass on its own (no store): its shape, that its kid names a known
 * key, its signature, each term's hash, the package hash, and that each party initialled once.
 * Returns them all, in that order (the shape alone when it fails: nothing else can be read).
 */
export async function checkRecord(raw: unknown, keys: readonly RecordKey[], verify: VerifyEd25519): Promise<RecordCheck[]> {
  const shape = SignedRecordSchema.safeParse(raw)
  if (!shape.success) {
    const issues = shape.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ')
    return [{ check: 'format', ok: false, detail: `not a Parley signed record (${issues})` }]
  }
  const r = shape.data
  const checks: RecordCheck[] = [
    { check: 'format', ok: true, detail: `the record of negotiation ${r.negotiationId} ${JSON.stringify(r.title)}` },
  ]

  const key = keys.find((k) => k.kid === r.kid && jwkThumbprint(k.jwk) === r.kid)
  checks.push(
    key
      ? { check: 'kid', ok: true, detail: `${r.kid} is a known key` }
      : {
          check: 'kid',
          ok: false,
          detail: `${r.kid} is none of the ${keys.length} known key(s): ${keys.map((k) => k.kid).join(', ') || 'none'}`,
        },
  )
  const signature = fromBase64url(r.signature)
  if (!key) checks.push({ check: 'signature', ok: false, detail: 'not checked: no key with the record’s kid' })
  else if (!signature || signature.length !== 64)
    checks.push({ check: 'signature', ok: false, detail: 'not an Ed25519 signature (64 bytes, base64url)' })
  else {
    const good = await verify(signedBytes(raw as object), signature, key.jwk)
    checks.push(
      good
        ? { check: 'signature', ok: true, detail: 'Ed25519 over the record’s canonical JSON holds' }
        : {
            check: 'signature',
            ok: false,
            detail: 'Ed25519 does not hold: the record was changed after signing, or signed by another key',
          },
    )
  }

  r.terms.forEach((t, i) => {
    const hash = termHash({ title: t.title, body: t.body })
    checks.push(
      hash === t.hash
        ? { check: `terms[${i}].hash`, ok: true, detail: `${JSON.stringify(t.title)} (${t.id})` }
        : {
            check: `terms[${i}].hash`,
            ok: false,
            detail: `${JSON.stringify(t.title)} (${t.id}): its title and body hash to ${hash}, not ${t.hash}`,
          },
    )
  })

  const pkg = r.terms.length > 0 ? packageHashOfAgreed(r.terms.map((t) => t.hash)) : null
  checks.push(
    pkg === r.packageHash
      ? { check: 'packageHash', ok: true, detail: `the ${r.terms.length} term hashes make ${pkg}` }
      : {
          check: 'packageHash',
          ok: false,
          detail: pkg ? `the term hashes make ${pkg}, not ${r.packageHash}` : 'the record lists no term',
        },
  )

  const partyIds = r.parties.map((p) => p.id)
  const initialled = r.initials.map((i) => i.party)
  const missing = partyIds.filter((p) => !initialled.includes(p))
  const extra = initialled.filter((p, i) => !partyIds.includes(p) || initialled.indexOf(p) !== i)
  checks.push(
    missing.length === 0 && extra.length === 0
      ? {
          check: 'initials',
          ok: true,
          detail: r.initials.map((i) => `${i.party} by ${JSON.stringify(i.user)} at ${i.at}`).join('; '),
        }
      : {
          check: 'initials',
          ok: false,
          detail: [
            missing.length ? `not initialled by ${missing.join(', ')}` : '',
            extra.length ? `initials of no party or twice: ${extra.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; '),
        },
  )
  return checks
}
