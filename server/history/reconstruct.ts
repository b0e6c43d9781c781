/**
 * Any past state of a doc: the newest checkpoint at or before the wanted seq
 * plus the updates after it — or the log from its start when the stored
 * checkpoints (the newest two: they are derived data, server/store/types.ts)
 * are all later. Correct at any seq; its cost grows with the distance to the
 * checkpoint, which for an old state is most of the history.
 */
import * as Y from 'yjs'
import type { Store } from '../store/types'
import { QuietDoc } from '../sync/quietDoc'

export interface DocAtOptions {
  /**
   * false keeps deleted content from the checkpoint on (what was deleted
   * before the checkpoint is gone from it either way), for redlines that need
   * the text later updates delete.
   */
  gc?: boolean
}

/** Rows read at a time: a replay from seq 0 of a long log need not hold all of it at once. */
const TAIL_PAGE = 5000

export async function docAt(store: Store, docName: string, seq: number, opts: DocAtOptions = {}): Promise<Y.Doc> {
  const doc = new QuietDoc({ gc: opts.gc ?? true })
  if (seq <= 0) return doc
  const checkpoint = await store.latestCheckpoint(docName, seq)
  if (checkpoint) Y.applyUpdate(doc, checkpoint.state)
  for (let after = checkpoint?.seq ?? 0; after < seq; after += TAIL_PAGE) {
    const rows = await store.readUpdates(docName, after, Math.min(after + TAIL_PAGE, seq))
    // One transaction, row by row: much cheaper than Y.mergeUpdates, which is quadratic in the
    // number of small updates (measured: 20 000 keystrokes ~90 ms applied, 6 s merged), and a
    // row that cannot be applied costs only itself.
    Y.transact(doc, () => {
      for (const r of rows) {
        try {
          Y.applyUpdate(doc, r.update)
        } catch {
          // skipped, as rooms skip it when they load
        }
      }
    })
  }
  return doc
}
