/**
 * Any past state of a doc: the newest checkpoint at or before the wanted seq
 * plus the updates after it. Checkpoints come every PARLEY_CHECKPOINT_EVERY
 * updates, so the cost is bounded by that, not by the history's length.
 */
import * as Y from 'yjs'
import type { Store } from '../store/types'

export interface DocAtOptions {
  /**
   * false keeps deleted content from the checkpoint on (what was deleted
   * before the checkpoint is gone from it either way), for redlines that need
   * the text later updates delete.
   */
  gc?: boolean
}

export async function docAt(store: Store, docName: string, seq: number, opts: DocAtOptions = {}): Promise<Y.Doc> {
  const doc = new Y.Doc({ gc: opts.gc ?? true })
  if (seq <= 0) return doc
  const checkpoint = await store.latestCheckpoint(docName, seq)
  if (checkpoint) Y.applyUpdate(doc, checkpoint.state)
  const rows = await store.readUpdates(docName, checkpoint?.seq ?? 0, seq)
  // One transaction, row by row: cheaper than Y.mergeUpdates for a short tail of small
  // updates (measured), and a row that cannot be applied costs only itself.
  Y.transact(doc, () => {
    for (const r of rows) {
      try {
        Y.applyUpdate(doc, r.update)
      } catch {
        // skipped, as rooms skip it when they load
      }
    }
  })
  return doc
}
