/**
 * Negotiations: creation (parties, the seeded ledger and board), tokens and
 * links, and the commands that move a term through its states. The ledger
 * doc is written here and only here; every move is attributed from the
 * token, never from the payload, and acknowledged only once it is durable.
 */
import { boardDocName, ledgerDocName, parseDocName } from '../../shared/docNames'
import {
  insertTerm,
  ledger as ledgerLayout,
  readStatus,
  setTermText,
  termText,
  writeMeta,
  writeStatus,
} from '../../shared/docLayout'
import { applyMove, TermRuleError, type PartyInfo, type TermMove, type TermText } from '../../shared/negotiation'
import { ErrorCode } from '../../shared/errors'
import type { CreateNegotiationInput, MintTokenInput } from '../../shared/schemas'
import type { Role } from '../../shared/roles'
import type { Author, NegotiationRecord, Store } from '../store/types'
import type { CreatedNegotiation } from '../../shared/schemas'
import type { Room } from '../sync/room'
import type { RoomRegistry } from '../sync/roomRegistry'
import type { TokenService } from '../auth/tokens'
import type { Revocations } from '../auth/revocations'
import { ParleyError, badRequest } from '../errors'
import { assignParties, newNegotiationId, newTermId } from './ids'
import { BoardWatcher, type WatcherHost } from './boardWatcher'
import type { MoveMeta } from '../../shared/moveMeta'

/** Who issues a command: from the token. */
export interface Actor {
  negotiationId: string
  role: Role
  party: string | null
  user: string
  /** connection or socket id, for the history's `conn` */
  session: string
}

export type { CreatedNegotiation }

const SERVER_AUTHOR: Author = { user: 'Parley', party: null, role: 'server', conn: 'server' }
const EXISTS_TTL_MS = 5000
/**
 * The Store lock a negotiation's commands run under: with several instances,
 * two commands on one negotiation (both parties accepting at once, on
 * different instances) must not decide on the same stale ledger. Reopens
 * caused by edits of agreed terms are decided under it too (boardWatcher.ts).
 */
export const commandLockKey = (negotiationId: string) => `commands:${negotiationId}`

/** Named checkpoints one negotiation may have (each is a version of its own, kept forever). */
export const MAX_NAMED_CHECKPOINTS = 500

/** A round of reopen decisions that failed (the lock or the store) is tried again this much later. */
const REOPEN_RETRY_MS = 1000

export class NegotiationService implements WatcherHost {
  private cache = new Map<string, { record: NegotiationRecord | null; at: number }>()
  readonly boardWatcher: BoardWatcher
  private deletedListeners: Array<(id: string) => void> = []
  /** per negotiation: the round of reopen decisions running or queued (one at a time) */
  private reopenRounds = new Map<string, Promise<void>>()
  private reopenTimers = new Map<string, { timer: NodeJS.Timeout; due: number }>()

  constructor(
    private readonly store: Store,
    private readonly registry: RoomRegistry,
    private readonly tokens: TokenService,
    private readonly revocations: Revocations,
    private readonly baseUrl: () => string,
    private readonly now: () => number = Date.now,
  ) {
    this.boardWatcher = new BoardWatcher(this, now)
  }

  /** Hooked into RoomRegistry.onCreate: a board room pins its ledger room and gets watched. */
  async onRoomCreated(room: Room): Promise<void> {
    const ref = parseDocName(room.name)
    if (ref?.kind !== 'board') return
    const ledger = await this.registry.get(ledgerDocName(ref.negotiationId))
    this.registry.pin(ledger)
    await this.boardWatcher.watch(room, ledger)
  }

  onRoomUnloaded(room: Room): void {
    const ref = parseDocName(room.name)
    if (ref?.kind !== 'board') return
    const ledger = this.registry.peek(ledgerDocName(ref.negotiationId))
    if (ledger) this.registry.unpin(ledger)
  }

  // ── negotiations ────────────────────────────────────────────────────────

