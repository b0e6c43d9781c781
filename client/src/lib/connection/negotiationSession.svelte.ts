/**
 * The one connection module: owns every Y.Doc, WebsocketProvider and the
 * socket.io client of a negotiation session, and exposes them as small
 * reactive models. Components read these models and call the methods here;
 * they never see a socket.
 */
import { boardDocName, caucusDocName, ledgerDocName } from '../../../../shared/docNames'
import { docAccess, mayCommand, mayReadHistory, relaysAwareness, type Grant } from '../../../../shared/roles'
import { CloseCode } from '../../../../shared/protocol'
import { termText } from '../../../../shared/docLayout'
import type { SessionInfo, Sheet, TermDiff, VersionDensityAnswer, VersionList } from '../../../../shared/schemas'
import { apiFetch } from '../api/http'
import { BoardModel, type BoardKind } from '../board/boardModel.svelte'
import { LedgerModel } from '../board/ledgerModel.svelte'
import { partyStyles, selectionOf, type PartyStyle } from '../design/colors'
import { ControlChannel, type CommandResult } from './controlChannel.svelte'
import { DocChannel } from './docChannel.svelte'
import { Peers, type PeerUser } from './peers.svelte'

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'ended'

export interface Surface {
  kind: BoardKind
  model: BoardModel
  peers: Peers
}

export class NegotiationSession {
  readonly info: SessionInfo
  readonly name: string
  readonly grant: Grant
  readonly parties: Map<string, PartyStyle>
  readonly me: PeerUser

  readonly board: Surface
  readonly caucus: Surface | null
  readonly ledger: LedgerModel
  readonly control: ControlChannel
  private readonly channels: DocChannel[]

  /** navigator.onLine, kept current */
  browserOnline = $state(true)

