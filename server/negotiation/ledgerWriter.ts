/**
 * Watches each negotiation's board and keeps the ledger in step with it:
 * a term that appears is `proposed` by the party whose update created it; a
 * change to an agreed term's text `reopens` it, attributed to the editor; a
 * term removed by anyone but its proposer is put back (only the proposing
 * delegation may withdraw, and an agreed term cannot vanish).
 *
 * It runs inside the transaction that applies the board update, so proposals
 * and withdrawals join the same group commit (appended after the board rows
 * that caused them: see server/sync/commitQueue.ts). It runs on every
 * keystroke, so its work per keystroke must not grow with the term's length:
 * an edit costs a ledger status lookup, and only an edit of an agreed term
 * (rare: it reopens the term) reads the term's text. It keeps no copy of any
 * text: the put-back of a removed term reads what the term held before the
 * removal from the removed Y.Map itself, inside the same transaction's
 * observer, before Yjs collects it (see termBefore.ts).
 *
 * A reopen is different: it races the commands. Both parties' instances may
 * see an edit of an agreed term at once, or a command may accept it on
 * another instance, each deciding on a ledger the other has not seen yet —
 * and a transaction cannot wait for a lock. So an edit of an agreed term only
 * queues its term here; once the edit is committed, the negotiation service
 * takes the command lock, catches both docs up, and `decideReopens` decides
 * again on what they hold then, writing the reopen only if it still applies.
 * Commands decide the queue first, under the same lock, before their own move.
 * An edit of an agreed term that this instance did not take (another
 * instance's, or one found when the board is loaded: its reopen died with a
 * crash) is queued too, without an editor, and decided only after a grace
 * period in which the instance that took it reopens it itself.
 */
import * as Y from 'yjs'
import {
  board,
  bracketsOf,
  insertTerm,
  isConcluded,
  ledger,
  readConclusion,
  readStatus,
  statusFromMap,
  termText,
  writeBrackets,
  writeStatus,
  type NewTerm,
} from '../../shared/docLayout'
import { openBracketGroups } from '../../shared/brackets'
import { applyMove, termHash } from '../../shared/negotiation'
import { PermissionDeniedReason } from '../../shared/protocol'
import { editVoidsPackage, settlePackage, voidPackageAcceptances } from './packageKeeper'
import type { MoveMeta } from '../../shared/moveMeta'
import type { Room } from '../sync/room'
import { isUpdateOrigin } from '../sync/updateOrigin'
import type { Author } from '../store/types'
import { termBefore } from '../yjs/termBefore'
import { forEachTermChange } from '../yjs/termChanges'

/** Travels with a ledger write to the history: which move it was and on whose behalf. */
/** What one board update did to terms. */
interface TermTouches {
  text: Set<string>
  added: Set<string>
  /** term id → the value the key held before (a term's Y.Map, its items deleted but not yet collected) */
  removed: Map<string, unknown>
}

/** What the watcher needs from the negotiation layer. */
export interface LedgerWriterHost {
  partiesOf(negotiationId: string): Promise<Array<{ id: string }>>
  /**
   * Reopens are queued for this board: run `decideReopens` under the
   * negotiation's command lock, on caught-up docs, `delayMs` from now.
   */
  reopensDue(negotiationId: string, rooms: { board: Room; ledger: Room }, delayMs: number): void
}

/** An edit of an agreed term whose reopen is to be decided under the negotiation's lock. */
interface QueuedReopen {
  /** who edited; null: not known here (see UNSEEN_EDIT_GRACE_MS) */
  author: Author | null
  /** not decided before (ms, Date.now) */
  notBefore: number
  /** settles once the board room committed (or failed) the batch holding the edit */
  committed: Promise<void>
}

/**
 * How long an edit of an agreed term that this instance did not take waits before this instance
 * reopens the term: the instance that took it does so within a commit and a lock round, unless
 * it died in between.
 */
