/**
 * `npm run verify -- --record <file>`: a saved signed record checked on its own (shape, key,
 * signature, term and package hashes, initials: shared/record.ts checkRecord) and, when the
 * store that holds the negotiation is at hand, against it: the board's and the ledger's chains
 * recompute from their first row and pass through the heads the record names.
 */
import { readFileSync } from 'node:fs'
import { checkRecord, readKeySet, type RecordCheck, type RecordKey } from '../../shared/record'
import { verifyThrough } from '../history/verify'
import type { Store } from '../store/types'
import { verifyEd25519 } from './signingKey'

/** Keys from a file or an http(s) URL: a saved `GET /api/keys` answer, a JWK Set, or one JWK. */
export async function readKeys(where: string): Promise<RecordKey[]> {
  let text: string
  if (/^https?:\/\//i.test(where)) {
    const res = await fetch(where, { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`${where} answered ${res.status}`)
    text = await res.text()
  } else text = readFileSync(where, 'utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error(`${where} is not JSON`)
  }
  return readKeySet(value)
}

/**
 * The store's side of a record: null store → one skipped check saying why. A negotiation the
 * store does not hold is skipped too (the record may come from another server).
 */
export async function checkChain(
  raw: { negotiationId: string; chain: { board: ChainHeadLike; ledger: ChainHeadLike } },
  store: Store | null,
  why?: string,
): Promise<RecordCheck[]> {
  if (!store) return [{ check: 'chain', ok: true, skipped: true, detail: why ?? 'no store at hand' }]
  if (!(await store.getNegotiation(raw.negotiationId)))
    return [{ check: 'chain', ok: true, skipped: true, detail: `negotiation ${raw.negotiationId} is not in this store` }]
  return (await verifyThrough(store, raw.negotiationId, raw.chain)).map((h) => {
    const head = raw.chain[h.doc]
    if (h.chain)
      return {
        check: `chain.${h.doc}`,
        ok: true,
        detail: `row ${head.seq} hashes to ${head.hash}; the ${h.doc}'s ${h.chain.rows} row(s) recompute to the store's head`,
      }
    const b = h.break!
    const check = `chain.${h.doc}`
    // The two ways a chain misses the record's head, said in the record's terms; any other break
    // is the store's own (a row changed behind the server's back), said as verify says it.
    if (b.seq === head.seq && b.expected === head.hash)
      return {
        check,
        ok: false,
        detail: `the store's ${h.doc} row ${head.seq} hashes to ${b.found}, not the record's ${head.hash}`,
      }
    if (b.seq > head.seq || /^the export saw/.test(b.problem))
      return { check, ok: false, detail: `the record names row ${head.seq}, the store's ${h.doc} has ${b.seq - 1} rows` }
    const diff = b.expected || b.found ? ` (expected ${b.expected ?? '?'}, found ${b.found ?? '?'})` : ''
    return { check, ok: false, detail: `the store's ${h.doc} chain is broken at row ${b.seq}: ${b.problem}${diff}` }
  })
}

interface ChainHeadLike {
  seq: number
  hash: string
}

/** Every check of a record: its own, then the store's (when `store` is given). */
export async function verifyRecord(
  raw: unknown,
  keys: readonly RecordKey[],
  store: Store | null,
  noStoreWhy?: string,
): Promise<RecordCheck[]> {
  const checks = await checkRecord(raw, keys, verifyEd25519)
  if (checks[0]?.check === 'format' && !checks[0].ok) return checks
  return [...checks, ...(await checkChain(raw as Parameters<typeof checkChain>[0], store, noStoreWhy))]
}
