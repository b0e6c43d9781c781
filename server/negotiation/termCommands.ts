/**
 * The commands that move a term through its states (accept, reject,
 * withdraw, reopen), named checkpoints and restores. Each runs under the
 * negotiation's command lock on docs caught up with the store, is attributed
 * from the token, never from the payload, and resolves only once its write
 * is durable. The reopens an edit of an agreed term causes are decided here
 * too, under the same lock (ledgerWriter.ts queues them).
 */
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import * as Y from 'yjs'
import {
  board as boardLayout,
  insertTerm,
  isConcluded,
  ledger as ledgerLayout,
  readStatus,
  setTermText,
  termText,
  writeStatus,
} from '../../shared/docLayout'
import { applyMove, TermRuleError, type PartyInfo, type TermMove, type TermText } from '../../shared/negotiation'
import { bracketGroups, chooseOption, openBracketGroups } from '../../shared/brackets'
import { settlePackage } from './packageKeeper'
import { ErrorCode } from '../../shared/errors'
import { decideSuggestion, hasPendingSuggestions, suggestionRuns } from '../../shared/suggestions'
import type { MoveMeta } from '../../shared/moveMeta'
import { mayCommand, type Role } from '../../shared/roles'
import type { Author, Store } from '../store/types'
import type { Room } from '../sync/room'
import type { RoomRegistry } from '../sync/roomRegistry'
import { ParleyError } from '../errors'
import { LedgerWriter, type LedgerWriterHost } from './ledgerWriter'

/** Who issues a command: from the token. */
export interface Actor {
  negotiationId: string
  role: Role
  party: string | null
  user: string
  /** connection or socket id, for the history's `conn` */
  session: string
}

/**
 * The Store lock a negotiation's commands run under: with several instances,
 * two commands on one negotiation (both parties accepting at once, on
 * different instances) must not decide on the same stale ledger. Reopens
 * caused by edits of agreed terms are decided under it too (ledgerWriter.ts).
 */
export const commandLockKey = (negotiationId: string) => `commands:${negotiationId}`

/** Named checkpoints one negotiation may have (each is a version of its own, kept forever). */
export const MAX_NAMED_CHECKPOINTS = 500

/** A round of reopen decisions that failed (the lock or the store) is tried again this much later. */
const REOPEN_RETRY_MS = 1000

/** A term whose title or body holds a suggestion not yet decided (CONTRACT.md: it cannot be accepted). */
function termHasPendingSuggestions(doc: Y.Doc, termId: string): boolean {
  const term = boardLayout(doc).terms.get(termId)
  if (!(term instanceof Y.Map)) return false
  return ['title', 'body'].some((k) => {
    const t = term.get(k)
    return t instanceof Y.Text && hasPendingSuggestions(t)
  })
}

/** Refuses every command that would move something once the negotiation is concluded (CONTRACT.md). */
export function refuseIfConcluded(ledger: Room): void {
  if (isConcluded(ledger.doc)) throw new ParleyError(ErrorCode.concluded.name, 'the negotiation is concluded: nothing changes any more')
}

/** What `term:accept` may carry: an acceptance subject to a principal's confirmation. */
export interface AcceptOptions {
  adReferendum?: { principal: string; until?: string }
}

/** The party a command is made for; refused (shared/roles.ts `mayCommand`) for anyone but a negotiator. */
function commandingParty(actor: Actor): string {
  if (!mayCommand(actor)) throw new ParleyError(ErrorCode.wrongRole.name, 'only negotiators can do that')
  return actor.party!
}

export class TermCommands implements LedgerWriterHost {
  readonly ledgerWriter: LedgerWriter
  /** per negotiation: the round of reopen decisions running or queued (one at a time) */
  private reopenRounds = new Map<string, Promise<void>>()
  private reopenTimers = new Map<string, { timer: NodeJS.Timeout; due: number }>()

  constructor(
    private readonly store: Store,
    private readonly registry: RoomRegistry,
    readonly partiesOf: (negotiationId: string) => Promise<PartyInfo[]>,
    private readonly now: () => number,
  ) {
    this.ledgerWriter = new LedgerWriter(this, now)
  }

