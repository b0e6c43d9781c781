/**
 * A room's awareness (cursors, selections, names): the states its clients
 * and other instances' clients announced, with the rules on who may speak
 * for which awareness client id. Awareness never touches the doc; what it
 * decides to relay the room sends through its batch like everything else.
 */
import type { Connection } from './connection'
import { checkAwarenessState, stampAwarenessUser, type AwarenessEntry } from './messages'

interface AwarenessState {
  clock: number
  json: string
  /** null: a client of another server instance */
  conn: Connection | null
  /** ms; remote states that stop being renewed are dropped like the clients drop them (30 s) */
  seenAt: number
}

const REMOTE_AWARENESS_TIMEOUT_MS = 30_000

export class RoomAwareness {
  private states = new Map<number, AwarenessState>()

  constructor(
    private readonly now: () => number,
    /** the identity that introduced a Yjs client id, if any */
    private readonly ownerOf: (clientId: number) => string | undefined,
  ) {}

  get size(): number {
    return this.states.size
  }

  /**
   * A connection's awareness update: the entries to relay (stamped with the
   * token's identity), or none. Only an entry that can change what is held
   * needs its JSON checked: the stock client re-sends every remote awareness
   * update it gets — with 500 watchers, 500 copies of each cursor move, by
   * then often outdated — and those are dropped without a look at their JSON.
   */
  receive(conn: Connection, entries: AwarenessEntry[]): AwarenessEntry[] {
    const checked = new Map<AwarenessEntry, Record<string, unknown> | null>()
    for (const entry of entries) {
      const current = this.states.get(entry.clientId)
      if (current && (entry.clock < current.clock || (entry.clock === current.clock && entry.json !== 'null'))) continue
      checked.set(entry, checkAwarenessState(entry.json))
    }
    if (checked.size === 0) return []
    const accepted: AwarenessEntry[] = []
    const identity = conn.peer.awarenessUser
    for (const entry of entries) {
      if (!this.speaksFor(conn, entry.clientId)) continue
      const current = this.states.get(entry.clientId)
      const removal = entry.json === 'null'
      // The stock client echoes every remote awareness update it gets: only newer clocks count.
      if (current && (entry.clock < current.clock || (entry.clock === current.clock && !removal))) continue
      conn.awarenessClientId = entry.clientId
      if (!conn.peer.relayAwareness) continue
      const state = checked.has(entry) ? checked.get(entry) : checkAwarenessState(entry.json)
      // Who the state says it is comes from the token, whatever the client wrote.
      const stamped = state && identity ? { ...entry, json: stampAwarenessUser(state, identity) } : entry
      if (removal) this.states.delete(entry.clientId)
      else this.states.set(entry.clientId, { clock: entry.clock, json: stamped.json, conn, seenAt: this.now() })
      accepted.push(stamped)
    }
    return accepted
  }

  /** Awareness of clients connected to another instance: the entries to relay here. */
  receiveRemote(entries: AwarenessEntry[]): AwarenessEntry[] {
    const now = this.now()
    return entries.filter((e) => {
      const current = this.states.get(e.clientId)
      if (current?.conn) return false // a client of this instance: its own connection speaks for it
      if (current && e.clock <= current.clock && e.json !== 'null') return false
      if (e.json === 'null') this.states.delete(e.clientId)
      else this.states.set(e.clientId, { clock: e.clock, json: e.json, conn: null, seenAt: now })
      return true
    })
  }

  /** A connection left: the removal of its state to relay, if it had one. */
  leave(conn: Connection): AwarenessEntry | null {
    const id = conn.awarenessClientId
    const state = id === null ? undefined : this.states.get(id)
    if (id === null || !state || state.conn !== conn) return null
    this.states.delete(id)
    return { clientId: id, clock: state.clock + 1, json: 'null' }
  }

  /** Every state held (for a newcomer); remote ones not renewed for 30 s are dropped. */
  entries(): AwarenessEntry[] {
    const now = this.now()
    const entries: AwarenessEntry[] = []
    for (const [clientId, s] of this.states) {
      if (!s.conn && now - s.seenAt > REMOTE_AWARENESS_TIMEOUT_MS) this.states.delete(clientId)
      else entries.push({ clientId, clock: s.clock, json: s.json })
    }
    return entries
  }

  /** Awareness of this instance's own clients (for republishing after a Redis reconnect). */
  localEntries(): AwarenessEntry[] {
    const entries: AwarenessEntry[] = []
    for (const [clientId, s] of this.states) if (s.conn) entries.push({ clientId, clock: s.clock, json: s.json })
    return entries
  }

  /** A connection speaks for one awareness client id: its own, not one another identity introduced. */
  private speaksFor(conn: Connection, clientId: number): boolean {
    if (conn.awarenessClientId !== null) return conn.awarenessClientId === clientId
    const owner = this.ownerOf(clientId)
    if (owner !== undefined && owner !== conn.peer.ownerKey) return false
    const holder = this.states.get(clientId)?.conn
    return !holder || holder === conn || holder.closed
  }
}