  constructor(
    info: SessionInfo,
    private readonly token: string,
    name: string,
  ) {
    this.info = info
    this.name = name
    const id = info.negotiation.id
    this.grant = { negotiationId: id, role: info.role, party: info.party }
    this.parties = partyStyles(info.negotiation.parties)
    const color = (info.party && this.parties.get(info.party)?.color) || '#667080'
    this.me = { name, color, colorLight: selectionOf(color), party: info.party, role: info.role }

    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/yjs`
    const open = (docName: string, awareness = relaysAwareness(this.grant)) =>
      new DocChannel(base, { docName, token, name, writable: docAccess(this.grant, docName) === 'write', awareness })

    const boardChannel = open(boardDocName(id))
    // Nobody looks at anybody's cursor in the ledger: it publishes no awareness.
    const ledgerChannel = open(ledgerDocName(id), false)
    this.board = this.surface('board', boardChannel)
    this.ledger = new LedgerModel(ledgerChannel)
    this.channels = [boardChannel, ledgerChannel]
    if (info.party && docAccess(this.grant, caucusDocName(id, info.party)) === 'write') {
      const caucusChannel = open(caucusDocName(id, info.party))
      this.caucus = this.surface('caucus', caucusChannel)
      this.channels.push(caucusChannel)
    } else {
      this.caucus = null
    }
    this.control = new ControlChannel(token, name)

    this.browserOnline = navigator.onLine
    addEventListener('online', this.onOnline)
    addEventListener('offline', this.onOffline)
  }

  private surface(kind: BoardKind, channel: DocChannel): Surface {
    const peers = new Peers(channel.awareness)
    peers.setUser(this.me)
    return { kind, model: new BoardModel(channel, kind), peers }
  }

  private onOnline = () => {
    this.browserOnline = true
    this.reconnect()
  }
  private onOffline = () => (this.browserOnline = false)

  // ── what the UI may offer ─────────────────────────────────────────────

  get canEdit(): boolean {
    return this.board.model.writable
  }

  get canCommand(): boolean {
    return mayCommand(this.grant)
  }

  get canReadHistory(): boolean {
    return mayReadHistory(this.grant)
  }

  party(id: string | null | undefined): PartyStyle | undefined {
    return id ? this.parties.get(id) : undefined
  }

  // ── connection state, summed over every channel ───────────────────────

  get loaded(): boolean {
    return this.channels.every((c) => c.loaded)
  }

  get unsaved(): number {
    return this.channels.reduce((n, c) => n + c.unsaved, 0)
  }

  get savingPaused(): boolean {
    return this.channels.some((c) => c.savingPaused)
  }

  /** Why the session ended for good, if it did: from the control channel or a final websocket close. */
  get ended(): { code: number; reason: string } | null {
    if (this.control.closed) return this.control.closed
    for (const c of this.channels) if (c.closed) return c.closed
    return null
  }

  get state(): ConnectionState {
    if (this.ended) return 'ended'
    const allUp = this.channels.every((c) => c.status === 'connected' && c.synced) && this.control.connected
    if (allUp) return 'live'
    if (!this.browserOnline) return 'offline'
    if (!this.loaded) return 'connecting'
    return 'reconnecting'
  }

  reconnect(): void {
    for (const c of this.channels) c.reconnect()
    this.control.reconnect()
  }

  // ── commands ─────────────────────────────────────────────────────────

  accept(termId: string): Promise<CommandResult> {
    return this.control.command('term:accept', { termId })
  }

  reject(termId: string, reason?: string): Promise<CommandResult> {
    return this.control.command('term:reject', reason ? { termId, reason } : { termId })
  }

  withdraw(termId: string): Promise<CommandResult> {
    return this.control.command('term:withdraw', { termId })
  }

  reopen(termId: string, reason?: string): Promise<CommandResult> {
    return this.control.command('term:reopen', reason ? { termId, reason } : { termId })
  }

  checkpoint(name: string): Promise<CommandResult> {
    return this.control.command('checkpoint:create', { name })
  }

  /**
   * A page of the negotiation's versions, oldest first: those after version
   * `after`, at most `limit` (CONTRACT.md); `next` continues it, null at the
   * end. A long history is read page by page as it is looked at, never whole.
   */
  versionPage(after: number, limit: number): Promise<VersionList> {
    const id = encodeURIComponent(this.info.negotiation.id)
    return apiFetch<VersionList>(`/api/negotiations/${id}/versions?after=${after}&limit=${limit}`, { token: this.token })
  }

  /** The whole history's shape in `buckets` ranges of version numbers, by delegation and kind, without loading it. */
  versionDensity(buckets: number): Promise<VersionDensityAnswer> {
    const id = encodeURIComponent(this.info.negotiation.id)
    return apiFetch<VersionDensityAnswer>(`/api/negotiations/${id}/versions/density?buckets=${buckets}`, { token: this.token })
  }

  /** The sheet as it stood right after version `n` (0: before the first). */
  sheetAt(n: number, signal?: AbortSignal): Promise<Sheet> {
    const id = encodeURIComponent(this.info.negotiation.id)
    return apiFetch<Sheet>(`/api/negotiations/${id}/versions/${n}`, { token: this.token, signal })
  }

  /** Word-level redlines of every term between versions `from` and `to` (from ≤ to). */
  async diff(from: number, to: number, signal?: AbortSignal): Promise<TermDiff[]> {
    const id = encodeURIComponent(this.info.negotiation.id)
    const r = await apiFetch<{ terms: TermDiff[] }>(`/api/negotiations/${id}/diff?from=${from}&to=${to}`, {
      token: this.token,
      signal,
    })
    return r.terms
  }

  /** Puts a term's title and body back to their text at version `n`, as a new change of this delegation. */
  restore(termId: string, n: number): Promise<CommandResult> {
    return this.control.command('term:restore', { termId, n })
  }

  /** Copies a caucus draft onto the shared board as a new proposal of this delegation. */
  proposeDraft(draftId: string): string | null {
    if (!this.caucus) return null
    const text = termText(this.caucus.model.channel.doc, draftId)
    const draft = this.caucus.model.term(draftId)
    if (!text || !draft) return null
    return this.board.model.addTerm({ ...text, x: draft.x, y: draft.y })
  }

  destroy(): void {
    removeEventListener('online', this.onOnline)
    removeEventListener('offline', this.onOffline)
    this.control.destroy()
    for (const c of this.channels) c.destroy()
  }
}

/** What to tell a person whose session ended, by close code. */
export function endedMessage(code: number): { title: string; body: string } {
  switch (code) {
    case CloseCode.negotiationGone:
      return { title: 'This negotiation has been closed', body: 'The negotiation no longer exists on this server.' }
    case CloseCode.forbidden:
      return { title: 'This board is not open to you', body: 'Your invite does not give access to this board.' }
    case CloseCode.unauthorized:
      return {
        title: 'Your access has ended',
        body: 'This invite link was revoked or has expired. Ask the organiser for a new link.',
      }
    default:
      return { title: 'The connection was refused', body: 'The server closed the connection and will not take it back.' }
  }
}
