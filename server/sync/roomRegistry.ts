/**
 * Loads rooms on first use (latest checkpoint + the tail after it, never a
 * replay of all history) and unloads them a grace period after their last
 * connection leaves, checkpointing first so the next load is fast. A
 * checkpoint that cannot be read is derived data: the room loads from its
 * log instead.
 */
import { LoadOnce } from './loadOnce'
import * as Y from 'yjs'
import { StoreUnavailableError, type Checkpoint, type Store } from '../store/types'
import { QuietDoc } from './quietDoc'
import { Room, type RoomDeps, type RoomListener } from './room'
import type { UpdateLimits } from './updateScan'

/** Subscription to other instances' updates of a doc (server/cluster). */
export interface ClusterSubscriptions {
  /** Resolves once subscribed; messages arriving before the room exists are held by the cluster layer. */
  subscribe(docName: string): Promise<void>
  unsubscribe(docName: string): void
  /** the room is loaded: hand it what arrived meanwhile */
  loaded(room: Room): void
}

export interface RoomRegistryOptions {
  graceMs: number
  /** a fresh room gets its listeners here (negotiation and history layers); the load waits for it */
  onCreate?: (room: Room) => Promise<void> | void
  /** the room is about to be dropped from memory */
  onUnload?: (room: Room) => void
  cluster?: ClusterSubscriptions
  log: RoomDeps['log']
}

/**
 * The stored state of a doc whose log ends at its checkpoint, handed out
 * while the doc is being built: exact (nothing follows the checkpoint), and
 * durable (read from the store). See RoomRegistry.whenStored.
 */
export interface StoredState {
  state: Uint8Array
  /**
   * One per connection waiting for this doc: settles once it was answered
   * from this state and the answer has left, or once it asked for something
   * else. The build waits for them, a little.
   */
  waiting: Array<Promise<void>>
}

/** How long a load waits for early answers from the stored state before building the doc. */
const EARLY_ANSWER_WAIT_MS = 100

export class RoomRegistry {
  private rooms = new Map<string, Room>()
  private opening = new LoadOnce<Room>(
    (name) => this.rooms.get(name),
    (name) => this.load(name),
  )
  private stored = new Map<string, Promise<StoredState | null>>()
  private savingCheckpoints = new Set<Promise<void>>()
  private limitsFor: (name: string) => Partial<UpdateLimits> = () => ({})

  constructor(
    private readonly store: Store,
    private readonly deps: Omit<RoomDeps, 'saveCheckpoint'>,
    private readonly opts: RoomRegistryOptions,
  ) {}

  /** Per-doc tightening of the update limits (e.g. the root types a doc kind may have). */
  setLimitsFor(fn: (name: string) => Partial<UpdateLimits>): void {
    this.limitsFor = fn
  }

  /** The loaded room, if any (no load). */
  peek(name: string): Room | undefined {
    return this.rooms.get(name)
  }

  all(): IterableIterator<Room> {
    return this.rooms.values()
  }

  get(name: string): Promise<Room> {
    return this.opening.get(name)
  }

  /**
   * While `name` is being loaded: its stored state once read, if its log ends
   * at its latest checkpoint (the usual case after an unload or a graceful
   * stop), else null. Building a big doc takes hundreds of ms (Yjs integrates
   * every struct); a newcomer asking for the whole doc can have these exact,
   * durable bytes at once. Null as well once loaded, and with a cluster
   * (another instance may commit while this one builds).
   */
  whenStored(name: string): Promise<StoredState | null> {
    return this.stored.get(name) ?? Promise.resolve(null)
  }

  private async load(name: string): Promise<Room> {
    let publish!: (s: StoredState | null) => void
    this.stored.set(name, new Promise((resolve) => (publish = resolve)))
    try {
      return await this.loadStored(name, publish)
    } finally {
      publish(null)
      this.stored.delete(name)
    }
  }

