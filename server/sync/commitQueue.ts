/**
 * Group commit: every room with work queues itself here during an event-loop
 * turn; one `setImmediate` later all their updates go to the store in a single
 * transaction, and each room then delivers its batch. Store writes never
 * overlap: while one is in flight, the next gathers. Once a write is durable
 * the rooms encode their sends and take the input that waited, the next write
 * starts, and only then do the sends go out — so the next disk sync (off the
 * event loop) runs while this batch is being written to the sockets.
 *
 * The rooms of a flush are appended in doc-name order. Besides being
 * deterministic, that numbers (gseq, Store.appendUpdates) a negotiation's
 * `<id>/board` rows before its `<id>/ledger` rows: the ledger moves the board
 * watcher writes while a board update is being applied (a propose, a withdraw
 * by removal) join this same flush, and must follow the update that caused
 * them in the history. Those moves never cause board rows in turn.
 *
 * A write whose COMMIT was sent but never answered (CommitOutcomeUnknownError)
 * is neither failed nor done: failing it would have the rooms ask their
 * writers to resend what may be stored already — the same Yjs items twice in
 * the log. The flush stays in flight, its rooms holding their input, and asks
 * the store (Store.settleAppend) until it can tell: then the rooms deliver the
 * batch as committed, or fail it as before. Meanwhile the breaker refuses new
 * writes visibly, like any store failure.
 */
import { CommitOutcomeUnknownError, type AppendResult, type Store } from '../store/types'
import type { Batch, Room, UpdateOrigin } from './room'
import type { StoreBreaker } from './storeBreaker'

export interface CommitObserver {
  committed(rows: number, seconds: number): void
  failed(err: unknown): void
}

/**
 * The gseq the store gave each committed update, by its transaction origin
 * (one object per update: Room makes a new one for every update it queues).
 * Listeners of a room read it while the room delivers: `CommittedUpdate`
 * carries the origin, and this is how the version index learns the order of
 * the rows it is handed without reading them back from the store.
 */
const gseqs = new WeakMap<UpdateOrigin, number>()

/** The store's gseq of a committed update (see `gseqs`), if it passed through a CommitQueue. */
export const committedGseq = (origin: UpdateOrigin): number | undefined => gseqs.get(origin)

/** How often, at most, a write of unknown outcome asks the store again. */
const SETTLE_MIN_MS = 250
const SETTLE_MAX_MS = 4000

type Taken = Array<{ room: Room; batch: Batch; count: number }>

export class CommitQueue {
  private dirty = new Set<Room>()
  private scheduled = false
  private inFlight: Promise<void> | null = null
  /** a flush is between taking its batches and its store result */
  private busy = false
  /** the flush in flight waits for the store to tell whether its COMMIT landed */
  private settling = false
  /** drain()s waiting for the flight in flight, told when it starts settling */
  private settlingListeners: Array<() => void> = []

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

  /**
   * Resolves when everything queued so far is committed (or failed). A write
   * of unknown outcome is not waited for: nothing can end that wait but the
   * store, and a server shutting down may leave it — its writers resend to the
   * next process, which loads whatever the store holds.
   */
  async drain(): Promise<void> {
    while (!this.settling && (this.inFlight || this.scheduled || this.dirty.size > 0)) {
      if (this.inFlight) {
        let listener!: () => void
        const settles = new Promise<void>((resolve) => (listener = resolve))
        this.settlingListeners.push(listener)
        await Promise.race([this.inFlight, settles])
        this.settlingListeners = this.settlingListeners.filter((l) => l !== listener)
      } else await this.flush()
    }
  }

  private flush(): Promise<void> {
    this.scheduled = false
    if (this.busy || this.dirty.size === 0) return this.inFlight ?? Promise.resolve()
    this.busy = true
    const taken: Taken = []
    const rows = []
    const claims = []
    for (const room of [...this.dirty].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
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
    taken: Taken,
    rows: Parameters<Store['appendUpdates']>[0],
    claims: NonNullable<Parameters<Store['appendUpdates']>[1]>,
  ): Promise<void> {
    let results: AppendResult[]
    const started = performance.now()
    try {
      // Always await: the caller must hold this flush's promise before it can start the next one.
      results = rows.length > 0 || claims.length > 0 ? await this.store.appendUpdates(rows, claims) : await Promise.resolve([])
    } catch (err) {
      this.observer?.failed(err)
      this.breaker.failed(err)
      const landed = err instanceof CommitOutcomeUnknownError ? await this.settle(err) : false
      if (!landed) {
        this.busy = false
        for (const { room, batch } of taken) room.commitFailed(batch, err)
        return
      }
      results = (err as CommitOutcomeUnknownError).planned
    }
    if (rows.length > 0) {
      this.observer?.committed(rows.length, (performance.now() - started) / 1000)
      this.breaker.succeeded()
    }
    let offset = 0
    for (const { room, batch, count } of taken) {
      const mine = results.slice(offset, offset + count)
      offset += count
      let r = 0
      for (const item of batch.items) if (item.kind === 'update') gseqs.set(item.origin, mine[r++]!.gseq)
      room.markCommitted(batch, mine)
    }
    const outboxes = taken.map(({ room, batch }) => [room, room.deliverCommitted(batch)] as const)
    // The rooms took the input that waited for this commit: write it to the store now, and send
    // this batch while that write's disk sync runs.
    this.busy = false
    if (this.dirty.size > 0) void this.flush()
    for (const [room, outbox] of outboxes) room.send(outbox)
  }

  /** Asks the store until it tells whether the unanswered COMMIT landed; true if it did. */
  private async settle(err: CommitOutcomeUnknownError): Promise<boolean> {
    this.settling = true
    for (const l of this.settlingListeners.splice(0)) l()
    try {
      for (let wait = SETTLE_MIN_MS; ; wait = Math.min(wait * 2, SETTLE_MAX_MS)) {
        try {
          return await this.store.settleAppend(err.planned)
        } catch (e) {
          // Still unknown. Keep refusing new writes for as long as that lasts.
          this.breaker.failed(e)
        }
        await new Promise((r) => setTimeout(r, wait).unref())
      }
    } finally {
      this.settling = false
    }
  }
}
