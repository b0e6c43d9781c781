/**
 * The shared comment threads as they stood at a position of the logs: the
 * rows of `<id>/comments` committed before the ledger row a version ends at
 * (the store's gseq orders rows across docs). A thread's shared events are
 * ledger rows too (negotiation/commentCommands.ts), committed in the same
 * group commit as the thread document's row (which the commit orders first: rooms go by name) — so a `comment` version's
 * position shows the comment it records. Threads are few beside keystrokes:
 * the document's log is read whole.
 */
import * as Y from 'yjs'
import { commentsDocName, ledgerDocName } from '../../shared/docNames'
import { threadsOf, type PlainThread } from '../../shared/comments'
import type { Store } from '../store/types'

export async function sharedThreadsAt(store: Store, negotiationId: string, ledgerSeq: number): Promise<PlainThread[]> {
  if (ledgerSeq <= 0) return []
  // Most negotiations have no shared thread yet: then no log is read at all.
  if ((await store.headSeq(commentsDocName(negotiationId))) === 0) return []
  const [[row], rows] = await Promise.all([
    store.readUpdates(ledgerDocName(negotiationId), ledgerSeq - 1, ledgerSeq),
    store.readUpdates(commentsDocName(negotiationId), 0),
  ])
  if (!row || rows.length === 0) return []
  const doc = new Y.Doc()
  try {
    Y.transact(doc, () => {
      for (const r of rows) if (r.gseq < row.gseq) Y.applyUpdate(doc, r.update)
    })
    return threadsOf(doc)
  } finally {
    doc.destroy()
  }
}