  private async loadStored(name: string, publish: (s: StoredState | null) => void): Promise<Room> {
    // Subscribe before reading the store, so no update committed elsewhere falls between the two.
    await this.opts.cluster?.subscribe(name)
    const [checkpoint, owners] = await Promise.all([this.readCheckpoint(name), this.store.clientOwners(name)])
    const rows = await this.store.readUpdates(name, checkpoint?.seq ?? 0)
    if (checkpoint && rows.length === 0 && !this.opts.cluster) {
      // Nothing can commit to this doc before its room exists: the checkpoint is its state.
      const early: StoredState = { state: checkpoint.state, waiting: [] }
      publish(early)
      // A moment for the connections waiting on this doc to be answered, and for the answers to
      // leave, before the (blocking) build.
      await new Promise((resolve) => setImmediate(resolve))
      if (early.waiting.length > 0) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([Promise.all(early.waiting), new Promise((r) => (timer = setTimeout(r, EARLY_ANSWER_WAIT_MS)))])
        clearTimeout(timer)
      }
    }
    publish(null)
    const doc = new QuietDoc()
    const baseState = checkpoint?.state ?? Y.encodeStateAsUpdate(doc)
    if (checkpoint) Y.applyUpdate(doc, checkpoint.state)
    const tail = rows.map((r) => r.update)
    applyTail(doc, tail, (err) => this.opts.log('error', `skipping an unreadable stored update of ${name}`, err))
    const seq = rows.length > 0 ? rows[rows.length - 1]!.seq : (checkpoint?.seq ?? 0)
    const room = new Room(
      name,
      { doc, seq, baseState, tail, checkpointSeq: checkpoint?.seq ?? 0, owners },
      {
        ...this.deps,
        limits: { ...this.deps.limits, ...this.limitsFor(name) },
        saveCheckpoint: (r, s, state) => this.saveCheckpoint(r, s, state),
        catchUp: (r) => this.catchUp(r),
      },
    )
    await this.opts.onCreate?.(room)
    this.rooms.set(name, room)
    this.opts.cluster?.loaded(room)
    // A long tail means the last run ended without a checkpoint: write one now, if it is due.
    room.maybeCheckpoint()
    return room
  }

  /** The newest checkpoint; null, and a logged error, when it is stored but damaged (its checksum fails). */
  private async readCheckpoint(name: string): Promise<Checkpoint | null> {
    try {
      return await this.store.latestCheckpoint(name)
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err
      this.opts.log('error', `the checkpoint of ${name} cannot be read; loading it from its log`, err)
      return null
    }
  }

  private saveCheckpoint(room: Room, seq: number, state: Uint8Array): void {
    const saving = this.store
      .saveCheckpoint({ doc: room.name, seq, at: this.deps.now(), state })
      .catch((err) => this.opts.log('warn', `checkpoint of ${room.name} at ${seq} not saved`, err))
      .finally(() => this.savingCheckpoints.delete(saving))
    this.savingCheckpoints.add(saving)
  }

  private catchingUp = new Set<Room>()

  /**
   * Reads the rows a room lacks — up to the store's head — and applies them.
   * Used when another instance's update arrived past a gap, after Redis
   * reconnects, and by the periodic check that covers lost pub/sub messages.
   */
  catchUp(room: Room): void {
    if (this.catchingUp.has(room)) return
    this.catchingUp.add(room)
    this.store
      .readUpdates(room.name, room.committedSeq)
      .then((rows) => {
        if (this.rooms.get(room.name) === room) room.applyStored(rows)
      })
      .catch((err) => this.opts.log('warn', `catch-up of ${room.name} failed`, err))
      .finally(() => {
        this.catchingUp.delete(room)
        // rows that arrived past a new gap while this read was running
        if (room.hasGap && this.rooms.get(room.name) === room) setTimeout(() => this.catchUp(room), 50).unref()
      })
  }

  /**
   * Awaitable catch-up: resolves once the room holds every row the store had
   * when it was called. Commands call it under their negotiation's lock
   * before they read the doc, so they decide on what other instances
   * committed a moment ago. Without a cluster the room is its doc's only
   * writer and always current: nothing to read.
   */
  async catchUpNow(room: Room): Promise<void> {
    if (!this.opts.cluster) return
    const rows = await this.store.readUpdates(room.name, room.committedSeq)
    if (this.rooms.get(room.name) === room) room.applyStored(rows)
  }

  /** Catches up every loaded room that is behind the store (cheap head check first). */
  async catchUpAll(): Promise<void> {
    for (const room of [...this.rooms.values()]) {
      try {
        if ((await this.store.headSeq(room.name)) > room.committedSeq) this.catchUp(room)
      } catch (err) {
        this.opts.log('warn', `head check of ${room.name} failed`, err)
      }
    }
  }

  /** Keeps `room` loaded while something else needs it (a board room needs its ledger room). */
  pin(room: Room): void {
    room.pins++
    if (room.unloadTimer) {
      clearTimeout(room.unloadTimer)
      room.unloadTimer = null
    }
  }

  /** Ends a pin; the room unloads after the grace period if nothing else holds it. */
  unpin(room: Room): void {
    room.pins = Math.max(0, room.pins - 1)
    this.scheduleUnload(room)
  }

  /** Called when a room's last connection left: unload after the grace period. */
  scheduleUnload(room: Room): void {
    if (room.connections.size > 0 || room.pins > 0 || room.unloadTimer) return
    room.unloadTimer = setTimeout(() => {
      room.unloadTimer = null
      if (room.connections.size > 0 || room.pins > 0) return
      if (room.pendingWork) return this.scheduleUnload(room)
      this.unload(room)
    }, this.opts.graceMs)
    room.unloadTimer.unref()
  }

  private unload(room: Room): void {
    room.checkpointNow()
    this.rooms.delete(room.name)
    this.opts.cluster?.unsubscribe(room.name)
    this.opts.onUnload?.(room)
    room.destroy()
  }

  /** Checkpoints every room, waits for the checkpoints to be written, and forgets the rooms (shutdown). */
  async closeAll(): Promise<void> {
    for (const room of [...this.rooms.values()]) this.unload(room)
    await Promise.all([...this.savingCheckpoints])
  }

  addListenerToAll(listener: RoomListener): void {
    for (const room of this.rooms.values()) room.addListener(listener)
  }
}

/**
 * Applies stored updates in order, in one transaction, one by one: the tail
 * since a checkpoint may be thousands of keystrokes, and Y.mergeUpdates is
 * quadratic in their number (measured on the bench board: 300 updates 1 ms
 * applied vs 18 ms merged; 20 000 updates ~90 ms vs 6 s). An update that
 * cannot be applied is skipped, so one bad row cannot make the doc unloadable.
 */
export function applyTail(doc: Y.Doc, updates: Uint8Array[], onError: (err: unknown) => void): void {
  if (updates.length === 0) return
  Y.transact(doc, () => {
    for (const u of updates) {
      try {
        Y.applyUpdate(doc, u)
      } catch (err) {
        onError(err)
      }
    }
  })
}
