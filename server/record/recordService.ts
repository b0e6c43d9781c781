/**
 * Records on request: `GET …/record`, the PDF export, `GET /api/keys`. A record is rebuilt only
 * when its chain heads moved (after conclusion they never do), so asking again costs two head
 * lookups, not two replays of the logs; its PDF is drawn once too (a few hundred milliseconds of
 * font work, which need not be paid again).
 */
import type { KeySet, SignedRecord } from '../../shared/record'
import type { Store } from '../store/types'
import { buildRecord, headsOf, type RecordHeads } from './buildRecord'
import type { SigningKey } from './signingKey'

interface Entry {
  heads: RecordHeads
  record: SignedRecord
  /** drawn on the first ask */
  pdf?: Promise<Buffer>
}

/** Records (and their PDFs, once asked for) kept; the least recently built goes first. */
const CACHED = 32

export class RecordService {
  private cache = new Map<string, Entry>()

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
    return (await this.entry(negotiationId))?.record ?? null
  }

  /** The record's PDF (`export?format=pdf`); null when the negotiation is gone, 404 not-concluded before conclusion. */
  async pdf(negotiationId: string): Promise<{ record: SignedRecord; bytes: Buffer } | null> {
    const entry = await this.entry(negotiationId)
    if (!entry) return null
    if (!entry.pdf) {
      // pdfkit and the fonts load on the first PDF asked for, not with every server start.
      const pdf = import('./recordPdf').then(({ renderRecordPdf }) => renderRecordPdf(entry.record))
      entry.pdf = pdf
      // A failed drawing is not kept: the next ask tries again.
      pdf.catch(() => entry.pdf === pdf && delete entry.pdf)
    }
    return { record: entry.record, bytes: await entry.pdf }
  }

  private async entry(negotiationId: string): Promise<Entry | null> {
    const negotiation = await this.store.getNegotiation(negotiationId)
    if (!negotiation) return null
    const heads = await headsOf(this.store, negotiationId)
    const hit = this.cache.get(negotiationId)
    if (hit && sameHeads(hit.heads, heads)) return hit
    const entry: Entry = { heads, record: await buildRecord(this.store, negotiation, heads, this.key) }
    this.cache.delete(negotiationId)
    this.cache.set(negotiationId, entry)
    if (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!)
    return entry
  }
}

const sameHeads = (a: RecordHeads, b: RecordHeads) =>
  a.board.seq === b.board.seq && a.board.hash === b.board.hash && a.ledger.seq === b.ledger.seq && a.ledger.hash === b.ledger.hash
