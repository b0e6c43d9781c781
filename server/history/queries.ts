/**
 * Read side of the history: the version list and the sheet as it stood
 * right after any version (board and ledger reconstructed at that version's
 * sequence numbers).
 */
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { allStatuses, notesOf, termsInOrder } from '../../shared/docLayout'
import type { Sheet, Version } from '../../shared/schemas'
import type { NegotiationRecord, Store } from '../store/types'
import { docAt } from './reconstruct'
import { toVersion, type VersionIndex } from './versionIndex'

export class HistoryQueries {
  constructor(
    private readonly store: Store,
    private readonly index: VersionIndex,
    private readonly negotiation: (id: string) => Promise<NegotiationRecord | null>,
  ) {}

  async versions(negotiationId: string): Promise<Version[]> {
    return (await this.index.list(negotiationId)).map(toVersion)
  }

  /** The sheet right after version n (n = 0: before the first version); null for an unknown n. */
  async sheetAt(negotiationId: string, n: number): Promise<Sheet | null> {
    const record = await this.negotiation(negotiationId)
    if (!record) return null
    let seqs = { boardSeq: 0, ledgerSeq: 0 }
    if (n > 0) {
      const v = await this.index.get(negotiationId, n)
      if (!v) return null
      seqs = v
    }
    const [board, ledger] = await Promise.all([
      docAt(this.store, boardDocName(negotiationId), seqs.boardSeq),
      docAt(this.store, ledgerDocName(negotiationId), seqs.ledgerSeq),
    ])
    try {
      const statuses = allStatuses(ledger)
      return {
        n,
        title: record.title,
        parties: record.parties,
        terms: termsInOrder(board).map((t) => {
          const s = statuses.get(t.id)
          return {
            id: t.id,
            title: t.title,
            body: t.body,
            state: s?.state ?? 'proposed',
            proposedBy: s?.proposedBy ?? null,
            acceptedBy: s?.acceptedBy ?? {},
          }
        }),
        notes: notesOf(board).map(({ id, text }) => ({ id, text })),
      }
    } finally {
      board.destroy()
      ledger.destroy()
    }
  }
}