export const UNSEEN_EDIT_GRACE_MS = 10_000
/** The longest a reopen waits for its edit's commit (which always ends, in success or failure). */
const COMMIT_WAIT_MS = 15_000
/** A reopen that could not be written is tried again this much later. */
const RETRY_MS = 1000
const SERVER_AUTHOR: Author = { user: 'Parley', party: null, role: 'server', conn: 'server' }
/** Why Parley reopens an agreed term whose editor it does not know (the history's and the decision's reason). */
const UNSEEN_REOPEN_REASON = 'its text no longer matches the agreed text'
/**
 * A term's count of open bracket groups is written this long after the last edit that may have
 * changed it: a count, not a version, so a run of keystrokes costs one recount and at most one write.
 */
export const BRACKET_RECOUNT_MS = 250
export class LedgerWriter {
  private parties = new Map<string, string[]>()
  /** per board room: terms whose reopen waits to be decided */
  private reopens = new WeakMap<Room, Map<string, QueuedReopen>>()
  /** per board room: settles when it next commits or fails a batch */
  private nextCommit = new WeakMap<Room, { promise: Promise<void>; settle: () => void }>()
  /** see UNSEEN_EDIT_GRACE_MS (tests shorten it) */
  unseenEditGraceMs = UNSEEN_EDIT_GRACE_MS
  /** see BRACKET_RECOUNT_MS (tests lengthen it) */
  bracketRecountMs = BRACKET_RECOUNT_MS
  /** per board room: terms whose bracket count is to be recounted, and the timer that will */
  private recounts = new WeakMap<Room, { terms: Set<string>; timer: NodeJS.Timeout }>()

  constructor(
    private readonly host: LedgerWriterHost,
    private readonly now: () => number,
  ) {}

  async watch(boardRoom: Room, ledgerRoom: Room): Promise<void> {
    const negotiationId = boardRoom.name.split('/')[0]!
    this.parties.set(
      negotiationId,
      (await this.host.partiesOf(negotiationId)).map((p) => p.id),
    )
    const attach = (doc: Y.Doc) => {
      board(doc).terms.observeDeep((events, txn) => this.onTermsChanged(negotiationId, boardRoom, ledgerRoom, events, txn))
      board(doc).order.observe((_e, txn) => this.onOrderChanged(boardRoom, ledgerRoom, txn))
    }
    attach(boardRoom.doc)
    // Once concluded, the board takes no client write (CONTRACT.md); the caucus is another room.
    boardRoom.writeRefusal = () => (isConcluded(ledgerRoom.doc) ? PermissionDeniedReason.concluded : null)
    const committed = () => {
      this.nextCommit.get(boardRoom)?.settle()
      this.nextCommit.delete(boardRoom)
    }
    boardRoom.addListener({
      onCommitted: committed,
      onDocReplaced: (room) => {
        attach(room.doc)
        committed()
      },
    })
    // An agreed term whose text no longer matches: its edit was committed, its reopen was not (a crash between).
    ledger(ledgerRoom.doc).status.forEach((m, termId) => {
      if (!(m instanceof Y.Map) || m.get('state') !== 'agreed') return
      const text = termText(boardRoom.doc, termId)
      if (text && termHash(text) !== m.get('agreedHash')) this.queueReopen(negotiationId, boardRoom, ledgerRoom, termId, null)
    })
  }