  /**
   * Runs one term move for a negotiator: under the negotiation's lock, catches
   * the board and ledger up with the store (other instances' moves), validates
   * the move against the ledger, writes the new status, and resolves once that
   * write is durable — only then may the next command, on any instance, decide.
   */
  async move(
    actor: Actor,
    kind: Exclude<TermMove['kind'], 'propose' | 'edit'>,
    termId: string,
    reason?: string,
    options: AcceptOptions = {},
  ): Promise<void> {
    const party = commandingParty(actor)
    const parties = (await this.partiesOf(actor.negotiationId)).map((p) => p.id)
    const board = await this.registry.get(boardDocName(actor.negotiationId))
    try {
      const ledger = await this.registry.get(ledgerDocName(actor.negotiationId))
      await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await Promise.all([this.registry.catchUpNow(ledger), this.registry.catchUpNow(board)])
        // An edit this instance took before the command reopens the term first.
        await this.ledgerWriter.decideReopens(board, ledger)
        refuseIfConcluded(ledger)
        await this.decideMove({ ...actor, party }, kind, termId, parties, board, ledger, reason, options)
      })
    } finally {
      this.registry.scheduleUnload(board)
    }
  }

  /** The move itself, on docs that are current (the caller holds the negotiation's lock). */
  private async decideMove(
    actor: Actor & { party: string },
    kind: Exclude<TermMove['kind'], 'propose' | 'edit'>,
    termId: string,
    parties: string[],
    board: Room,
    ledger: Room,
    reason: string | undefined,
    options: AcceptOptions,
  ): Promise<void> {
    const text = termText(board.doc, termId)
    const status = readStatus(ledger.doc, termId)
    if (!text || !status) throw new ParleyError(ErrorCode.unknownTerm.name, `no term "${termId}" on the board`)
    const binding = kind === 'accept' || kind === 'confirm'
    if (binding && termHasPendingSuggestions(board.doc, termId))
      throw new ParleyError(ErrorCode.pendingSuggestions.name, 'the term holds suggestions: accept or reject them first')
    // Read from the text itself, not the ledger's count: the count trails the last keystroke.
    if (binding && openBracketGroups(text) > 0)
      throw new ParleyError(ErrorCode.bracketed.name, 'the term still holds text in brackets: choose an option for each group first')
    const adRef = kind === 'accept' && options.adReferendum ? { ...options.adReferendum, user: actor.user } : undefined
    const move: TermMove =
      kind === 'accept'
        ? { kind, party: actor.party, text, ...(adRef ? { adReferendum: adRef } : {}) }
        : kind === 'confirm'
          ? { kind, party: actor.party, text }
          : // who decided and why: the status's `decision`, in the same ledger write as the move
            { kind, party: actor.party, user: actor.user, ...(reason ? { reason } : {}) }
    let transition
    try {
      transition = applyMove(status, move, parties, this.now())
    } catch (err) {
      if (err instanceof TermRuleError) throw new ParleyError(err.code, err.message)
      throw err
    }
    if (transition.outcome === 'none') return
    const meta: MoveMeta = {
      kind: transition.outcome,
      termIds: [termId],
      party: actor.party,
      user: actor.user,
      reason,
      ...(adRef ? { adReferendum: options.adReferendum } : {}),
      ...(kind === 'confirm' && transition.outcome === 'agree' ? { confirmed: true as const } : {}),
    }
    const cause = { at: this.now(), party: actor.party, user: actor.user, reason: `${actor.user} ${transition.outcome === 'reopen' ? 'reopened' : 'moved'} a term` }
    const write = ledger.serverWrite(
      this.authorOf(actor),
      (doc) => {
        writeStatus(doc, termId, transition.status)
        settlePackage(doc, board.doc, cause)
      },
      meta,
    )
    if (write) await write
  }

  /**
   * `term:choose`: settles one open bracket group on one of its options, as an edit of the
   * caller's party (a `choose` version). Groups are counted in reading order, the title's first.
   */
  async choose(actor: Actor, termId: string, group: number, option: number): Promise<void> {
    const party = commandingParty(actor)
    const board = await this.boardRoom(actor.negotiationId)
    try {
      const ledger = await this.ledgerRoom(actor.negotiationId)
      await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await Promise.all([this.registry.catchUpNow(ledger), this.registry.catchUpNow(board)])
        refuseIfConcluded(ledger)
        const term = boardLayout(board.doc).terms.get(termId)
        if (!(term instanceof Y.Map)) throw new ParleyError(ErrorCode.unknownTerm.name, `no term "${termId}" on the board`)
        const title = term.get('title')
        const body = term.get('body')
        if (!(title instanceof Y.Text) || !(body instanceof Y.Text))
          throw new ParleyError(ErrorCode.unknownTerm.name, `no term "${termId}" on the board`)
        const titleGroups = bracketGroups(title.toString()).length
        const [field, index] = group < titleGroups ? [title, group] : [body, group - titleGroups]
        const edit = chooseOption(field.toString(), index, option)
        if (!edit) throw new ParleyError(ErrorCode.badRequest.name, `the term has no bracket group ${group} with an option ${option}`)
        const meta: MoveMeta = { kind: 'choose', termIds: [termId], party, user: actor.user, chose: edit.insert }
        const write = board.serverWrite(
          this.authorOf(actor),
          (doc) => {
            const m = boardLayout(doc).terms.get(termId)
            const t = m instanceof Y.Map ? m.get(field === title ? 'title' : 'body') : undefined
            if (!(t instanceof Y.Text)) return
            t.delete(edit.from, edit.to - edit.from)
            t.insert(edit.from, edit.insert)
          },
          meta,
        )
        if (write) await write
      })
    } finally {
      this.registry.scheduleUnload(board)
    }
  }

  /**
   * Accepts or rejects one suggestion in a term (CONTRACT.md "Suggestions and authorship"), as an
   * edit of the deciding party: accepting is for a delegation other than the suggester's, rejecting
   * for anyone (the suggester withdraws it). A version of its own (suggestion-accept / -reject).
   */
  async decideSuggestion(actor: Actor, termId: string, id: string, accept: boolean): Promise<void> {
    const party = commandingParty(actor)
    const board = await this.boardRoom(actor.negotiationId)
    try {
      await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await this.registry.catchUpNow(board)
        refuseIfConcluded(await this.ledgerRoom(actor.negotiationId))
        const term = boardLayout(board.doc).terms.get(termId)
        if (!(term instanceof Y.Map)) throw new ParleyError(ErrorCode.unknownTerm.name, `no term "${termId}" on the board`)
        const texts = ['title', 'body'].map((k) => term.get(k)).filter((t): t is Y.Text => t instanceof Y.Text)
        const runs = texts.flatMap((t) => suggestionRuns(t, id))
        if (runs.length === 0) throw new ParleyError(ErrorCode.notFound.name, `no suggestion "${id}" in that term`)
        if (accept && runs.some((r) => r.suggestion.party === party))
          throw new ParleyError(ErrorCode.wrongParty.name, 'a suggestion is accepted by another delegation than its own')
        const kind = accept ? 'suggestion-accept' : 'suggestion-reject'
        const meta: MoveMeta = { kind, termIds: [termId], party, user: actor.user }
        const write = board.serverWrite(
          this.authorOf(actor),
          (doc) => {
            const m = boardLayout(doc).terms.get(termId)
            for (const k of ['title', 'body']) {
              const t = m instanceof Y.Map ? m.get(k) : undefined
              if (t instanceof Y.Text) decideSuggestion(t, id, accept)
            }
          },
          meta,
        )
        if (write) await write
      })
    } finally {
      this.registry.scheduleUnload(board)
    }
  }

  /** A named checkpoint: a version of its own, recorded in the ledger so it is part of the log. */
  async checkpoint(actor: Actor, name: string): Promise<void> {
    const party = commandingParty(actor)
    const ledger = await this.ledgerRoom(actor.negotiationId)
    const meta: MoveMeta = { kind: 'checkpoint', termIds: [], party, user: actor.user, name }
    await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
      await this.registry.catchUpNow(ledger)
      refuseIfConcluded(ledger)
      const board = this.registry.peek(boardDocName(actor.negotiationId))
      if (board && this.ledgerWriter.queuedReopens(board) > 0) {
        await this.registry.catchUpNow(board)
        await this.ledgerWriter.decideReopens(board, ledger)
      }
      // Each named checkpoint is a permanent version of the record: a negotiation marks moments, and
      // a bounded number of them, whatever tokens the admin hands out (tokens have budgets of their own).
      const made = ledgerLayout(ledger.doc).meta.get('checkpoints')
      const count = typeof made === 'number' ? made : 0
      if (count >= MAX_NAMED_CHECKPOINTS)
        throw new ParleyError(ErrorCode.rateLimited.name, `this negotiation has its ${MAX_NAMED_CHECKPOINTS} named checkpoints`)
      const at = this.now()
      await ledger.serverWrite(
        this.authorOf(actor),
        (doc) => {
          const m = ledgerLayout(doc).meta
          m.set('lastCheckpoint', { name, at, party, user: actor.user })
          m.set('checkpoints', count + 1)
        },
        meta,
      )
    })
  }

  /**
   * Puts a term's title and body back to `text` as a new edit of the caller's
   * party (a `restore` version); nothing in the history is rewritten.
   */
  async restore(actor: Actor, termId: string, text: TermText, fromVersion: number): Promise<void> {
    const party = commandingParty(actor)
    const board = await this.boardRoom(actor.negotiationId)
    try {
      const meta: MoveMeta = { kind: 'restore', termIds: [termId], party, user: actor.user, restoredFrom: fromVersion }
      await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await this.registry.catchUpNow(board)
        const ledger = this.registry.peek(ledgerDocName(actor.negotiationId))
        if (ledger) refuseIfConcluded(ledger)
        if (ledger && this.ledgerWriter.queuedReopens(board) > 0) {
          await this.registry.catchUpNow(ledger)
          await this.ledgerWriter.decideReopens(board, ledger)
        }
        const write = board.serverWrite(
          this.authorOf(actor),
          (doc) => {
            if (!setTermText(doc, termId, text)) insertTerm(doc, termId, text)
          },
          meta,
        )
        if (write) await write
      })
    } finally {
      this.registry.scheduleUnload(board)
    }
  }

  // ── reopens caused by edits (ledgerWriter.ts) ─────────────────────────────

  /** LedgerWriterHost: decides a board's queued reopens under the negotiation's command lock, `delayMs` from now. */
  reopensDue(negotiationId: string, rooms: { board: Room; ledger: Room }, delayMs: number): void {
    if (delayMs > 0) {
      const due = Date.now() + delayMs
      const scheduled = this.reopenTimers.get(negotiationId)
      if (scheduled && scheduled.due <= due) return
      if (scheduled) clearTimeout(scheduled.timer)
      const timer = setTimeout(() => {
        this.reopenTimers.delete(negotiationId)
        this.reopensDue(negotiationId, rooms, 0)
      }, delayMs)
      timer.unref()
      this.reopenTimers.set(negotiationId, { timer, due })
      return
    }
    const round = (this.reopenRounds.get(negotiationId) ?? Promise.resolve())
      .then(async () => {
        await this.decideReopens(negotiationId, rooms.board, rooms.ledger)
        // Edits seen from elsewhere wait out their grace period: come back for them then.
        const next = rooms.board.doc.isDestroyed ? null : this.ledgerWriter.nextReopenIn(rooms.board)
        if (next !== null && next > 0) this.reopensDue(negotiationId, rooms, next)
      })
      .catch(() => this.reopensDue(negotiationId, rooms, REOPEN_RETRY_MS))
      .finally(() => {
        if (this.reopenRounds.get(negotiationId) === round) this.reopenRounds.delete(negotiationId)
      })
    this.reopenRounds.set(negotiationId, round)
  }

  /** Resolves once no reopen decision is running or due now (tests settle on it). */
  async reopensSettled(): Promise<void> {
    while (this.reopenRounds.size > 0) await Promise.all([...this.reopenRounds.values()])
  }

  private async decideReopens(negotiationId: string, board: Room, ledger: Room): Promise<void> {
    // An unloaded board took its queue with it; the next load finds what is still owed.
    if (board.doc.isDestroyed || this.ledgerWriter.queuedReopens(board) === 0) return
    await this.store.withLock(commandLockKey(negotiationId), async () => {
      await Promise.all([this.registry.catchUpNow(ledger), this.registry.catchUpNow(board)])
      await this.ledgerWriter.decideReopens(board, ledger)
    })
  }

  authorOf(actor: Actor): Author {
    return { user: actor.user, party: actor.party, role: actor.role, conn: actor.session }
  }

  ledgerRoom(negotiationId: string): Promise<Room> {
    return this.registry.get(ledgerDocName(negotiationId))
  }

  boardRoom(negotiationId: string): Promise<Room> {
    return this.registry.get(boardDocName(negotiationId))
  }

  releaseRoom(room: Room): void {
    this.registry.scheduleUnload(room)
  }
}
