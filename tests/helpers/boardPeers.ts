/**
 * Yjs peers around one server log, in process (a small TestConnector in the
 * style of yjs's tests/testHelper.js): each peer is a Y.Doc with a fixed
 * client id owned by a party. An online peer's every transaction becomes one
 * log row at once and reaches the other online peers; an offline peer keeps
 * its updates, and when it (or several peers of one party together) comes
 * back they are sent as one row, merged with Y.mergeUpdates — the shape of a
 * sync after offline typing, with concurrent inserts at the same places —
 * and the peers catch up from the server's doc.
 */
import * as Y from 'yjs'

const REMOTE = Symbol('remote')

export interface Peer {
  readonly doc: Y.Doc
  readonly party: string
  readonly client: number
  online: boolean
  /** updates made while offline */
  readonly outbox: Uint8Array[]
}

export class Peers {
  readonly peers: Peer[] = []
  /** party of every client id, as the server records it */
  readonly partyOf = new Map<number, string>()

  /**
   * @param row called with each row in log order; it must apply the row to `server` (the history doc)
   */
  constructor(
    parties: readonly string[],
    perParty: number,
    private readonly server: Y.Doc,
    private readonly row: (update: Uint8Array, party: string) => void,
    firstClient = 100,
  ) {
    let client = firstClient
    for (const party of parties) {
      for (let i = 0; i < perParty; i++) {
        const doc = new Y.Doc()
        doc.clientID = client
        const peer: Peer = { doc, party, client, online: true, outbox: [] }
        doc.on('update', (u: Uint8Array, origin: unknown) => {
          if (origin === REMOTE) return
          if (peer.online) this.send(peer, u)
          else peer.outbox.push(u)
        })
        this.partyOf.set(client, party)
        this.peers.push(peer)
        client++
      }
    }
  }

  /** A local edit of `peer`, one transaction. */
  edit(peer: Peer, f: (doc: Y.Doc) => void): void {
    peer.doc.transact(() => f(peer.doc))
  }

  offline(peer: Peer): void {
    peer.online = false
  }

  /** The offline peers of `party` come back together: what they wrote is one row. */
  reconnect(party: string): void {
    const back = this.peers.filter((p) => p.party === party && !p.online)
    if (back.length === 0) return
    const updates = back.flatMap((p) => p.outbox.splice(0))
    for (const p of back) p.online = true
    if (updates.length > 0) this.send(back[0]!, Y.mergeUpdates(updates), back)
    for (const p of back) {
      Y.applyUpdate(p.doc, Y.encodeStateAsUpdate(this.server, Y.encodeStateVector(p.doc)), REMOTE)
    }
  }

  /** Everyone back online. */
  reconnectAll(): void {
    for (const party of new Set(this.peers.map((p) => p.party))) this.reconnect(party)
  }

  destroy(): void {
    for (const p of this.peers) p.doc.destroy()
  }

  private send(from: Peer, update: Uint8Array, senders: Peer[] = [from]): void {
    this.row(update, from.party)
    for (const p of this.peers) {
      if (p.online && !senders.includes(p)) Y.applyUpdate(p.doc, update, REMOTE)
    }
  }
}
