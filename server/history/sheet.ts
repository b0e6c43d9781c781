/** The `Sheet` of CONTRACT.md from a board and a ledger doc (live or reconstructed). */
import type * as Y from 'yjs'
import { allStatuses, linksOf, notesOf, termsInOrder } from '../../shared/docLayout'
import type { Sheet } from '../../shared/schemas'
import type { PlainThread } from '../../shared/comments'
import type { NegotiationRecord } from '../store/types'

export function sheetOf(record: NegotiationRecord, n: number, board: Y.Doc, ledger: Y.Doc, threads: PlainThread[] = []): Sheet {
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
        x: t.x,
        y: t.y,
      }
    }),
    notes: notesOf(board).map(({ id, text, x, y }) => ({ id, text, x, y })),
    links: linksOf(board),
    threads,
  }
}
