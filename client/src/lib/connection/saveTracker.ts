/**
 * Counts local edits that are not yet known to be durable, from Parley's save
 * receipts (CONTRACT.md: with `ack=1`, a message of type 100 follows each of
 * the client's updates once it is committed).
 *
 * Normally every message this client sends with edits gets exactly one
 * answer, in order: a receipt, or a permission-denied auth message. So sent
 * messages wait in a queue and each receipt pops one. What was never sent
 * (offline) or lost with a connection stays pending and travels in the
 * provider's next sync step 2, which carries everything the server lacks.
 *
 * Some messages get no answer at all: the server skips an update it cannot
 * place yet (a gap left by a crash) and asks for a sync step 2 instead. A
 * barrier settles that: a sync step 1 of our own, whose reply the server
 * sends only after everything sent before it was handled. When the reply
 * comes and nothing was refused meanwhile, everything sent before the
 * barrier is saved. Barriers follow every full-state answer, and any queue
 * that has waited too long.
 *
 * Edits restored from the browser's local copy after a reload count as
 * unsent ones (`restored`): the full state carries them.
 *
 * Anything unclear counts as unsaved: the number may be too high for a
 * moment, never too low.
 */

interface Sent {
  id: number
  /** local edit numbers this message carries */
  edits: number[]
}

export interface Barrier {
  /** the last queue entry sent before this barrier */
  lastEntry: number
  /** edits pending when it was sent: all of them were sent before it */
  edits: number[]
  refused: boolean
}

/** A sync step 1 this client sent and whose step 2 reply has not come yet. */
type Outstanding = { kind: 'connect' } | { kind: 'barrier'; barrier: Barrier }

export interface SaveSnapshot {
  /** local edits not yet confirmed durable */
  unsaved: number
  /** the server refused writes because its store is down; edits are kept and resent */
  paused: boolean
}

export class SaveTracker {
  private nextEdit = 1
  private nextEntry = 1
  private pending = new Set<number>()
  private queue: Sent[] = []
  private outstanding: Outstanding[] = []
  private paused = false
  /** when the oldest unanswered message was sent, or the last answer came (ms) */
  private lastProgress = 0

  constructor(
    private readonly onChange: () => void = () => {},
    private readonly now: () => number = () => Date.now(),
  ) {}

  snapshot(): SaveSnapshot {
    return { unsaved: this.pending.size, paused: this.paused }
  }

  /** A local edit was made; `sent` says whether the provider sent it right away. */
  localEdit(sent: boolean): void {
    const n = this.nextEdit++
    this.pending.add(n)
    if (sent) this.enqueue([n])
    this.onChange()
  }

  /**
   * Edits found in this device's copy of the doc (localCopy.ts) that the server
   * had not confirmed when the copy was written: pending and never sent, so the
   * full state sent after connecting carries them.
   */
  restored(count: number): void {
    for (let i = 0; i < count; i++) this.pending.add(this.nextEdit++)
    this.onChange()
  }

  /** The socket opened; the provider sends its sync step 1 right away. */
  connected(): void {
    this.queue = []
    this.outstanding = [{ kind: 'connect' }]
  }

  /** The connection closed: answers to what was in flight will never come. */
  disconnected(): void {
    this.queue = []
    this.outstanding = []
    this.onChange()
  }

  /**
   * The provider answered a server sync step 1 with a step 2 carrying
   * everything the server lacks. An empty one gets no receipt: then the
   * server, which only ever shows committed state, already had every edit.
   * Returns true when a barrier should follow it.
   */
  fullStateSent(empty: boolean): boolean {
    if (empty) {
      this.pending.clear()
      this.onChange()
      return false
    }
    this.enqueue([...this.pending])
    return true
  }

  receipt(): void {
    this.lastProgress = this.now()
    this.paused = false
    const sent = this.queue.shift()
    if (sent) this.confirm(sent.edits)
    else this.onChange()
  }

  /** The server refused a write. What was in flight stays pending for the next resync. */
  denied(storeUnavailable: boolean): void {
    this.lastProgress = this.now()
    this.queue = []
    for (const o of this.outstanding) if (o.kind === 'barrier') o.barrier.refused = true
    if (storeUnavailable) this.paused = true
    this.onChange()
  }

  /**
   * The server will take no more writes of this doc (the negotiation is concluded): what is
   * pending will never be saved, and is no longer counted as waiting to be.
   */
  abandon(): void {
    this.pending.clear()
    this.queue = []
    this.paused = false
    for (const o of this.outstanding) if (o.kind === 'barrier') o.barrier.refused = true
    this.onChange()
  }

  /** A barrier is about to be sent (a sync step 1 of this client's own). */
  barrierSent(): void {
    const barrier: Barrier = { lastEntry: this.nextEntry - 1, edits: [...this.pending], refused: false }
    this.outstanding.push({ kind: 'barrier', barrier })
  }

  /** The server answered one of this client's sync step 1 messages (they are answered in order). */
  stepTwoReceived(): void {
    const o = this.outstanding.shift()
    if (o?.kind !== 'barrier' || o.barrier.refused) return
    const { barrier } = o
    this.lastProgress = this.now()
    this.paused = false
    // Everything sent before the barrier was handled; what is still queued was skipped, and is covered.
    this.queue = this.queue.filter((s) => s.id > barrier.lastEntry)
    this.confirm(barrier.edits)
  }

  /** True when messages have waited for an answer longer than `ms` and no barrier is on its way. */
  stalled(ms: number): boolean {
    return this.queue.length > 0 && this.now() - this.lastProgress > ms && !this.outstanding.some((o) => o.kind === 'barrier')
  }

  private enqueue(edits: number[]): void {
    if (this.queue.length === 0) this.lastProgress = this.now()
    this.queue.push({ id: this.nextEntry++, edits })
  }

  private confirm(edits: number[]): void {
    for (const n of edits) this.pending.delete(n)
    this.onChange()
  }
}
