/**
 * Counts local edits that are not yet known to be durable, from Parley's save
 * receipts (CONTRACT.md: with `ack=1`, a message of type 100 follows each of
 * the client's updates once it is committed).
 *
 * Every message this client sends that carries edits gets exactly one answer,
 * in order: a receipt, or a permission-denied auth message. So the tracker
 * keeps the sent messages in a queue and pops one per receipt. What was never
 * sent (offline) or lost with a connection stays pending and travels in the
 * provider's next sync step 2 (which carries everything the server lacks).
 * Anything unclear is counted as unsaved: the number may be too high for a
 * moment, never too low.
 */

interface Sent {
  /** local edit numbers this message carries */
  edits: number[]
}

export interface SaveSnapshot {
  /** local edits not yet confirmed durable */
  unsaved: number
  /** the server refused writes because its store is down; edits are kept and resent */
  paused: boolean
}

export class SaveTracker {
  private nextEdit = 1
  private pending = new Set<number>()
  private queue: Sent[] = []
  private paused = false

  constructor(private readonly onChange: () => void = () => {}) {}

  snapshot(): SaveSnapshot {
    return { unsaved: this.pending.size, paused: this.paused }
  }

  /** A local edit was made; `sent` says whether the provider sent it right away. */
  localEdit(sent: boolean): void {
    const n = this.nextEdit++
    this.pending.add(n)
    if (sent) this.queue.push({ edits: [n] })
    this.onChange()
  }

  /**
   * The provider answered the server's sync step 1 with a step 2 carrying
   * everything the server lacks. An empty step 2 gets no receipt: then the
   * server already had every edit, and it only sends state that is committed.
   */
  fullStateSent(empty: boolean): void {
    const edits = [...this.pending]
    if (empty) {
      this.pending.clear()
      this.onChange()
      return
    }
    this.queue.push({ edits })
  }

  receipt(): void {
    const sent = this.queue.shift()
    if (!sent) return
    for (const n of sent.edits) this.pending.delete(n)
    this.paused = false
    this.onChange()
  }

  /** The server refused a write. What was in flight stays pending for the next resync. */
  denied(storeUnavailable: boolean): void {
    this.queue = []
    if (storeUnavailable) this.paused = true
    this.onChange()
  }

  /** The connection closed: answers to what was in flight will never come. */
  disconnected(): void {
    this.queue = []
    this.onChange()
  }
}
