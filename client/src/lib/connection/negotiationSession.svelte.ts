/**
 * The one connection module: owns every Y.Doc, WebsocketProvider and the
 * socket.io client of a negotiation session, and exposes them as small
 * reactive models. Components read these models and call the methods here;
 * they never see a socket.
 *
 * The board and the caucus are also kept on this device (localCopy.ts); when
 * the link loses its access for good (revoked, expired, negotiation deleted),
 * those copies are removed.
 */
import * as Y from 'yjs'
import { boardDocName, caucusDocName, ledgerDocName, sealedDocName } from '../../../../shared/docNames'
import { docAccess, mayCommand, mayReadHistory, relaysAwareness, type Grant } from '../../../../shared/roles'
import { untrack } from 'svelte'
import { CloseCode } from '../../../../shared/protocol'
import { board, termText } from '../../../../shared/docLayout'
import type { SessionInfo, Sheet, TermDiff, VersionDensityAnswer, VersionList } from '../../../../shared/schemas'
import { apiFetch } from '../api/http'
import { apiDownload, type Download } from '../api/download'
import { uploadWordFile, type WordUploadOptions } from '../api/wordImport'
import type { DraftAnswer } from '../../../../shared/wordDraft'
import type { Concluded } from '../../../../shared/conclusion'
import { BoardModel, type BoardKind } from '../board/boardModel.svelte'
import { LedgerModel } from '../board/ledgerModel.svelte'
import { partyStyles, selectionOf, type PartyStyle } from '../design/colors'
import { ControlChannel, type CommandResult } from './controlChannel.svelte'
import { DocChannel } from './docChannel.svelte'
import type { BoardChannel } from './boardChannel'
import { SealedChannel } from '../sealed/sealedChannel.svelte'
import { sealedHead } from '../sealed/sealedProvider'
import { forgetSealedKey, keepSealedKey, sealedKeyFor } from '../sealed/sealedKeys'
import { localCopyName, removeLocalCopies, tokenClaims } from './localCopy'
import { Peers, type PeerUser } from './peers.svelte'
import { m } from '../../paraglide/messages'

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'ended'

/** This device's copies of the board and caucus: kept, or being removed / removed after the link lost its access. */
export type LocalCopyState = 'kept' | 'removing' | 'removed'

