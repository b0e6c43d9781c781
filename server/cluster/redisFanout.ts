/**
 * Fan-out between server instances over Redis pub/sub (REDIS_URL).
 *
 * Why pub/sub and not streams: the store already is the durable, totally
 * ordered log (per-doc seqs assigned under a row lock in PostgreSQL), so
 * Redis only has to ring the doorbell fast. Each message carries the update
 * and its seq; a receiver that sees a gap — a lost message, a Redis restart,
 * a subscription made late — reads the missing rows back from the store.
 * Streams would add a second durable log to keep consistent with the first.
 *
 * One channel per document: `<prefix>:doc:<docName>`; an instance subscribes
 * while it has the doc loaded. Awareness travels the same way and is not
 * stored. Messages an instance published itself are ignored on receipt.
 * A sealed caucus's rows (server/sync/sealedRooms.ts) ring the same doorbell
 * on their doc's channel: seq, nonce and ciphertext, as stored.
 */
import { Redis } from 'ioredis'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { randomUUID } from 'node:crypto'
import type { AwarenessEntry } from '../sync/messages'
import type { ClusterLink, Room, StoredRow } from '../sync/room'
import type { ClusterSubscriptions } from '../sync/roomRegistry'
import type { SealedRow } from '../sync/sealedRoom'
import type { SealedCluster } from '../sync/sealedRooms'
import type { Logger } from '../log'

const KIND_UPDATES = 0
const KIND_AWARENESS = 1
/** "tell me your clients' awareness": answered with KIND_AWARENESS */
const KIND_AWARENESS_QUERY = 2
/** a sealed caucus's rows: seq, nonce, ciphertext each */
const KIND_SEALED = 3
/** A room load waits at most this long for its subscription (Redis may be failing right now). */
const SUBSCRIBE_WAIT_MS = 1000

/** What arrives for a doc before its room has finished loading. */
type Held = { rows: StoredRow[]; awareness: AwarenessEntry[] }

export class RedisFanout implements ClusterLink, ClusterSubscriptions, SealedCluster {
  readonly instanceId = randomUUID()
  readonly pub: Redis
  readonly sub: Redis
  private rooms = new Map<string, Room>()
  private held = new Map<string, Held>()
  /** sealed docs subscribed to, and where their rows go */
  private sealedSinks = new Map<string, (rows: SealedRow[]) => void>()
  private reconnectListeners: Array<() => void> = []
  private eventListeners: Array<(event: { type: string; id: string }) => void> = []
  private everReady = false