  async create(input: CreateNegotiationInput): Promise<CreatedNegotiation> {
    let parties: PartyInfo[]
    try {
      parties = assignParties(input.parties)
    } catch (err) {
      throw badRequest((err as Error).message)
    }
    const record: NegotiationRecord = { id: newNegotiationId(), title: input.title, parties, createdAt: this.now() }
    await this.store.createNegotiation(record)
    this.cache.set(record.id, { record, at: this.now() })

    const ledger = await this.registry.get(ledgerDocName(record.id))
    const writes: Array<Promise<number> | null> = [ledger.serverWrite(SERVER_AUTHOR, (doc) => writeMeta(doc, record))]
    if (input.terms?.length) {
      const board = await this.registry.get(boardDocName(record.id))
      // The board watcher records each seeded term as proposed, by nobody (the negotiation's opening draft).
      writes.push(
        board.serverWrite(SERVER_AUTHOR, (doc) =>
          input.terms!.forEach((t, i) =>
            insertTerm(doc, newTermId(), { ...t, x: 40 + (i % 3) * 340, y: 40 + Math.floor(i / 3) * 240 }),
          ),
        ),
      )
      this.registry.scheduleUnload(board)
    }
    await Promise.all(writes)
    this.registry.scheduleUnload(ledger)

    const tokens: CreatedNegotiation['tokens'] = { negotiator: {}, observer: '', reviewer: '' }
    const links: CreatedNegotiation['links'] = { negotiator: {}, observer: '', reviewer: '' }
    for (const p of parties) {
      const t = await this.mintToken(record.id, { role: 'negotiator', party: p.id })
      tokens.negotiator[p.id] = t.token
      links.negotiator[p.id] = t.link
    }
    for (const role of ['observer', 'reviewer'] as const) {
      const t = await this.mintToken(record.id, { role })
      tokens[role] = t.token
      links[role] = t.link
    }
    return { id: record.id, title: record.title, parties, createdAt: new Date(record.createdAt).toISOString(), tokens, links }
  }

  async get(id: string): Promise<NegotiationRecord | null> {
    const hit = this.cache.get(id)
    if (hit && this.now() - hit.at < EXISTS_TTL_MS) return hit.record
    let record: NegotiationRecord | null
    try {
      record = await this.store.getNegotiation(id)
    } catch (err) {
      // The store is away: what we knew a moment ago still admits people to loaded docs.
      if (hit) return hit.record
      throw err
    }
    this.cache.set(id, { record, at: this.now() })
    return record
  }

  list(): Promise<NegotiationRecord[]> {
    return this.store.listNegotiations()
  }

  async exists(id: string): Promise<boolean> {
    return (await this.get(id)) !== null
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.store.deleteNegotiation(id)
    this.cache.set(id, { record: null, at: this.now() })
    if (deleted) for (const l of this.deletedListeners) l(id)
    return deleted
  }

  /** Drops what is cached about a negotiation (another instance deleted it). */
  forget(id: string): void {
    this.cache.set(id, { record: null, at: this.now() })
  }

  onDeleted(listener: (id: string) => void): void {
    this.deletedListeners.push(listener)
  }

  async mintToken(negotiationId: string, req: MintTokenInput): Promise<{ token: string; link: string; jti: string }> {
    const record = await this.get(negotiationId)
    if (!record) throw new ParleyError(ErrorCode.notFound.name, 'no such negotiation')
    if (req.party && !record.parties.some((p) => p.id === req.party)) {
      throw new ParleyError(ErrorCode.badRequest.name, `no party "${req.party}" in this negotiation`)
    }
    const { token, claims } = await this.tokens.mint({ negotiationId, ...req })
    await this.store.recordToken({
      jti: claims.jti,
      negotiationId,
      role: claims.role,
      party: claims.party,
      createdAt: this.now(),
      expiresAt: claims.expiresAt,
    })
    return { token, jti: claims.jti, link: this.inviteLink(negotiationId, token) }
  }

  /** The token travels in the fragment, which browsers never send to a server or put in logs. */
  inviteLink(negotiationId: string, token: string): string {
    return `${this.baseUrl()}/n/${negotiationId}#token=${token}`
  }

  async revoke(jti: string): Promise<boolean> {
    const revoked = await this.store.revokeToken(jti, this.now())
    if (revoked) this.revocations.add(jti)
    return revoked
  }

  // ── commands ────────────────────────────────────────────────────────────

  async partiesOf(negotiationId: string): Promise<PartyInfo[]> {
    return (await this.get(negotiationId))?.parties ?? []
  }

