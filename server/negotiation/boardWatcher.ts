/**
 * Watches each negotiation's board and keeps the ledger in step with it:
 * a term that appears is `proposed` by the party whose update created it; a
 * change to an agreed term's text `reopens` it, attributed to the editor; a
 * term removed by anyone but its proposer is put back (only the proposing
 * delegation may withdraw, and an agreed term cannot vanish).
 *
 * It runs inside the transaction that applies the board update, so its
 * ledger writes join the same group commit. It runs on every keystroke, so it
 * reads no more than it needs: a term's text once, and the ledger's status of
 * a term only when an edit could change it (an agreed term).
 */
import * as Y from 'yjs'
import { board, insertTerm, ledger, readStatus, statusFromMap, textOf, writeStatus, type NewTerm } from '../../shared/docLayout'
import { applyMove, type MoveOutcome } from '../../shared/negotiation'
import type { Room, UpdateOrigin } from '../sync/room'
import type { Author } from '../store/types'

/** Travels with a ledger write to the history: which move it was and on whose behalf. */
export interface LedgerMoveMeta {
  kind: Exclude<MoveOutcome, 'none'> | 'checkpoint' | 'restore'
  termIds: string[]
  party: string | null
  user: string
  reason?: string
  name?: string
  /** for `restore`: the version whose text was put back */
  restoredFrom?: number
  /** made here, in reaction to a board update (the history folds it right after that update) */
  via?: 'board'
}

/** What one board update did to terms. */
interface TermTouches {
  text: Set<string>
  layout: Set<string>
  added: Set<string>
  removed: Set<string>
}

export interface PartyLookup {
  partiesOf(negotiationId: string): Promise<Array<{ id: string }>>
}

export class BoardWatcher {
  /** last known text of every term per board, to put back a term removed without the right */
  private texts = new WeakMap<Room, Map<string, NewTerm>>()
  private parties = new Map<string, string[]>()

  constructor(
    private readonly lookup: PartyLookup,
    private readonly now: () => number,
  ) {}

  async watch(boardRoom: Room, ledgerRoom: Room): Promise<void> {
    const negotiationId = boardRoom.name.split('/')[0]!
    this.parties.set(
      negotiationId,
      (await this.lookup.partiesOf(negotiationId)).map((p) => p.id),
    )
    const attach = (doc: Y.Doc) => {
      const cache = new Map<string, NewTerm>()
      board(doc).terms.forEach((_m, id) => cache.set(id, snapshotTerm(doc, id)!))
      this.texts.set(boardRoom, cache)
      board(doc).terms.observeDeep((events, txn) => this.onTermsChanged(negotiationId, boardRoom, ledgerRoom, events, txn))
    }
    attach(boardRoom.doc)
    boardRoom.addListener({ onDocReplaced: (room) => attach(room.doc) })
  }

