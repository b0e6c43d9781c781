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

/**
 * A few reconstructed docs kept to be rolled forward: replay steps through
 * consecutive versions, and going from one to the next is then the rows in
 * between, not a checkpoint decode (which grows with the document's size).
 * Docs are lent out one borrower at a time; a borrower must not change them.
 */
export class DocCursors {
  private entries: Array<{ name: string; seq: number; doc: Y.Doc }> = []

  constructor(
    private readonly store: Store,
    /** docs kept in all (a large board decodes to tens of MB) */
    private readonly max = 4,
    /** farther than this, a checkpoint + tail is cheaper than rolling forward */
    private readonly maxRollForward = 1000,
  ) {}

  async with<T>(name: string, seq: number, fn: (doc: Y.Doc) => T | Promise<T>): Promise<T> {
    let best = -1
    this.entries.forEach((e, i) => {
      if (e.name === name && e.seq <= seq && seq - e.seq <= this.maxRollForward && (best < 0 || e.seq > this.entries[best]!.seq))
        best = i
    })
    let doc: Y.Doc
    if (best >= 0) {
      const entry = this.entries.splice(best, 1)[0]!
      doc = entry.doc
      try {
        const rows = await this.store.readUpdates(name, entry.seq, seq)
        Y.transact(doc, () => {
          for (const r of rows) {
            try {
              Y.applyUpdate(doc, r.update)
            } catch {
              // skipped, as docAt does
            }
          }
        })
      } catch (err) {
        doc.destroy()
        throw err
      }
    } else {
      doc = await docAt(this.store, name, seq)
    }
    try {
      return await fn(doc)
    } finally {
      this.entries.unshift({ name, seq, doc })
      for (const old of this.entries.splice(this.max)) old.doc.destroy()
    }
  }

  clear(): void {
    for (const e of this.entries) e.doc.destroy()
    this.entries = []
  }
}
