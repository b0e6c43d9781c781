/**
 * The negotiations themselves: creating one (its parties, the seeded ledger
 * and board, and every invite), reading them (cached briefly, so admitting a
 * connection does not ask the store each time), deleting them.
 */
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { insertTerm, writeMeta } from '../../shared/docLayout'
import { openingLayout } from '../../shared/boardLayout'
import type { PartyInfo } from '../../shared/negotiation'
import { withPartyCodes } from '../../shared/partyCodes'
import type { CreateNegotiationInput, CreatedNegotiation } from '../../shared/schemas'
import type { Author, NegotiationRecord, Store } from '../store/types'
import type { RoomRegistry } from '../sync/roomRegistry'
import { badRequest } from '../errors'
import { assignParties, newNegotiationId, newTermId } from './ids'
import type { Invites } from './invites'

/**
 * A stored negotiation as everyone reads it: negotiations created before party codes existed get theirs
 * here, derived from the names (the same every time), so the store keeps what it was given.
 */
function withCodes<R extends NegotiationRecord | null>(record: R): R {
  if (!record) return record
  const parties = withPartyCodes(record.parties)
  return parties === record.parties ? record : { ...record, parties }
}

export const SERVER_AUTHOR: Author = { user: 'Parley', party: null, role: 'server', conn: 'server' }
const EXISTS_TTL_MS = 5000

export class Negotiations {
  private cache = new Map<string, { record: NegotiationRecord | null; at: number }>()
  private deletedListeners: Array<(id: string) => void> = []

  constructor(
    private readonly store: Store,
    private readonly registry: RoomRegistry,
    private readonly invites: () => Invites,
    private readonly now: () => number,
  ) {}

  async create(input: CreateNegotiationInput): Promise<CreatedNegotiation> {
    let parties: PartyInfo[]
    try {
      parties = assignParties(input.parties)
    } catch (err) {
      throw badRequest((err as Error).message)
    }
    const record: NegotiationRecord = { id: newNegotiationId(), title: input.title, parties, createdAt: this.now() }
    await this.store.createNegotiation(record)
    this.cache.set(record.id, { record, at: this.now() })

    const ledger = await this.registry.get(ledgerDocName(record.id))
    const writes: Array<Promise<number> | null> = [ledger.serverWrite(SERVER_AUTHOR, (doc) => writeMeta(doc, record))]
    if (input.terms?.length) {
      const board = await this.registry.get(boardDocName(record.id))
      // The ledger writer records each seeded term as proposed, by nobody (the negotiation's opening draft).
      writes.push(
        board.serverWrite(SERVER_AUTHOR, (doc) => openingLayout(input.terms!).forEach((t) => insertTerm(doc, newTermId(), t))),
      )
      this.registry.scheduleUnload(board)
    }
    await Promise.all(writes)
    this.registry.scheduleUnload(ledger)

    const tokens: CreatedNegotiation['tokens'] = { negotiator: {}, observer: '', reviewer: '' }
    const links: CreatedNegotiation['links'] = { negotiator: {}, observer: '', reviewer: '' }
    for (const p of parties) {
      const t = await this.invites().mintToken(record.id, { role: 'negotiator', party: p.id })
      tokens.negotiator[p.id] = t.token
      links.negotiator[p.id] = t.link
    }
    for (const role of ['observer', 'reviewer'] as const) {
      const t = await this.invites().mintToken(record.id, { role })
      tokens[role] = t.token
      links[role] = t.link
    }
    return { id: record.id, title: record.title, parties, createdAt: new Date(record.createdAt).toISOString(), tokens, links }
  }

  async get(id: string): Promise<NegotiationRecord | null> {
    const hit = this.cache.get(id)
    if (hit && this.now() - hit.at < EXISTS_TTL_MS) return hit.record
    let record: NegotiationRecord | null
    try {
      record = withCodes(await this.store.getNegotiation(id))
    } catch (err) {
      // The store is away: what we knew a moment ago still admits people to loaded docs.
      if (hit) return hit.record
      throw err
    }
    this.cache.set(id, { record, at: this.now() })
    return record
  }

  async list(): Promise<NegotiationRecord[]> {
    return (await this.store.listNegotiations()).map((r) => withCodes(r))
  }

  async exists(id: string): Promise<boolean> {
    return (await this.get(id)) !== null
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.store.deleteNegotiation(id)
    this.cache.set(id, { record: null, at: this.now() })
    if (deleted) for (const l of this.deletedListeners) l(id)
    return deleted
  }

  /** Drops what is cached about a negotiation (another instance deleted it). */
  forget(id: string): void {
    this.cache.set(id, { record: null, at: this.now() })
  }

  onDeleted(listener: (id: string) => void): void {
    this.deletedListeners.push(listener)
  }

  async partiesOf(negotiationId: string): Promise<PartyInfo[]> {
    return (await this.get(negotiationId))?.parties ?? []
  }
}
