/**
 * The sealed caucus rooms of this instance (sealedRoom.ts) and their group
 * commit. A room loads in one read (the doc's head seq: there is no state to
 * build), subscribed to the other instances first so nothing committed
 * elsewhere falls between the two, and unloads a grace period after its last
 * connection left.
 *
 * Group commit, as the CommitQueue does for Yjs updates: the sealed updates
 * of one event-loop turn, of every room, go to the store in one transaction
 * (Store.appendSealed); one such write at a time, the next gathering
 * meanwhile. Only once it is durable does a room relay a row, and the rows
 * are published to the other instances.
 */
import { LoadOnce } from './loadOnce'
import type { Store } from '../store/types'
import type { StoreBreaker } from './storeBreaker'
import { SealedRoom, type SealedRow, type SealedWrite } from './sealedRoom'

/** Fan-out of sealed rows to other server instances (server/cluster); absent on a single instance. */
export interface SealedCluster {
  /** Resolves once subscribed: rows other instances publish for `docName` go to `sink` from then on. */
  subscribeSealed(docName: string, sink: (rows: SealedRow[]) => void): Promise<void>
  unsubscribeSealed(docName: string): void
  publishSealed(docName: string, rows: SealedRow[]): void
}

export interface SealedRoomsOptions {
  /** which doc names are sealed caucuses (shared/docNames.ts kind 'sealed') */
  isSealed(docName: string): boolean
  graceMs: number
  breaker: StoreBreaker
  cluster?: SealedCluster
  now: () => number
  log: (level: 'warn' | 'error', msg: string, err?: unknown) => void
}

export class SealedRooms {
  private rooms = new Map<string, SealedRoom>()
  private opening = new LoadOnce<SealedRoom>(
    (name) => this.rooms.get(name),
    (name) => this.load(name),
  )
  private readonly commits: SealedCommits

  constructor(
    private readonly store: Store,
    private readonly opts: SealedRoomsOptions,
  ) {
    this.commits = new SealedCommits(store, opts)
  }

  handles(docName: string): boolean {
    return this.opts.isSealed(docName)
  }

  all(): IterableIterator<SealedRoom> {
    return this.rooms.values()
  }

  get(name: string): Promise<SealedRoom> {
    return this.opening.get(name)
  }

  private async load(name: string): Promise<SealedRoom> {
    const room = new SealedRoom(name, {
      readSealed: (doc, afterSeq, limit) => this.store.readSealed(doc, afterSeq, limit),
      commit: (write) => this.commits.add(write),
      storeWritable: () => this.opts.breaker.writable(),
      now: this.opts.now,
      log: this.opts.log,
    })
    const cluster = this.opts.cluster
    // Subscribed before the head is read: rows published meanwhile wait in the room until it starts.
    await cluster?.subscribeSealed(name, (rows) => room.receiveStored(rows))
    try {
      room.start(await this.store.sealedHead(name))
    } catch (err) {
      cluster?.unsubscribeSealed(name)
      room.destroy()
      throw err
    }
    this.rooms.set(name, room)
    return room
  }

  /** Called when a room's last connection left: unload after the grace period, once its work is done. */
  scheduleUnload(room: SealedRoom): void {
    if (room.connections.size > 0 || room.unloadTimer) return
    room.unloadTimer = setTimeout(() => {
      room.unloadTimer = null
      if (room.connections.size > 0) return
      if (room.pendingWork) return this.scheduleUnload(room)
      this.unload(room)
    }, this.opts.graceMs)
    room.unloadTimer.unref()
  }

  private unload(room: SealedRoom): void {
    if (this.rooms.get(room.name) !== room) return
    this.rooms.delete(room.name)
    this.opts.cluster?.unsubscribeSealed(room.name)
    room.destroy()
  }

  /** Catches up every loaded room that is behind the store (pub/sub may drop a message; Redis may have been away). */
  async catchUpAll(): Promise<void> {
    for (const room of [...this.rooms.values()]) {
      try {
        if ((await this.store.sealedHead(room.name)) > room.head) room.catchUp()
      } catch (err) {
        this.opts.log('warn', `head check of sealed ${room.name} failed`, err)
      }
    }
  }

  /** Resolves when every sealed update accepted so far is committed (or failed). */
  drain(): Promise<void> {
    return this.commits.drain()
  }

  /** Forgets every room (shutdown, after the endpoint closed their connections and `drain`). */
  closeAll(): void {
    for (const room of [...this.rooms.values()]) this.unload(room)
  }
}

/** The group commit of sealed updates (see the top of this file). */
class SealedCommits {
  private queue: SealedWrite[] = []
  private scheduled = false
  private inFlight: Promise<void> | null = null

  constructor(
    private readonly store: Store,
    private readonly opts: Pick<SealedRoomsOptions, 'breaker' | 'cluster' | 'log'>,
  ) {}

  add(write: SealedWrite): void {
    this.queue.push(write)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return
    this.scheduled = true
    setImmediate(() => void this.flush())
  }

  private flush(): Promise<void> {
    this.scheduled = false
    if (this.inFlight || this.queue.length === 0) return this.inFlight ?? Promise.resolve()
    const batch = this.queue.splice(0)
    const flight: Promise<void> = this.commit(batch).finally(() => {
      if (this.inFlight === flight) this.inFlight = null
      if (this.queue.length > 0) this.schedule()
    })
    this.inFlight = flight
    return flight
  }

  private async commit(batch: SealedWrite[]): Promise<void> {
    let results: Array<{ doc: string; seq: number }>
    try {
      results = await this.store.appendSealed(
        batch.map((w) => ({ doc: w.room.name, at: w.at, author: w.author, nonce: w.nonce, ciphertext: w.ciphertext })),
      )
    } catch (err) {
      this.opts.breaker.failed(err)
      this.opts.log('error', 'sealed commit failed; its senders are asked to reconnect and resend', err)
      for (const w of batch) w.room.commitFailed(w)
      return
    }
    this.opts.breaker.succeeded()
    const published = new Map<SealedRoom, SealedRow[]>()
    batch.forEach((w, i) => {
      const seq = results[i]!.seq
      let rows = published.get(w.room)
      if (!rows) published.set(w.room, (rows = []))
      rows.push({ seq, nonce: w.nonce, ciphertext: w.ciphertext })
      w.room.committed(w, seq)
    })
    if (this.opts.cluster) for (const [room, rows] of published) this.opts.cluster.publishSealed(room.name, rows)
  }

  async drain(): Promise<void> {
    while (this.inFlight || this.scheduled || this.queue.length > 0) {
      if (this.inFlight) await this.inFlight
      else await this.flush()
    }
  }
}
