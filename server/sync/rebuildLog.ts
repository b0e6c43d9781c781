/**
 * What a room needs to rebuild its doc after a failed commit: the last
 * checkpoint (or the state it was loaded from) and the committed updates
 * since. It also decides when the next checkpoint is due, since that is what
 * keeps the tail — and a rebuild — short.
 */
import * as Y from 'yjs'
import { QuietDoc } from './quietDoc'

export class RebuildLog {
  private baseState: Uint8Array
  private tail: Uint8Array[]
  /** seq of the base state */
  seq: number
  /** bytes of the first `tailCounted` updates of `tail` (counted as checkpoints are considered) */
  private tailBytes = 0
  private tailCounted = 0

  constructor(loaded: { baseState: Uint8Array; tail: Uint8Array[]; checkpointSeq: number }) {
    this.baseState = loaded.baseState
    this.tail = loaded.tail
    this.seq = loaded.checkpointSeq
  }

  /** A committed update the doc holds. */
  append(update: Uint8Array): void {
    this.tail.push(update)
  }

  /** A fresh doc: base state + committed tail + `extra` (updates applied but not yet committed). */
  rebuild(extra: Uint8Array[]): QuietDoc {
    const fresh = new QuietDoc()
    // One transaction: the tail since a checkpoint may be thousands of updates (see due()).
    Y.transact(fresh, () => {
      Y.applyUpdate(fresh, this.baseState)
      for (const u of this.tail) Y.applyUpdate(fresh, u)
      for (const u of extra) Y.applyUpdate(fresh, u)
    })
    return fresh
  }

  /**
   * Checkpoints are spaced by bytes: a new one once the updates since the
   * last add up to at least that checkpoint's state (and number at least
   * `every`, so a small doc is not checkpointed every few keystrokes).
   * Encoding and storing a state costs about its size, so checkpoints cost
   * at most as much as the log they summarise — the total written stays
   * below the log's, however long the history — and a load or a rebuild
   * applies a tail of about the state's size at most.
   */
  due(committedSeq: number, every: number): boolean {
    if (committedSeq - this.seq < every) return false
    for (; this.tailCounted < this.tail.length; this.tailCounted++) this.tailBytes += this.tail[this.tailCounted]!.byteLength
    return this.tailBytes >= this.baseState.byteLength
  }

  /** A checkpoint of `state` at `seq` was taken: it is the new base, the tail starts empty. */
  checkpointed(state: Uint8Array, seq: number): void {
    this.baseState = state
    this.tail = []
    this.tailBytes = 0
    this.tailCounted = 0
    this.seq = seq
  }
}
