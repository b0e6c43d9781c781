/**
 * Two delegations typing into one term, every keystroke one log row folded
 * by RowDeltas (server/history/rowDelta.ts): for the work test of issue 12
 * and bench/rowDelta.ts. `fragment` types the way people write — a run of a
 * few to a few hundred keystrokes at one place (now and then a few
 * backspaces), then a jump — alternating delegations, so the term ends up
 * in many Yjs items instead of one long run.
 */
import * as Y from 'yjs'
import { board, insertTerm } from '../../shared/docLayout'
import { applyBoard, composeBoard, emptyBoard, type BoardDelta, type BoardState } from '../../server/history/delta'
import { RowDeltas } from '../../server/history/rowDelta'
import { Peers, type Peer } from './boardPeers'

export const TERM = 't-1'
const LETTERS = 'abcdefghijklmnopqrstuvwxyz абвгдеж خلال '
/** rows composed before they are applied to the tracked state (as the materialiser's blocks are) */
const BLOCK = 256

export interface RigOptions {
  /** keep the board the deltas describe (costs a compose per row; default true) */
  track?: boolean
  /** also apply every row to a plain Y.Doc, and time both (for the bench) */
  twin?: boolean
}

export class TypingRig {
  readonly hist = new Y.Doc()
  readonly rows = new RowDeltas(this.hist, 'board')
  readonly peers: Peers
  seq = 0
  /** nanoseconds spent in RowDeltas.apply, and in Y.applyUpdate of the same rows on the twin */
  readonly nanos = { rowDelta: 0n, plain: 0n }
  private readonly twin: Y.Doc | null
  private readonly track: boolean
  private state: BoardState = emptyBoard()
  private block: BoardDelta = {}
  private pending = 0

  constructor(options: RigOptions = {}) {
    this.track = options.track ?? true
    this.twin = options.twin ? new Y.Doc() : null
    this.peers = new Peers(['us', 'ru'], 1, this.hist, (u, party) => this.fold(u, party))
    this.peers.edit(this.peers.peers[0]!, (d) => insertTerm(d, TERM, { title: 'Article 1', body: '' }))
  }

  get us(): Peer {
    return this.peers.peers[0]!
  }

  get ru(): Peer {
    return this.peers.peers[1]!
  }

  body(peer: Peer): Y.Text {
    return board(peer.doc).terms.get(TERM)!.get('body') as Y.Text
  }

  /** One keystroke (one row). */
  type(peer: Peer, pos: number, ch: string): void {
    this.body(peer).insert(pos, ch)
  }

  /** One backspace (one row): removes the character before `pos`. */
  backspace(peer: Peer, pos: number): void {
    this.body(peer).delete(pos - 1, 1)
  }

  /** Items the row-delta step visited while `f` ran. */
  visits(f: () => void): number {
    const before = this.rows.stats().visited
    f()
    return this.rows.stats().visited - before
  }

  /** The board the deltas so far describe. */
  folded(): BoardState {
    if (this.pending > 0) {
      this.state = applyBoard(this.state, this.block)
      this.block = {}
      this.pending = 0
    }
    return this.state
  }

  /** Types until the term's body holds `chars` characters, in runs at random places. */
  fragment(chars: number, rand: () => number): void {
    let turn = 0
    while (this.body(this.us).length < chars) {
      const peer = turn++ % 2 === 0 ? this.us : this.ru
      const t = this.body(peer)
      let pos = Math.floor(rand() * (t.length + 1))
      const run = Math.min(3 + Math.floor(rand() * rand() * 300), chars - t.length)
      for (let k = 0; k < run; k++) {
        if (k > 2 && pos > 0 && rand() < 0.03) {
          for (let b = 0; b < 3 && pos > 0; b++) this.backspace(peer, pos--)
        }
        this.type(peer, pos++, LETTERS[Math.floor(rand() * LETTERS.length)]!)
      }
    }
  }

  destroy(): void {
    this.rows.destroy()
    this.peers.destroy()
    this.hist.destroy()
    this.twin?.destroy()
  }

  private plain(update: Uint8Array): void {
    if (!this.twin) return
    const t0 = process.hrtime.bigint()
    Y.applyUpdate(this.twin, update)
    this.nanos.plain += process.hrtime.bigint() - t0
  }

  private fold(update: Uint8Array, party: string): void {
    // The twin goes first on every other row, so neither is timed with the other's warm caches only.
    const twinFirst = this.seq % 2 === 0
    if (twinFirst) this.plain(update)
    const t0 = process.hrtime.bigint()
    const d = this.rows.apply(update, party, ++this.seq)
    this.nanos.rowDelta += process.hrtime.bigint() - t0
    if (!twinFirst) this.plain(update)
    if (!this.track) return
    this.block = composeBoard(this.block, d)
    if (++this.pending >= BLOCK) this.folded()
  }
}
