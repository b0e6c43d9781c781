/**
 * Group commit: every room with work queues itself here during an event-loop
 * turn; one `setImmediate` later all their updates go to the store in a single
 * transaction, and each room then delivers its batch. Store writes never
 * overlap: while one is in flight, the next gathers. Once a write is durable
 * the rooms encode their sends and take the input that waited, the next write
 * starts, and only then do the sends go out — so the next disk sync (off the
 * event loop) runs while this batch is being written to the sockets.
 */
import type { Store } from '../store/types'
import type { Batch, Room } from './room'
import type { StoreBreaker } from './storeBreaker'

export interface CommitObserver {
  committed(rows: number, seconds: number): void
  failed(err: unknown): void
}

export class CommitQueue {
  private dirty = new Set<Room>()
  private scheduled = false
  private inFlight: Promise<void> | null = null
  /** a flush is between taking its batches and its store result */
  private busy = false

  constructor(
    private readonly store: Store,
    private readonly breaker: StoreBreaker,
    private readonly observer?: CommitObserver,
  ) {}

  schedule(room: Room): void {
    this.dirty.add(room)
    if (!this.scheduled && !this.busy) {
      this.scheduled = true
      setImmediate(() => void this.flush())
    }
  }

  /** Resolves when everything queued so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.inFlight || this.scheduled || this.dirty.size > 0) {
      if (this.inFlight) await this.inFlight
      else await this.flush()
    }
  }

  private flush(): Promise<void> {
    this.scheduled = false
    if (this.busy || this.dirty.size === 0) return this.inFlight ?? Promise.resolve()
    this.busy = true
    const taken: Array<{ room: Room; batch: Batch; count: number }> = []
    const rows = []
    const claims = []
    for (const room of this.dirty) {
      const { batch, rows: roomRows } = room.takeBatch()
      taken.push({ room, batch, count: roomRows.length })
      rows.push(...roomRows)
      claims.push(...batch.claims)
    }
    this.dirty.clear()
    const flight: Promise<void> = this.commit(taken, rows, claims).finally(() => {
      if (this.inFlight === flight) this.inFlight = null
      if (this.dirty.size > 0 && !this.scheduled && !this.busy) {
        this.scheduled = true
        setImmediate(() => void this.flush())
      }
    })
    this.inFlight = flight
    return flight
  }

  private async commit(
    taken: Array<{ room: Room; batch: Batch; count: number }>,
    rows: Parameters<Store['appendUpdates']>[0],
    claims: NonNullable<Parameters<Store['appendUpdates']>[1]>,
  ): Promise<void> {
    let results
    const started = performance.now()
    try {
      // Always await: the caller must hold this flush's promise before it can start the next one.
      results = rows.length > 0 || claims.length > 0 ? await this.store.appendUpdates(rows, claims) : await Promise.resolve([])
    } catch (err) {
      this.busy = false
      this.observer?.failed(err)
      this.breaker.failed(err)
      for (const { room, batch } of taken) room.commitFailed(batch, err)
      return
    }
    if (rows.length > 0) {
      this.observer?.committed(rows.length, (performance.now() - started) / 1000)
      this.breaker.succeeded()
    }
    let offset = 0
    for (const { room, batch, count } of taken) {
      room.markCommitted(batch, results.slice(offset, offset + count))
      offset += count
    }
    const outboxes = taken.map(({ room, batch }) => [room, room.deliverCommitted(batch)] as const)
    // The rooms took the input that waited for this commit: write it to the store now, and send
    // this batch while that write's disk sync runs.
    this.busy = false
    if (this.dirty.size > 0) void this.flush()
    for (const [room, outbox] of outboxes) room.send(outbox)
  }
}