  /**
   * Decides the queued reopens of a board that are due, on the docs as they are now: the caller
   * holds the negotiation's command lock and has caught both up. Each is written only if the term
   * is still agreed and its text still differs from the agreed text; resolves once the writes are
   * durable. A reopen that could not be written is queued again (and the error thrown).
   */
  async decideReopens(boardRoom: Room, ledgerRoom: Room): Promise<void> {
    const queued = this.reopens.get(boardRoom)
    if (!queued || queued.size === 0) return
    const now = Date.now()
    const due = [...queued].filter(([, q]) => q.notBefore <= now)
    for (const [termId] of due) queued.delete(termId)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(due.map(([, q]) => q.committed)),
      new Promise((resolve) => (timer = setTimeout(resolve, COMMIT_WAIT_MS))),
    ])
    clearTimeout(timer)
    const parties = this.parties.get(boardRoom.name.split('/')[0]!) ?? []
    const writes: Array<{ termId: string; q: QueuedReopen; write: Promise<number> }> = []
    for (const [termId, q] of due) {
      // A concluded negotiation's text is final: an edit that slipped in on another instance before it heard
      // of the conclusion changes nothing in the ledger (the record is of the concluded package).
      if (isConcluded(ledgerRoom.doc)) break
      const statusMap = ledger(ledgerRoom.doc).status.get(termId)
      const text = termText(boardRoom.doc, termId)
      if (!(statusMap instanceof Y.Map) || statusMap.get('state') !== 'agreed' || !text) continue
      const status = statusFromMap(statusMap)
      const t = applyMove(
        status,
        q.author
          ? { kind: 'edit', party: q.author.party ?? '', user: q.author.user, text }
          : { kind: 'edit', party: '', user: SERVER_AUTHOR.user, reason: UNSEEN_REOPEN_REASON, text },
        parties,
        this.now(),
      )
      if (t.outcome !== 'reopen') continue
      const meta: MoveMeta = q.author
        ? this.meta('reopen', termId, q.author)
        : {
            kind: 'reopen',
            termIds: [termId],
            party: null,
            user: SERVER_AUTHOR.user,
            reason: UNSEEN_REOPEN_REASON,
          }
      const by = q.author ?? SERVER_AUTHOR
      const cause = { at: this.now(), party: by.party, user: by.user, reason: 'an agreed term was reopened' }
      const write = ledgerRoom.serverWrite(
        by,
        (doc) => {
          writeStatus(doc, termId, t.status)
          settlePackage(doc, boardRoom.doc, cause)
        },
        meta,
      )
      if (write) writes.push({ termId, q, write })
    }
    const failed = (await Promise.allSettled(writes.map((w) => w.write))).flatMap((r, i) =>
      r.status === 'rejected' ? [{ ...writes[i]!, err: r.reason as unknown }] : [],
    )
    if (failed.length === 0) return
    for (const f of failed) if (!queued.has(f.termId)) queued.set(f.termId, { ...f.q, committed: Promise.resolve() })
    this.host.reopensDue(boardRoom.name.split('/')[0]!, { board: boardRoom, ledger: ledgerRoom }, RETRY_MS)
    throw failed[0]!.err
  }

  /** ms until the next queued reopen of this board is due (0: now), or null when none is queued. */
  nextReopenIn(boardRoom: Room): number | null {
    let next: number | null = null
    for (const q of this.reopens.get(boardRoom)?.values() ?? []) next = Math.min(next ?? Infinity, q.notBefore)
    return next === null ? null : Math.max(0, next - Date.now())
  }

  /** How many terms of this board wait for a reopen decision that is due now. */
  queuedReopens(boardRoom: Room): number {
    const now = Date.now()
    let due = 0
    for (const q of this.reopens.get(boardRoom)?.values() ?? []) if (q.notBefore <= now) due++
    return due
  }

  private queueReopen(negotiationId: string, boardRoom: Room, ledgerRoom: Room, termId: string, author: Author | null): void {
    let queued = this.reopens.get(boardRoom)
    if (!queued) this.reopens.set(boardRoom, (queued = new Map()))
    const known = queued.get(termId)
    // The first editor reopened it; an unseen edit never displaces a known one.
    if (known && (known.author || !author)) return
    const delay = author ? 0 : this.unseenEditGraceMs
    queued.set(termId, {
      author,
      notBefore: Date.now() + delay,
      committed: author ? this.committedSoon(boardRoom) : Promise.resolve(),
    })
    this.host.reopensDue(negotiationId, { board: boardRoom, ledger: ledgerRoom }, delay)
  }

  /** Settles when the board room next commits or fails a batch: the one holding the update being applied now. */
  private committedSoon(boardRoom: Room): Promise<void> {
    let next = this.nextCommit.get(boardRoom)
    if (!next) {
      let settle!: () => void
      const promise = new Promise<void>((resolve) => (settle = resolve))
      this.nextCommit.set(boardRoom, (next = { promise, settle }))
    }
    return next.promise
  }

  private onTermsChanged(
    negotiationId: string,
    boardRoom: Room,
    ledgerRoom: Room,
    events: Array<Y.YEvent<any>>,
    txn: Y.Transaction,
  ): void {
    const origin: unknown = txn.origin
    const terms = board(boardRoom.doc).terms
    const touches = touchesOf(events, terms)
    if (!isUpdateOrigin(origin)) {
      // Another instance's update: that instance proposes, withdraws and puts back. A reopen it owes
      // is watched for, in case it died before writing it.
      for (const termId of touches.text) {
        if (ledger(ledgerRoom.doc).status.get(termId)?.get('state') === 'agreed') {
          this.queueReopen(negotiationId, boardRoom, ledgerRoom, termId, null)
        }
      }
      return
    }

    const author = origin.author
    const parties = this.parties.get(negotiationId) ?? []
    const now = this.now()
    const restore: Array<[string, NewTerm]> = []
    const moves: Array<{ termId: string; run: (doc: Y.Doc) => void; meta: MoveMeta }> = []

    for (const termId of touches.added) {
      if (readStatus(ledgerRoom.doc, termId)) continue
      const t = applyMove(undefined, { kind: 'propose', party: author.party }, parties, now)
      moves.push({ termId, run: (doc) => writeStatus(doc, termId, t.status), meta: this.meta('propose', termId, author) })
    }
    for (const termId of touches.text) {
      const m = terms.get(termId)
      if (!(m instanceof Y.Map) || touches.added.has(termId) || !author.party) continue
      // An edit changes the status of an agreed term only (applyMove 'edit'): others need no text read.
      const statusMap = ledger(ledgerRoom.doc).status.get(termId)
      if (!(statusMap instanceof Y.Map) || statusMap.get('state') !== 'agreed') continue
      const text = termText(boardRoom.doc, termId)!
      const t = applyMove(statusFromMap(statusMap), { kind: 'edit', party: author.party, text }, parties, now)
      // Decided again, under the lock, once this edit is committed (see the top of this file).
      if (t.outcome === 'reopen') this.queueReopen(negotiationId, boardRoom, ledgerRoom, termId, author)
    }
    for (const [termId, removed] of touches.removed) {
      if (terms.has(termId)) continue
      const status = readStatus(ledgerRoom.doc, termId)
      const proposerWithdraws =
        status &&
        status.state !== 'agreed' &&
        status.state !== 'withdrawn' &&
        author.party !== null &&
        status.proposedBy === author.party
      if (proposerWithdraws) {
        const t = applyMove(status, { kind: 'withdraw', party: author.party!, user: author.user }, parties, now)
        moves.push({ termId, run: (doc) => writeStatus(doc, termId, t.status), meta: this.meta('withdraw', termId, author) })
      } else if (removed instanceof Y.Map && origin.source === 'connection') {
        // Read now: once this transaction's observers have run, Yjs collects the removed items.
        restore.push([termId, termBefore(removed, txn)])
      }
    }

    const cause = { at: now, party: author.party, user: author.user, reason: `${author.user} changed the board` }
    for (const m of moves)
      void ledgerRoom
        .serverWrite(
          author,
          (doc) => {
            m.run(doc)
            settlePackage(doc, boardRoom.doc, cause)
          },
          m.meta,
        )
        ?.catch(() => {})
    // An edit of the text voids every acceptance of the package (an O(1) look while nobody accepted one).
    if (touches.text.size > 0 && editVoidsPackage(ledgerRoom.doc)) {
      const reason = `${author.user} edited the text`
      void ledgerRoom.serverWrite(author, (doc) => voidPackageAcceptances(doc, { ...cause, reason }))?.catch(() => {})
    }
    this.queueRecounts(boardRoom, ledgerRoom, events, touches)
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

  /**
   * The board's order is part of the package hash: a reorder while a package stands makes a new
   * package (voiding acceptances), in a ledger write of the reordering party. Only this instance's
   * updates (the instance that took the reorder writes it), and only while a package stands.
   */
  private onOrderChanged(boardRoom: Room, ledgerRoom: Room, txn: Y.Transaction): void {
    const origin: unknown = txn.origin
    if (!isUpdateOrigin(origin) || readConclusion(ledgerRoom.doc).package === null) return
    const { author } = origin
    const cause = { at: this.now(), party: author.party, user: author.user, reason: `${author.user} reordered the terms` }
    void ledgerRoom.serverWrite(author, (doc) => settlePackage(doc, boardRoom.doc, cause))?.catch(() => {})
  }

  // ── bracket counts ──────────────────────────────────────────────────────

  /**
   * Terms whose open bracket groups may have changed: those added, and those edited where a `[` or
   * `]` went in or out, or that hold groups already (text typed between `][` splits a group). A
   * keystroke elsewhere in a term without brackets reads nothing; the recount itself runs once per
   * BRACKET_RECOUNT_MS at most, off the keystroke's path.
   */
  private queueRecounts(boardRoom: Room, ledgerRoom: Room, events: Array<Y.YEvent<any>>, touches: TermTouches): void {
    const due = new Set<string>(touches.added)
    for (const termId of touches.text) if (bracketsOf(ledgerRoom.doc, termId) > 0) due.add(termId)
    for (const e of events) {
      if (!(e.target instanceof Y.Text) || !touchesBracket(e)) continue
      const termId = termIdOf(e.target, board(boardRoom.doc).terms)
      if (termId) due.add(termId)
    }
    if (due.size === 0) return
    let pending = this.recounts.get(boardRoom)
    if (!pending) {
      const timer = setTimeout(() => this.recount(boardRoom, ledgerRoom), this.bracketRecountMs)
      timer.unref()
      this.recounts.set(boardRoom, (pending = { terms: new Set(), timer }))
    }
    for (const id of due) pending.terms.add(id)
  }

  /** The terms of this board waiting for their bracket recount (tests look). */
  pendingRecounts(boardRoom: Room): ReadonlySet<string> {
    return this.recounts.get(boardRoom)?.terms ?? new Set()
  }

  private recount(boardRoom: Room, ledgerRoom: Room): void {
    const pending = this.recounts.get(boardRoom)
    this.recounts.delete(boardRoom)
    if (!pending || boardRoom.doc.isDestroyed || ledgerRoom.doc.isDestroyed || isConcluded(ledgerRoom.doc)) return
    const changed: Array<[string, number]> = []
    for (const termId of pending.terms) {
      const text = termText(boardRoom.doc, termId)
      if (!text || !readStatus(ledgerRoom.doc, termId)) continue
      const n = openBracketGroups(text)
      if (n !== bracketsOf(ledgerRoom.doc, termId)) changed.push([termId, n])
    }
    if (changed.length === 0) return
    void ledgerRoom
      .serverWrite(SERVER_AUTHOR, (doc) => {
        for (const [termId, n] of changed) writeBrackets(doc, termId, n)
      })
      ?.catch(() => {
        // Counted again at the next edit of the term; `term:accept` reads the text itself meanwhile.
      })
  }

  private meta(kind: MoveMeta['kind'], termId: string, author: Author): MoveMeta {
    return { kind, termIds: [termId], party: author.party, user: author.user, via: 'board' }
  }
}

