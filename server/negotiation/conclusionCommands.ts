/**
 * The commands that end a negotiation (CONTRACT.md "Concluding a negotiation"):
 * `package:accept` binds a delegation to the package's hash, and
 * `negotiation:initial` initials it once every delegation has; the last
 * initial concludes the negotiation, after which the board and ledger take no
 * write (Room.writeRefusal, set by the ledger writer) and no command moves
 * anything (termCommands.ts refuseIfConcluded).
 *
 * Each runs like a term move: under the negotiation's command lock, on docs
 * caught up with the store, after deciding the reopens edits still owe (an
 * edit of an agreed term on another instance must reopen it before anyone
 * binds themselves to a package it no longer matches), attributed from the
 * token, resolved once durable.
 */
import { acceptPackage, initialPackage, packageHashOf, type Concluded } from '../../shared/conclusion'
import { allStatuses, readConclusion, termOrder, termText, writeConclusion } from '../../shared/docLayout'
import { ErrorCode } from '../../shared/errors'
import type { MoveMeta } from '../../shared/moveMeta'
import { termHash, TermRuleError } from '../../shared/negotiation'
import { mayCommand } from '../../shared/roles'
import { ParleyError } from '../errors'
import type { Store } from '../store/types'
import type { Room } from '../sync/room'
import type { RoomRegistry } from '../sync/roomRegistry'
import { commandLockKey, refuseIfConcluded, type Actor, type TermCommands } from './termCommands'

export class ConclusionCommands {
  constructor(
    private readonly store: Store,
    private readonly registry: RoomRegistry,
    private readonly commands: TermCommands,
    private readonly now: () => number,
  ) {}

  /** `package:accept`: binds the caller's party to the package hash (`seen`: the hash the caller reviewed). */
  async acceptPackage(actor: Actor, seen: string | undefined): Promise<{ hash: string }> {
    return this.underLock(actor, async (party, board, ledger) => {
      const state = readConclusion(ledger.doc)
      const next = rule(() => acceptPackage(state.package, party, seen))
      this.checkPackageMatchesBoard(board, ledger, next.hash)
      const meta: MoveMeta = { kind: 'package-accept', termIds: [], party, user: actor.user, packageHash: next.hash }
      await ledger.serverWrite(this.commands.authorOf(actor), (doc) => writeConclusion(doc, { package: next }), meta)
      return { hash: next.hash }
    })
  }

  /** `negotiation:initial`: the caller's party initials the package; the last initial concludes. */
  async initial(actor: Actor): Promise<{ concluded: Concluded | null }> {
    return this.underLock(actor, async (party, board, ledger) => {
      const parties = (await this.commands.partiesOf(actor.negotiationId)).map((p) => p.id)
      const state = readConclusion(ledger.doc)
      const at = this.now()
      const next = rule(() => initialPackage(state.package, state.initials, parties, party, { user: actor.user, at }))
      this.checkPackageMatchesBoard(board, ledger, state.package!.hash)
      const author = this.commands.authorOf(actor)
      const hash = state.package!.hash
      const initialMeta: MoveMeta = { kind: 'initial', termIds: [], party, user: actor.user, packageHash: hash }
      const writes = [ledger.serverWrite(author, (doc) => writeConclusion(doc, { initials: next.initials }), initialMeta)]
      if (next.concluded) {
        // Written before anything is awaited: between the check above and `concluded` in the ledger the board
        // must take no keystroke (its writeRefusal reads the ledger), or the conclusion is of a text no longer there.
        const concluded = next.concluded
        const meta: MoveMeta = { kind: 'conclude', termIds: [], party, user: actor.user, packageHash: hash }
        writes.push(ledger.serverWrite(author, (doc) => writeConclusion(doc, { concluded }), meta))
      }
      await Promise.all(writes)
      return { concluded: next.concluded }
    })
  }

  /**
   * The package must be what the board says, at the moment anyone binds themselves to it: the
   * agreed terms' texts on the board hash to their agreed hashes, and those make the package's hash.
   * (An edit never gets past this unnoticed: it reopened the term, or it is refused here.)
   */
  private checkPackageMatchesBoard(board: Room, ledger: Room, hash: string): void {
    const statuses = allStatuses(ledger.doc)
    const changed = [...statuses].find(([id, s]) => {
      if (s.state !== 'agreed') return false
      const text = termText(board.doc, id)
      return !text || termHash(text) !== s.agreedHash
    })
    if (changed || packageHashOf(termOrder(board.doc), statuses) !== hash)
      throw new ParleyError(ErrorCode.textChanged.name, 'the board changed under the package: review it again')
  }

  private async underLock<T>(actor: Actor, run: (party: string, board: Room, ledger: Room) => Promise<T>): Promise<T> {
    if (!mayCommand(actor)) throw new ParleyError(ErrorCode.wrongRole.name, 'only negotiators can do that')
    const board = await this.commands.boardRoom(actor.negotiationId)
    try {
      const ledger = await this.commands.ledgerRoom(actor.negotiationId)
      return await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await Promise.all([this.registry.catchUpNow(ledger), this.registry.catchUpNow(board)])
        await this.commands.ledgerWriter.decideReopens(board, ledger)
        refuseIfConcluded(ledger)
        return run(actor.party!, board, ledger)
      })
    } finally {
      this.registry.scheduleUnload(board)
    }
  }
}

/** A rule of shared/conclusion.ts broken: the command's refusal, with its code. */
function rule<T>(f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (err instanceof TermRuleError) throw new ParleyError(err.code, err.message)
    throw err
  }
}