  /**
   * Runs one term move for a negotiator: under the negotiation's lock, catches
   * the board and ledger up with the store (other instances' moves), validates
   * the move against the ledger, writes the new status, and resolves once that
   * write is durable — only then may the next command, on any instance, decide.
   */
  async move(actor: Actor, kind: Exclude<TermMove['kind'], 'propose' | 'edit'>, termId: string, reason?: string): Promise<void> {
    if (actor.role !== 'negotiator' || !actor.party)
      throw new ParleyError(ErrorCode.wrongRole.name, 'only negotiators can do that')
    const party = actor.party
    const parties = (await this.partiesOf(actor.negotiationId)).map((p) => p.id)
    const board = await this.registry.get(boardDocName(actor.negotiationId))
    try {
      const ledger = await this.registry.get(ledgerDocName(actor.negotiationId))
      await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await Promise.all([this.registry.catchUpNow(ledger), this.registry.catchUpNow(board)])
        // An edit this instance took before the command reopens the term first.
        await this.boardWatcher.decideReopens(board, ledger)
        await this.decideMove({ ...actor, party }, kind, termId, parties, board, ledger, reason)
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
  ): Promise<void> {
    const text = termText(board.doc, termId)
    const status = readStatus(ledger.doc, termId)
    if (!text || !status) throw new ParleyError(ErrorCode.unknownTerm.name, `no term "${termId}" on the board`)
    const move: TermMove = kind === 'accept' ? { kind, party: actor.party, text } : { kind, party: actor.party }
    let transition
    try {
      transition = applyMove(status, move, parties, this.now())
    } catch (err) {
      if (err instanceof TermRuleError) throw new ParleyError(err.code, err.message)
      throw err
    }
    if (transition.outcome === 'none') return
    const meta: MoveMeta = { kind: transition.outcome, termIds: [termId], party: actor.party, user: actor.user, reason }
    const write = ledger.serverWrite(this.authorOf(actor), (doc) => writeStatus(doc, termId, transition.status), meta)
    if (write) await write
  }

  /** A named checkpoint: a version of its own, recorded in the ledger so it is part of the log. */
  async checkpoint(actor: Actor, name: string): Promise<void> {
    if (actor.role !== 'negotiator' || !actor.party)
      throw new ParleyError(ErrorCode.wrongRole.name, 'only negotiators can do that')
    const ledger = await this.ledgerRoom(actor.negotiationId)
    const meta: MoveMeta = { kind: 'checkpoint', termIds: [], party: actor.party, user: actor.user, name }
    await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
      await this.registry.catchUpNow(ledger)
      const board = this.registry.peek(boardDocName(actor.negotiationId))
      if (board && this.boardWatcher.queuedReopens(board) > 0) {
        await this.registry.catchUpNow(board)
        await this.boardWatcher.decideReopens(board, ledger)
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
          m.set('lastCheckpoint', { name, at, party: actor.party, user: actor.user })
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
    if (actor.role !== 'negotiator' || !actor.party)
      throw new ParleyError(ErrorCode.wrongRole.name, 'only negotiators can do that')
    const board = await this.boardRoom(actor.negotiationId)
    try {
      const meta = { kind: 'restore', termIds: [termId], party: actor.party, user: actor.user, restoredFrom: fromVersion }
      await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await this.registry.catchUpNow(board)
        const ledger = this.registry.peek(ledgerDocName(actor.negotiationId))
        if (ledger && this.boardWatcher.queuedReopens(board) > 0) {
          await this.registry.catchUpNow(ledger)
          await this.boardWatcher.decideReopens(board, ledger)
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

  // ── reopens caused by edits (boardWatcher.ts) ─────────────────────────────

  /** WatcherHost: decides a board's queued reopens under the negotiation's command lock, `delayMs` from now. */
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
        const next = rooms.board.doc.isDestroyed ? null : this.boardWatcher.nextReopenIn(rooms.board)
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
    if (board.doc.isDestroyed || this.boardWatcher.queuedReopens(board) === 0) return
    await this.store.withLock(commandLockKey(negotiationId), async () => {
      await Promise.all([this.registry.catchUpNow(ledger), this.registry.catchUpNow(board)])
      await this.boardWatcher.decideReopens(board, ledger)
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
