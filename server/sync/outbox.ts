/**
 * Outgoing framing: a committed batch's messages, encoded once and grouped
 * so every connection gets one socket write. Each update goes out as its
 * sender sent it (DESIGN.md: forward the bytes, never re-encode), to everyone
 * but its sender; every recipient that neither sent nor is addressed alone
 * gets the very same bytes (`common`).
 */
import { Outgoing, type Connection } from './connection'
import type { BatchItem } from './batch'
import { encodeSaveReceipt, encodeSyncStep2, encodeSyncUpdate } from './messages'

/** A batch's sends, framed: `common` for every connection not in `individual`. */
export interface Outbox {
  common: Outgoing | null
  individual: Map<Connection, Outgoing>
}

/** One outbound message of a batch: to everyone (but one), or to one connection. */
type Segment =
  { kind: 'broadcast'; except: Connection | null; message: Uint8Array } | { kind: 'direct'; to: Connection; message: Uint8Array }

/** What framing needs of the room's doc as committed. */
export interface OutboxSource {
  /** the full state, or what a client with this state vector lacks */
  stateFor(stateVector: Uint8Array): Uint8Array
  /** the highest seq in the doc: a receipt for an update that added nothing confirms everything so far */
  highestSeq: number
}

export function prepareOutbox(items: readonly BatchItem[], source: OutboxSource): Outbox {
  const segments: Segment[] = []
  const special = new Set<Connection>()
  for (const item of items) {
    switch (item.kind) {
      case 'update': {
        const sender = item.origin.source === 'connection' ? item.origin.conn : null
        segments.push({ kind: 'broadcast', except: sender, message: encodeSyncUpdate(item.update) })
        if (sender) {
          special.add(sender)
          // One receipt per update (CONTRACT.md: "after each of its updates"), so a client can count what is unsaved.
          if (sender.wantsReceipts)
            segments.push({ kind: 'direct', to: sender, message: encodeSaveReceipt(item.seq ?? source.highestSeq) })
        }
        break
      }
      case 'sync-reply':
        segments.push({ kind: 'direct', to: item.conn, message: encodeSyncStep2(source.stateFor(item.stateVector)) })
        special.add(item.conn)
        break
      case 'send':
        segments.push({ kind: 'direct', to: item.conn, message: item.message })
        special.add(item.conn)
        break
      case 'broadcast':
        segments.push({ kind: 'broadcast', except: item.except, message: item.message })
        if (item.except) special.add(item.except)
        break
      case 'receipt':
        segments.push({ kind: 'direct', to: item.conn, message: encodeSaveReceipt(source.highestSeq) })
        special.add(item.conn)
        break
    }
  }
  const common: Uint8Array[] = []
  for (const seg of segments) if (seg.kind === 'broadcast') common.push(seg.message)
  const individual = new Map<Connection, Outgoing>()
  for (const conn of special) {
    const own: Uint8Array[] = []
    for (const seg of segments) if (seg.kind === 'broadcast' ? seg.except !== conn : seg.to === conn) own.push(seg.message)
    individual.set(conn, new Outgoing(own))
  }
  return { common: common.length > 0 ? new Outgoing(common) : null, individual }
}

/** Writes a prepared batch to the room's connections: one write each. */
export function sendOutbox(connections: Iterable<Connection>, outbox: Outbox): void {
  const now = Date.now()
  for (const conn of connections) {
    const out = outbox.individual.get(conn) ?? outbox.common
    if (out) conn.sendOutgoing(out, now)
  }
}
