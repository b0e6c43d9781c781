/**
 * Records on request: `GET …/record`, the PDF export, `GET /api/keys`. A record is rebuilt only
 * when its chain heads moved (after conclusion they never do), so asking again costs two head
 * lookups, not two replays of the logs.
 */
import type { KeySet, SignedRecord } from '../../shared/record'
import type { Store } from '../store/types'
import { buildRecord, headsOf, type RecordHeads } from './buildRecord'
import type { SigningKey } from './signingKey'

/** Records kept; the least recently built goes first. */
const CACHED = 64

export class RecordService {
  private cache = new Map<string, { heads: RecordHeads; record: SignedRecord }>()

  constructor(
    private readonly store: Store,
    private readonly key: SigningKey,
  ) {}

  /** `GET /api/keys`. */
  keys(): KeySet {
    return { keys: [this.key.entry] }
  }

  /** The signed record; null when the negotiation is gone, 404 not-concluded before conclusion. */
  async record(negotiationId: string): Promise<SignedRecord | null> {
    const negotiation = await this.store.getNegotiation(negotiationId)
    if (!negotiation) return null
    const heads = await headsOf(this.store, negotiationId)
    const hit = this.cache.get(negotiationId)
    if (hit && sameHeads(hit.heads, heads)) return hit.record
    const record = await buildRecord(this.store, negotiation, heads, this.key)
    this.cache.delete(negotiationId)
    this.cache.set(negotiationId, { heads, record })
    if (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!)
    return record
  }
}

const sameHeads = (a: RecordHeads, b: RecordHeads) =>
  a.board.seq === b.board.seq && a.board.hash === b.board.hash && a.ledger.seq === b.ledger.seq && a.ledger.hash === b.ledger.hash
