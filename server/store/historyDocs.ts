/**
 * Both stores keep the materialised history under the small integer id of
 * the log doc it is derived from (`docs.id`, as the log rows and checkpoints
 * are), not under the negotiation's id and a doc name: a block row is then a
 * few bytes of key beside its data.
 */
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import type { HistoryDoc } from './types'

/** The log doc whose history `doc` is; anything but 'board' or 'ledger' is refused before a row is written. */
export function historyDocName(negotiationId: string, doc: HistoryDoc): string {
  if (doc === 'board') return boardDocName(negotiationId)
  if (doc === 'ledger') return ledgerDocName(negotiationId)
  throw new TypeError(`no materialised history is kept for doc "${String(doc)}"`)
}

/** The docs that may hold a negotiation's materialised history. */
export const historyDocNames = (negotiationId: string): string[] => [boardDocName(negotiationId), ledgerDocName(negotiationId)]
