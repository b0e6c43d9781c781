/**
 * What a term said just before the transaction being observed, read from
 * Yjs items without serialising anything the transaction did not need.
 *
 * Observers (observeDeep) run after a transaction integrated its changes and
 * before Yjs garbage-collects the content it deleted, so a deleted item still
 * holds its characters there. A character belonged to the text before the
 * transaction iff the transaction did not insert it (its clock is below the
 * transaction's `beforeState` for its client) and it was alive then: not
 * deleted, or deleted by this transaction (in `deleteSet`).
 *
 * Used once per version and term (the text a run of edits started from), never
 * per keystroke: the walk is the length of the text.
 */
import * as Y from 'yjs'
import type { TermText } from '../../shared/negotiation'

const insertedBy = (txn: Y.Transaction, id: Y.ID): boolean => id.clock >= (txn.beforeState.get(id.client) ?? 0)
const aliveBefore = (txn: Y.Transaction, item: Y.Item): boolean =>
  !insertedBy(txn, item.id) && (!item.deleted || Y.isDeleted(txn.deleteSet, item.id))

/** The value a map key had before the transaction (the newest of its items the transaction did not insert, if alive then). */
function valueBefore(map: Y.Map<unknown>, key: string, txn: Y.Transaction): unknown {
  for (let item: Y.Item | null = map._map.get(key) ?? null; item !== null; item = item.left) {
    if (insertedBy(txn, item.id)) continue
    if (!aliveBefore(txn, item)) return undefined
    const content = item.content.getContent()
    return content[content.length - 1]
  }
  return undefined
}

function textBefore(v: unknown, txn: Y.Transaction): string {
  if (typeof v === 'string') return v
  if (!(v instanceof Y.Text)) return ''
  let s = ''
  for (let n = v._start; n !== null; n = n.right) {
    if (n.content instanceof Y.ContentString && aliveBefore(txn, n)) s += n.content.str
  }
  return s
}

/** A term map's title and body as they stood before `txn` (the map itself may have been removed by it). */
export function termTextBefore(term: Y.Map<unknown>, txn: Y.Transaction): TermText {
  return { title: textBefore(valueBefore(term, 'title', txn), txn), body: textBefore(valueBefore(term, 'body', txn), txn) }
}

/** Whether the item holding a map entry existed before `txn` (a term the transaction created has no "before"). */
export function existedBefore(term: Y.AbstractType<any>, txn: Y.Transaction): boolean {
  const item = term._item
  return item !== null && aliveBefore(txn, item)
}