/** Close codes that mean the link lost its access for good: its local copies go. */
const ACCESS_LOST: ReadonlySet<number> = new Set<number>([CloseCode.unauthorized, CloseCode.negotiationGone])

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
  /** the delegation's caucus the switch opens: the sealed one when this browser has its key, else the open one */
  caucus = $state.raw<Surface | null>(null)
  /** the delegation's open caucus (stored in clear on the server) */
  private readonly openCaucus: Surface | null
  /** the delegation's sealed-caucus key in this browser (base64url), if any */
  sealedKey = $state<string | null>(null)
  /** the delegation's caucus is sealed and this browser has no key: the switch says how to get it */
  sealedWithoutKey = $state(false)
  readonly ledger: LedgerModel
  readonly control: ControlChannel
  private readonly channels: BoardChannel[]
  /** the channels that keep a copy on this device (board, caucus) */
  private readonly kept: BoardChannel[]
  private readonly stopWatching: () => void
  private readonly wsBase: string
  private readonly identity: string

  /** navigator.onLine, kept current */
  browserOnline = $state(true)
  localCopy = $state<LocalCopyState>('kept')

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
    this.wsBase = base
    // Copies are per link: two links of different parties in one browser never share one.
    const identity = tokenClaims(token).identity
    this.identity = identity
    const open = (docName: string, opts: { awareness?: boolean; keep: boolean }) =>
      new DocChannel(base, {
        docName,
        token,
        name,
        writable: docAccess(this.grant, docName) === 'write',
        awareness: opts.awareness ?? relaysAwareness(this.grant),
        localCopy: opts.keep ? localCopyName(docName, identity) : undefined,
      })

    const boardChannel = open(boardDocName(id), { keep: true })
    // Nobody looks at anybody's cursor in the ledger: it publishes no awareness. The server
    // writes it and sends it whole on every connect: no local copy.
    const ledgerChannel = open(ledgerDocName(id), { awareness: false, keep: false })
    // Once concluded, the shared board's text is final (the server refuses its writes): nothing offers to write.
    this.board = this.surface('board', boardChannel, () => this.ledger.concluded !== null)
    this.ledger = new LedgerModel(ledgerChannel)
    this.channels = [boardChannel, ledgerChannel]
    this.kept = [boardChannel]
    if (info.party && docAccess(this.grant, caucusDocName(id, info.party)) === 'write') {
      const caucusChannel = open(caucusDocName(id, info.party), { keep: true })
      this.openCaucus = this.surface('caucus', caucusChannel)
      this.channels.push(caucusChannel)
      this.kept.push(caucusChannel)
      const key = sealedKeyFor(id, info.party)
      if (key) this.openSealed(key)
      else {
        this.caucus = this.openCaucus
        void this.checkSealed()
      }
    } else {
      this.openCaucus = null
    }
    this.control = new ControlChannel(token, name)

    this.browserOnline = navigator.onLine
    addEventListener('online', this.onOnline)
    addEventListener('offline', this.onOffline)

    this.stopWatching = $effect.root(() => {
      $effect(() => {
        const ended = this.ended
        if (ended && ACCESS_LOST.has(ended.code)) untrack(() => void this.removeLocalCopies())
      })
    })
  }

  // ── the sealed caucus ───────────────────────────────────────────────────

  /** Whether the delegation's caucus is sealed, asked without a key: then the switch says how to get it. */
  private async checkSealed(): Promise<void> {
    const party = this.info.party
    if (!party) return
    const head = await sealedHead(this.wsBase, sealedDocName(this.info.negotiation.id, party), this.token)
    if (head !== null && head > 0 && this.sealedKey === null) this.sealedWithoutKey = true
  }

  /** The sealed caucus with `key` becomes the caucus the switch opens. */
  private openSealed(key: string, seed?: Uint8Array): void {
    const party = this.info.party!
    const docName = sealedDocName(this.info.negotiation.id, party)
    const channel = new SealedChannel({
      baseUrl: this.wsBase,
      docName,
      token: this.token,
      name: this.name,
      key,
      writable: true,
      me: { user: this.name, party },
      localCopy: localCopyName(docName, this.identity),
      seed,
    })
    this.channels.push(channel)
    this.kept.push(channel)
    this.sealedKey = key
    this.sealedWithoutKey = false
    this.caucus = this.surface('caucus', channel)
  }

  /**
   * Seals this delegation's caucus with a key made in this browser. With `moveDrafts`, the open caucus's
   * drafts go into the sealed one (as this person's edit) and are cleared from the open one. (What the
   * server stored of the open caucus before stays there: say so where this is offered.)
   */
  sealCaucus(key: string, moveDrafts: boolean): void {
    const party = this.info.party
    if (!party || !this.openCaucus || this.sealedKey) return
    keepSealedKey(this.info.negotiation.id, party, key)
    const open = this.openCaucus.model.channel
    const seed = moveDrafts ? Y.encodeStateAsUpdate(open.doc) : undefined
    this.openSealed(key, seed)
    if (moveDrafts)
      open.transact((doc) => {
        const { terms, notes, links, order } = board(doc)
        for (const map of [terms, notes, links]) for (const k of [...map.keys()]) map.delete(k)
        order.delete(0, order.length)
      })
  }

  /** A key this person was given (pasted): kept, and the sealed caucus opens with it. */
  useSealedKey(key: string): void {
    const party = this.info.party
    if (!party || !this.openCaucus || this.sealedKey) return
    keepSealedKey(this.info.negotiation.id, party, key)
    this.openSealed(key)
  }

  /** Forgets a key that opens nothing (another caucus's): back to "sealed, no key". */
  forgetSealedKey(): void {
    const party = this.info.party
    const sealed = this.caucus?.model.channel
    if (!party || !(sealed instanceof SealedChannel)) return
    forgetSealedKey(this.info.negotiation.id, party)
    this.channels.splice(this.channels.indexOf(sealed), 1)
    this.kept.splice(this.kept.indexOf(sealed), 1)
    const local = sealed.takeLocalCopy()
    sealed.destroy()
    if (local) void local.clear()
    this.sealedKey = null
    this.sealedWithoutKey = true
    this.caucus = this.openCaucus
  }

  /** The caucus the switch opens is the sealed one. */
  get caucusSealed(): boolean {
    return this.caucus?.model.channel instanceof SealedChannel
  }

  /** The link lost its access: its copies of the board and caucus leave this device. */
  private async removeLocalCopies(): Promise<void> {
    if (this.localCopy !== 'kept') return
    if (this.info.party) forgetSealedKey(this.info.negotiation.id, this.info.party)
    this.localCopy = 'removing'
    const open = this.kept.flatMap((c) => c.takeLocalCopy() ?? [])
    try {
      await removeLocalCopies(this.info.negotiation.id, this.token, open)
    } finally {
      this.localCopy = 'removed'
    }
  }

  private surface(kind: BoardKind, channel: BoardChannel, final?: () => boolean): Surface {
    const peers = new Peers(channel.awareness)
    peers.setUser(this.me)
    return { kind, model: new BoardModel(channel, kind, final), peers }
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

  /** When every delegation initialled the package; null while the negotiation goes on. */
  get concluded(): Concluded | null {
    return this.ledger.concluded
  }

  /** Commands that change the negotiation (term moves, checkpoints, restores): a negotiator's, until conclusion. */
  get mayChange(): boolean {
    return this.canCommand && this.concluded === null
  }

  /** The board refused this person's writes because the negotiation is concluded (what they typed was not kept). */
  get boardRefusedAsFinal(): boolean {
    return this.board.model.channel.refusedAsConcluded
  }

  party(id: string | null | undefined): PartyStyle | undefined {
    return id ? this.parties.get(id) : undefined
  }

  // ── connection state, summed over every channel ───────────────────────

  get loaded(): boolean {
    // A board shown from this device's copy is loaded; what the server alone has (the ledger) follows.
    return this.kept.some((c) => c.fromLocalCopy) || this.channels.every((c) => c.loaded)
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

  /** Accepts subject to confirmation by `principal`, optionally by a date (YYYY-MM-DD): not binding until confirmed. */
  acceptAdReferendum(termId: string, adReferendum: { principal: string; until?: string }): Promise<CommandResult> {
    return this.control.command('term:accept', { termId, adReferendum })
  }

  /** This delegation's principal confirmed its acceptance ad referendum. */
  confirmAdReferendum(termId: string): Promise<CommandResult> {
    return this.control.command('term:confirm', { termId })
  }

  /** Settles open bracket group `group` (the title's groups first, then the text's) on option `option`. */
  choose(termId: string, group: number, option: number): Promise<CommandResult> {
    return this.control.command('term:choose', { termId, group, option })
  }

  /** Binds this delegation to the package whose hash this person saw (refused if it changed since). */
  acceptPackage(hash: string): Promise<CommandResult> {
    return this.control.command('package:accept', { hash })
  }

  /** Initials the package for this delegation; the last delegation to initial concludes the negotiation. */
  initial(): Promise<CommandResult> {
    return this.control.command('negotiation:initial', {})
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

  /** Accepts (another party's) or rejects (anyone's) a suggestion in a term's text. */
  decideSuggestion(termId: string, id: string, accept: boolean): Promise<CommandResult> {
    return this.control.command(accept ? 'suggestion:accept' : 'suggestion:reject', { termId, id })
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

  /**
   * The Word file of the sheet at version `n` (the newest when absent), or of the redline from `from`
   * to `to` as tracked changes (CONTRACT.md "Word documents").
   */
  wordExport(q: { n?: number } | { from: number; to: number }): Promise<Download> {
    const id = encodeURIComponent(this.info.negotiation.id)
    const query = 'from' in q ? `&from=${q.from}&to=${q.to}` : q.n !== undefined ? `&n=${q.n}` : ''
    const fallback = 'from' in q ? `${id}-v${q.from}-v${q.to}-redline.docx` : `${id}${q.n !== undefined ? `-v${q.n}` : ''}.docx`
    return apiDownload(`/api/negotiations/${id}/export?format=docx${query}`, { token: this.token, fallback })
  }

  /**
   * The sheet as it stands now, with its history, as Markdown, HTML or JSON (CONTRACT.md: these formats take no
   * version), fetched with the session's token like the Word files.
   */
  sheetExport(format: 'md' | 'html' | 'json', n?: number): Promise<Download> {
    const id = encodeURIComponent(this.info.negotiation.id)
    const at = n !== undefined ? `&n=${n}` : ''
    return apiDownload(`/api/negotiations/${id}/export?format=${format}${at}`, {
      token: this.token,
      fallback: `${id}${n !== undefined ? `-v${n}` : ''}.${format}`,
    })
  }

  /**
   * Brings in a Word draft of the sheet (CONTRACT.md "Word documents"): its differences from the board
   * become this delegation's suggestions, in this person's name (the one the board knows them by).
   */
  bringInDraft(file: File, opts: WordUploadOptions = {}): Promise<DraftAnswer> {
    const id = encodeURIComponent(this.info.negotiation.id)
    const path = `/api/negotiations/${id}/drafts?name=${encodeURIComponent(this.name)}`
    return uploadWordFile<DraftAnswer>(path, this.token, file, opts)
  }

  /** The signed record of the concluded negotiation (JSON; CONTRACT.md "Signed record"). */
  record(): Promise<Download> {
    const id = encodeURIComponent(this.info.negotiation.id)
    return apiDownload(`/api/negotiations/${id}/record`, { token: this.token, fallback: `${id}-record.json` })
  }

  /** The concluded text with its record, as a PDF (an export: history readers only). */
  recordPdf(): Promise<Download> {
    const id = encodeURIComponent(this.info.negotiation.id)
    return apiDownload(`/api/negotiations/${id}/export?format=pdf`, { token: this.token, fallback: `${id}-record.pdf` })
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
    this.stopWatching()
    this.control.destroy()
    for (const c of this.channels) c.destroy()
  }
}

/** What to tell a person whose session ended, by close code. */
export function endedMessage(code: number): { title: string; body: string } {
  switch (code) {
    case CloseCode.negotiationGone:
      return { title: m.connection_ended_gone_title(), body: m.connection_ended_gone_body() }
    case CloseCode.forbidden:
      return { title: m.connection_ended_forbidden_title(), body: m.connection_ended_forbidden_body() }
    case CloseCode.unauthorized:
      return { title: m.connection_ended_unauthorized_title(), body: m.connection_ended_unauthorized_body() }
    default:
      return { title: m.connection_ended_refused_title(), body: m.connection_ended_refused_body() }
  }
}