/** True when a text event inserted or deleted a `[` or `]` (reads only what the event changed). */
function touchesBracket(e: Y.YEvent<any>): boolean {
  for (const d of e.delta) if (typeof d.insert === 'string' && /[[\]]/.test(d.insert)) return true
  for (const item of e.changes.deleted) {
    const c = item.content
    if (c instanceof Y.ContentString && /[[\]]/.test(c.str)) return true
  }
  return false
}

/** The id of the term a title or body Y.Text belongs to, or null for a note's text. */
function termIdOf(text: Y.Text, terms: Y.AbstractType<any>): string | null {
  const term = text.parent
  if (!(term instanceof Y.Map) || term.parent !== terms) return null
  const key = term._item?.parentSub
  return typeof key === 'string' ? key : null
}

/** Which terms a board transaction added, removed, or changed in text (a move changes nothing the watcher keeps). */
function touchesOf(events: Array<Y.YEvent<any>>, terms: Y.AbstractType<any>): TermTouches {
  const touches: TermTouches = { text: new Set(), added: new Set(), removed: new Map() }
  forEachTermChange(events, terms, (termId, change, old) => {
    if (change === 'added') touches.added.add(termId)
    else if (change === 'removed') touches.removed.set(termId, old)
    else if (change !== 'layout') touches.text.add(termId)
  })
  return touches
}
