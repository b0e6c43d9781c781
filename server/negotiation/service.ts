/**
 * The negotiation layer as the rest of the server sees it: one object that
 * wires its three parts together and into the room registry —
 * negotiations.ts (create, read, delete), invites.ts (tokens and links) and
 * termCommands.ts (term moves, checkpoints, restores, reopens),
 * commentCommands.ts (comment threads), wordDrafts.ts (drafts brought in
 * from Word as suggestions), with the
 * ledger writer (ledgerWriter.ts) and the authors writer (authorsWriter.ts)
 * watching every loaded board. The ledger doc is written by these and only these.
 */
import { ledgerDocName, parseDocName, sealedDocName } from '../../shared/docNames'
import type { PartyInfo, TermMove, TermText } from '../../shared/negotiation'
import type { CreateNegotiationInput, CreatedNegotiation, MintTokenInput } from '../../shared/schemas'
import type { Author, NegotiationRecord, Store } from '../store/types'
import type { Room } from '../sync/room'
import type { RoomRegistry } from '../sync/roomRegistry'
import type { TokenService } from '../auth/tokens'
import type { Revocations } from '../auth/revocations'
import { watchAuthors } from './authorsWriter'
import { CommentCommands } from './commentCommands'
import { ConclusionCommands } from './conclusionCommands'
import { Invites } from './invites'
import type { LedgerWriter } from './ledgerWriter'
import { Negotiations } from './negotiations'
import { TermCommands, type AcceptOptions, type Actor } from './termCommands'
import { WordDrafts } from './wordDrafts'

export type { CreatedNegotiation }
export { commandLockKey, MAX_NAMED_CHECKPOINTS, type Actor } from './termCommands'

export class NegotiationService {
  readonly negotiations: Negotiations
  readonly invites: Invites
  readonly commands: TermCommands
  readonly comments: CommentCommands
  readonly drafts: WordDrafts
  readonly conclusion: ConclusionCommands
  /** the names of the people online in a negotiation (set by the control channel): who may be @mentioned */
  onlineUsers: (negotiationId: string) => Promise<string[]> = async () => []

  constructor(
    private readonly store: Store,
    private readonly registry: RoomRegistry,
    tokens: TokenService,
    revocations: Revocations,
    baseUrl: () => string,
    now: () => number = Date.now,
  ) {
    this.negotiations = new Negotiations(store, registry, () => this.invites, now)
    this.invites = new Invites(store, tokens, revocations, baseUrl, (id) => this.negotiations.get(id), now)
    this.commands = new TermCommands(store, registry, (id) => this.negotiations.partiesOf(id), now)
    this.comments = new CommentCommands(registry, this.commands, (id) => this.onlineUsers(id), now)
    this.drafts = new WordDrafts(store, registry, this.commands, now)
    this.conclusion = new ConclusionCommands(store, registry, this.commands, now)
  }

  get ledgerWriter(): LedgerWriter {
    return this.commands.ledgerWriter
  }

  // ── rooms ───────────────────────────────────────────────────────────────

  /** Hooked into RoomRegistry.onCreate: a board room pins its ledger room and gets watched. */
  async onRoomCreated(room: Room): Promise<void> {
    const ref = parseDocName(room.name)
    if (ref?.kind !== 'board') return
    const ledger = await this.registry.get(ledgerDocName(ref.negotiationId))
    this.registry.pin(ledger)
    watchAuthors(room, ledger)
    await this.ledgerWriter.watch(room, ledger)
  }

  onRoomUnloaded(room: Room): void {
    const ref = parseDocName(room.name)
    if (ref?.kind !== 'board') return
    const ledger = this.registry.peek(ledgerDocName(ref.negotiationId))
    if (ledger) this.registry.unpin(ledger)
  }

  // ── the parts, as callers use them ──────────────────────────────────────

  create = (input: CreateNegotiationInput): Promise<CreatedNegotiation> => this.negotiations.create(input)
  get = (id: string): Promise<NegotiationRecord | null> => this.negotiations.get(id)
  list = (): Promise<NegotiationRecord[]> => this.negotiations.list()

  /**
   * The delegations whose sealed caucus holds rows, by negotiation — what the operator's store shows
   * anyway (rows exist), never what they say. The admin page offers no second key for a caucus its
   * negotiators already sealed with theirs.
   */
  async sealedCaucuses(negotiations: readonly NegotiationRecord[]): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {}
    for (const n of negotiations) {
      const heads = await Promise.all(n.parties.map((p) => this.store.sealedHead(sealedDocName(n.id, p.id))))
      const sealed = n.parties.filter((_, i) => heads[i]! > 0).map((p) => p.id)
      if (sealed.length > 0) out[n.id] = sealed
    }
    return out
  }
  exists = (id: string): Promise<boolean> => this.negotiations.exists(id)
  delete = (id: string): Promise<boolean> => this.negotiations.delete(id)
  forget = (id: string): void => this.negotiations.forget(id)
  onDeleted = (listener: (id: string) => void): void => this.negotiations.onDeleted(listener)
  partiesOf = (id: string): Promise<PartyInfo[]> => this.negotiations.partiesOf(id)

  mintToken = (id: string, req: MintTokenInput) => this.invites.mintToken(id, req)
  inviteLink = (id: string, token: string): string => this.invites.inviteLink(id, token)
  revoke = (jti: string): Promise<boolean> => this.invites.revoke(jti)

  move = (
    actor: Actor,
    kind: Exclude<TermMove['kind'], 'propose' | 'edit'>,
    termId: string,
    reason?: string,
    options?: AcceptOptions,
  ) => this.commands.move(actor, kind, termId, reason, options)
  checkpoint = (actor: Actor, name: string): Promise<void> => this.commands.checkpoint(actor, name)
  restore = (actor: Actor, termId: string, text: TermText, fromVersion: number): Promise<void> =>
    this.commands.restore(actor, termId, text, fromVersion)
  reopensSettled = (): Promise<void> => this.commands.reopensSettled()
  authorOf = (actor: Actor): Author => this.commands.authorOf(actor)
  ledgerRoom = (id: string): Promise<Room> => this.commands.ledgerRoom(id)
  boardRoom = (id: string): Promise<Room> => this.commands.boardRoom(id)
  releaseRoom = (room: Room): void => this.commands.releaseRoom(room)
}