  private onTermsChanged(
    negotiationId: string,
    boardRoom: Room,
    ledgerRoom: Room,
    events: Array<Y.YEvent<any>>,
    txn: Y.Transaction,
  ): void {
    const origin = txn.origin as UpdateOrigin | null
    // Only changes made here: another instance's updates were handled by the instance that took them.
    if (!origin || typeof origin !== 'object' || !('source' in origin)) return
    if (origin.source !== 'connection' && origin.source !== 'server') return
    const touches: TermTouches = { text: new Set(), layout: new Set(), added: new Set(), removed: new Set() }
    const terms = board(boardRoom.doc).terms
    for (const ev of events) {
      if (ev.target === terms) {
        for (const [termId, change] of ev.changes.keys) {
          if (change.action === 'add') touches.added.add(termId)
          else if (change.action === 'delete') touches.removed.add(termId)
          else touches.text.add(termId) // the whole term map was replaced
        }
        continue
      }
      const termId = ev.path[0]
      if (typeof termId !== 'string') continue
      const field = ev.target instanceof Y.Text ? ev.path[1] : undefined
      if (field === 'title' || field === 'body') touches.text.add(termId)
      else if (ev instanceof Y.YMapEvent && (ev.keysChanged.has('title') || ev.keysChanged.has('body'))) touches.text.add(termId)
      else touches.layout.add(termId)
    }

    const author = origin.author
    const parties = this.parties.get(negotiationId) ?? []
    const cache = this.texts.get(boardRoom)!
    const now = this.now()
    const restore: Array<[string, NewTerm]> = []
    const moves: Array<{ termId: string; run: (doc: Y.Doc) => void; meta: LedgerMoveMeta }> = []

    for (const termId of touches.added) {
      const snapshot = snapshotTerm(boardRoom.doc, termId)
      if (snapshot) cache.set(termId, snapshot)
      if (readStatus(ledgerRoom.doc, termId)) continue
      const t = applyMove(undefined, { kind: 'propose', party: author.party }, parties, now)
      moves.push({ termId, run: (doc) => writeStatus(doc, termId, t.status), meta: this.meta('propose', termId, author) })
    }
    for (const termId of touches.text) {
      const m = terms.get(termId)
      if (!(m instanceof Y.Map) || touches.added.has(termId)) continue
      const snapshot = snapshotOf(m)
      cache.set(termId, snapshot)
      if (!author.party) continue
      // An edit changes the status of an agreed term only (applyMove 'edit'): others need no status read.
      const statusMap = ledger(ledgerRoom.doc).status.get(termId)
      if (!(statusMap instanceof Y.Map) || statusMap.get('state') !== 'agreed') continue
      const text = { title: snapshot.title, body: snapshot.body }
      const t = applyMove(statusFromMap(statusMap), { kind: 'edit', party: author.party, text }, parties, now)
      if (t.outcome === 'reopen') {
        moves.push({ termId, run: (doc) => writeStatus(doc, termId, t.status), meta: this.meta('reopen', termId, author) })
      }
    }
    for (const termId of touches.layout) {
      const snapshot = snapshotTerm(boardRoom.doc, termId)
      if (snapshot) cache.set(termId, snapshot)
    }
    for (const termId of touches.removed) {
      if (terms.has(termId)) continue
      const status = readStatus(ledgerRoom.doc, termId)
      const last = cache.get(termId)
      const proposerWithdraws =
        status &&
        status.state !== 'agreed' &&
        status.state !== 'withdrawn' &&
        author.party !== null &&
        status.proposedBy === author.party
      if (proposerWithdraws) {
        const t = applyMove(status, { kind: 'withdraw', party: author.party! }, parties, now)
        moves.push({ termId, run: (doc) => writeStatus(doc, termId, t.status), meta: this.meta('withdraw', termId, author) })
      } else if (last && origin.source === 'connection') {
        restore.push([termId, last])
      }
    }

    for (const m of moves) void ledgerRoom.serverWrite(author, m.run, m.meta)?.catch(() => {})
    if (restore.length > 0) {
      // Put the terms back after this transaction: a removal its author had no right to make.
      queueMicrotask(() => {
        void boardRoom
          .serverWrite({ user: 'Parley', party: null, role: 'server', conn: 'server' }, (doc) => {
            for (const [termId, text] of restore) if (!board(doc).terms.has(termId)) insertTerm(doc, termId, text)
          })
          ?.catch(() => {})
      })
    }
  }

  private meta(kind: LedgerMoveMeta['kind'], termId: string, author: Author): LedgerMoveMeta {
    return { kind, termIds: [termId], party: author.party, user: author.user, via: 'board' }
  }
}

function snapshotTerm(doc: Y.Doc, termId: string): NewTerm | null {
  const m = board(doc).terms.get(termId)
  return m instanceof Y.Map ? snapshotOf(m) : null
}

function snapshotOf(m: Y.Map<unknown>): NewTerm {
  const num = (k: string) => {
    const v = m.get(k)
    return typeof v === 'number' ? v : 0
  }
  return { title: textOf(m, 'title'), body: textOf(m, 'body'), x: num('x'), y: num('y') }
}