  constructor(
    private readonly url: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    // Publishing must not queue while Redis is away: the receivers catch up from the store anyway.
    this.pub = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true })
    this.sub = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true })
    for (const [name, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('error', (err) => this.log.warn(`redis ${name}: ${err.message}`))
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message))
    // Awareness is never stored: what was published while Redis was away is lost. After a
    // reconnect (of either client) every instance announces its own clients' cursors again
    // and asks the others for theirs — once now, once a moment later, since the two clients
    // and the other instances come back in no particular order.
    let publisherWasReady = false
    this.pub.on('ready', () => {
      if (publisherWasReady) this.refreshAwareness()
      publisherWasReady = true
    })
    // ioredis resubscribes by itself after a reconnect; the rooms then catch up on what they missed.
    this.sub.on('ready', () => {
      if (this.everReady) {
        for (const l of this.reconnectListeners) l()
        this.refreshAwareness()
      }
      this.everReady = true
    })
  }

  /** A plain client on the same server (for the socket.io adapter). */
  newClient(): Redis {
    const client = new Redis(this.url)
    client.on('error', (err) => this.log.warn(`redis (socket.io adapter): ${err.message}`))
    return client
  }

  async start(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()])
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener)
  }

  private channel(docName: string): string {
    return `${this.prefix}:doc:${docName}`
  }

  // ── ClusterSubscriptions ───────────────────────────────────────────────

  async subscribe(docName: string): Promise<void> {
    this.held.set(docName, { rows: [], awareness: [] })
    await this.joinChannel(docName)
  }

  /**
   * Subscribes to the doc's channel, waiting at most SUBSCRIBE_WAIT_MS for Redis to confirm. Redis away:
   * the doc loads from the store now, and the subscription goes out when Redis is back; the catch-up that
   * follows every reconnect (and the periodic one) fills what was missed.
   */
  private async joinChannel(docName: string): Promise<void> {
    const subscribing = this.sub.subscribe(this.channel(docName))
    subscribing.catch(() => {})
    if (this.sub.status !== 'ready') return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([subscribing, new Promise<void>((resolve) => (timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS)))])
    clearTimeout(timer)
  }

  loaded(room: Room): void {
    this.rooms.set(room.name, room)
    const held = this.held.get(room.name)
    this.held.delete(room.name)
    if (held?.rows.length) room.applyStored(held.rows)
    if (held?.awareness.length) room.receiveRemoteAwareness(held.awareness)
  }

  unsubscribe(docName: string): void {
    this.rooms.delete(docName)
    this.held.delete(docName)
    this.sub.unsubscribe(this.channel(docName)).catch(() => {})
  }

  // ── SealedCluster ──────────────────────────────────────────────────────

  async subscribeSealed(docName: string, sink: (rows: SealedRow[]) => void): Promise<void> {
    this.sealedSinks.set(docName, sink)
    // Redis away: as for a Yjs doc, the room starts from the store and catches up once Redis is back.
    await this.joinChannel(docName)
  }

  unsubscribeSealed(docName: string): void {
    this.sealedSinks.delete(docName)
    this.sub.unsubscribe(this.channel(docName)).catch(() => {})
  }

  publishSealed(docName: string, rows: SealedRow[]): void {
    if (rows.length === 0) return
    const e = this.header(KIND_SEALED)
    encoding.writeVarUint(e, rows.length)
    for (const r of rows) {
      encoding.writeVarUint(e, r.seq)
      encoding.writeVarUint8Array(e, r.nonce)
      encoding.writeVarUint8Array(e, r.ciphertext)
    }
    this.publish(docName, e)
  }

  // ── ClusterLink ────────────────────────────────────────────────────────

  publishUpdates(room: Room, updates: Array<{ seq: number; update: Uint8Array }>): void {
    const e = this.header(KIND_UPDATES)
    encoding.writeVarUint(e, updates.length)
    for (const u of updates) {
      encoding.writeVarUint(e, u.seq)
      encoding.writeVarUint8Array(e, u.update)
    }
    this.publish(room.name, e)
  }

  publishAwareness(room: Room, entries: AwarenessEntry[]): void {
    if (entries.length === 0) return
    const e = this.header(KIND_AWARENESS)
    encoding.writeVarUint(e, entries.length)
    for (const a of entries) {
      encoding.writeVarUint(e, a.clientId)
      encoding.writeVarUint(e, a.clock)
      encoding.writeVarString(e, a.json)
    }
    this.publish(room.name, e)
  }

  private refreshAwareness(): void {
    const round = () => {
      if (this.pub.status !== 'ready') return
      for (const room of this.rooms.values()) {
        this.publishAwareness(room, room.localAwarenessEntries())
        const e = this.header(KIND_AWARENESS_QUERY)
        encoding.writeVarUint(e, 0)
        this.publish(room.name, e)
      }
    }
    round()
    setTimeout(round, 1000).unref()
  }

  private header(kind: number): encoding.Encoder {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, kind)
    encoding.writeVarString(e, this.instanceId)
    return e
  }

  private publish(docName: string, e: encoding.Encoder): void {
    this.pub.publish(this.channel(docName), Buffer.from(encoding.toUint8Array(e))).catch(() => {
      // Redis is away: other instances notice the gap and read these rows from the store.
    })
  }

  /** Instance-wide events (e.g. a negotiation was deleted), as small JSON messages. */
  async onEvent(listener: (event: { type: string; id: string }) => void): Promise<void> {
    this.eventListeners.push(listener)
    if (this.eventListeners.length === 1) await this.sub.subscribe(`${this.prefix}:events`)
  }

  publishEvent(event: { type: string; id: string }): void {
    this.pub.publish(`${this.prefix}:events`, JSON.stringify({ ...event, from: this.instanceId })).catch(() => {})
  }

  private onMessage(channel: string, message: Buffer): void {
    if (channel === `${this.prefix}:events`) return this.onEventMessage(message)
    const docName = channel.slice(this.prefix.length + ':doc:'.length)
    try {
      const d = decoding.createDecoder(new Uint8Array(message.buffer, message.byteOffset, message.byteLength))
      const kind = decoding.readVarUint(d)
      if (decoding.readVarString(d) === this.instanceId) return
      const n = decoding.readVarUint(d)
      if (kind === KIND_SEALED) {
        const sink = this.sealedSinks.get(docName)
        if (!sink) return
        const rows: SealedRow[] = []
        // copied: the reply buffer may be reused by the Redis client
        for (let i = 0; i < n; i++)
          rows.push({
            seq: decoding.readVarUint(d),
            nonce: new Uint8Array(decoding.readVarUint8Array(d)),
            ciphertext: new Uint8Array(decoding.readVarUint8Array(d)),
          })
        return sink(rows)
      }
      const room = this.rooms.get(docName)
      const held = room ? null : this.held.get(docName)
      if (!room && !held) return
      if (kind === KIND_UPDATES) {
        const rows: StoredRow[] = []
        // copied: the reply buffer may be reused by the Redis client
        for (let i = 0; i < n; i++)
          rows.push({ seq: decoding.readVarUint(d), update: new Uint8Array(decoding.readVarUint8Array(d)) })
        if (room) room.applyStored(rows)
        else held!.rows.push(...rows)
      } else if (kind === KIND_AWARENESS_QUERY) {
        if (room) this.publishAwareness(room, room.localAwarenessEntries())
      } else if (kind === KIND_AWARENESS) {
        const entries: AwarenessEntry[] = []
        for (let i = 0; i < n; i++) {
          entries.push({ clientId: decoding.readVarUint(d), clock: decoding.readVarUint(d), json: decoding.readVarString(d) })
        }
        if (room) room.receiveRemoteAwareness(entries)
        else held!.awareness.push(...entries)
      }
    } catch (err) {
      this.log.warn(`unreadable cluster message on ${channel}`, err)
    }
  }

  private onEventMessage(message: Buffer): void {
    try {
      const event = JSON.parse(message.toString()) as { type: unknown; id: unknown; from: unknown }
      if (event.from === this.instanceId || typeof event.type !== 'string' || typeof event.id !== 'string') return
      for (const l of this.eventListeners) l({ type: event.type, id: event.id })
    } catch {
      this.log.warn('unreadable cluster event')
    }
  }

  async close(): Promise<void> {
    this.pub.disconnect()
    this.sub.disconnect()
  }
}
