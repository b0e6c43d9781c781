/**
 * A term as it stood before a transaction, read from inside that
 * transaction's observers — the put-back of a term removed by someone who
 * may not remove it, without a per-keystroke copy of every term's text.
 *
 * Why this works (yjs 13.6, src/utils/Transaction.js `cleanupTransactions`):
 * removing a term deletes its Y.Map item, and ContentType.delete marks every
 * live item under it deleted in the same transaction (so they land in
 * `txn.deleteSet`). Items are only marked: their content is replaced
 * (ContentDeleted, or GC structs under a collected parent) by
 * `tryGcDeleteSet`, which runs after every observer of the transaction, and
 * only when the doc has `gc` on. Within an observer, an item belonged to the
 * state before the transaction iff the transaction did not insert it
 * (clock < beforeState) and it was not deleted before it (not deleted, or
 * deleted by this transaction). Items deleted in earlier transactions may
 * already hold ContentDeleted (gc on) or still hold their text (gc off);
 * either way they are left out. Items are never merged or split across those
 * boundaries before the observers run: merging happens in the same cleanup,
 * after GC, and a deletion splits items at its ends first.
 *
 * Cost: the length of the term, paid only when a term is removed (ledger writer) or once per
 * version and term (the history fold: the text a run of edits started from).
 */
import * as Y from 'yjs'
import type { NewTerm } from '../../shared/docLayout'
import { asSuggestion, SUGGESTION_KEY, type Suggestion } from '../../shared/suggestions'

const insertedBy = (txn: Y.Transaction, id: Y.ID): boolean => id.clock >= (txn.beforeState.get(id.client) ?? 0)

/** Was this item part of the doc before `txn`? (Only meaningful while `txn`'s observers run.) */
export const aliveBefore = (txn: Y.Transaction, item: Y.Item): boolean =>
  !insertedBy(txn, item.id) && (!item.deleted || Y.isDeleted(txn.deleteSet, item.id))

/**
 * The value `key` of a Y.Map held before `txn`. A map keeps every write of a key as an item in a
 * list whose rightmost item is the value; the items `txn` inserted are skipped, and the rightmost
 * older one was the value if it was alive then.
 */
export function valueBefore(map: Y.Map<unknown>, key: string, txn: Y.Transaction): unknown {
  let item: Y.Item | null = map._map.get(key) ?? null
  while (item !== null && insertedBy(txn, item.id)) item = item.left
  if (item === null || !aliveBefore(txn, item)) return undefined
  const content = item.content.getContent()
  return content[content.length - 1]
}

/** The string of a Y.Text (or a plain string value) as it was before `txn`, as Y.Text.toString() would have read it then. */
export function textBefore(value: unknown, txn: Y.Transaction): string {
  if (typeof value === 'string') return value
  if (!(value instanceof Y.Text)) return ''
  let s = ''
  for (let n = value._start; n !== null; n = n.right) {
    if (n.countable && n.content.constructor === Y.ContentString && aliveBefore(txn, n)) s += (n.content as Y.ContentString).str
  }
  return s
}

/** A term's title, body and position before `txn`: what a put-back writes. */
export function termBefore(term: Y.Map<unknown>, txn: Y.Transaction): NewTerm {
  const num = (k: string) => {
    const v = valueBefore(term, k, txn)
    return typeof v === 'number' ? v : 0
  }
  return {
    title: textBefore(valueBefore(term, 'title', txn), txn),
    body: textBefore(valueBefore(term, 'body', txn), txn),
    x: num('x'),
    y: num('y'),
  }
}

/**
 * A term's text as it was before `txn`, read both ways its pending suggestions
 * (shared/suggestions.ts) can go: `plain` with every one rejected — the term's
 * text, as docLayout.textOf reads it — and `proposed` with every one accepted.
 * The suggestion in force at a character is the last `suggestion` format item
 * alive before `txn` to its left, as Yjs reads attributes. Same cost as textBefore.
 */
export function textViewsBefore(value: unknown, txn: Y.Transaction): { plain: string; proposed: string } {
  if (typeof value === 'string') return { plain: value, proposed: value }
  if (!(value instanceof Y.Text)) return { plain: '', proposed: '' }
  let plain = ''
  let proposed = ''
  let current: Suggestion | null = null
  for (let n = value._start; n !== null; n = n.right) {
    if (n.content instanceof Y.ContentFormat) {
      if (n.content.key === SUGGESTION_KEY && aliveBefore(txn, n)) current = asSuggestion(n.content.value)
      continue
    }
    if (n.countable && n.content.constructor === Y.ContentString && aliveBefore(txn, n)) {
      const str = (n.content as Y.ContentString).str
      if (current?.kind !== 'ins') plain += str
      if (current?.kind !== 'del') proposed += str
    }
  }
  return { plain, proposed }
}
