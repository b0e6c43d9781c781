/**
 * The version index: maintained as board and ledger updates commit (never
 * recomputed per request). Each committed board update extends the open
 * `edit` version or starts one; each ledger move (the `meta` of a server
 * write) is a version of its own. Versions are chained by hash like the log.
 *
 * Per negotiation, work runs through one promise queue so version numbers
 * are assigned in commit order.
 */
import { parseDocName } from '../../shared/docNames'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { termText } from '../../shared/docLayout'
import type { TermText } from '../../shared/negotiation'
import type { Version, VersionKind } from '../../shared/schemas'
import { GENESIS_HASH, versionRowHash } from '../store/chain'
import type { NegotiationRecord, Store, VersionRecord } from '../store/types'
import type { CommittedUpdate, Room } from '../sync/room'
import type { RoomRegistry } from '../sync/roomRegistry'
import type { LedgerMoveMeta, TermTouches } from '../negotiation/boardWatcher'
import { extendsVersion, mergeTermIds, type HistoryEvent } from './grouping'
import { summarize } from './summary'

/** How often a growing edit version is written and announced. */
const EXTEND_FLUSH_MS = 1000

export interface VersionIndexDeps {
  store: Store
  registry: RoomRegistry
  negotiation: (id: string) => Promise<NegotiationRecord | null>
  touches: WeakMap<object, TermTouches>
  emit: (negotiationId: string, version: Version) => void
  now: () => number
  log: (level: 'warn' | 'error', msg: string, err?: unknown) => void
}

interface NegotiationHistory {
  last: VersionRecord | null
  /** text of each term when the open edit run first touched it */
  runBefore: Map<string, TermText>
  /** the open edit version changed since it was last written */
  dirty: boolean
  flushTimer: NodeJS.Timeout | null
}

export const toVersion = (v: VersionRecord): Version => ({
  n: v.n,
  at: new Date(v.at).toISOString(),
  party: v.party,
  user: v.user,
  kind: v.kind as VersionKind,
  termIds: v.termIds,
  summary: v.summary,
  ...(v.name ? { name: v.name } : {}),
})

export class VersionIndex {
  private histories = new Map<string, Promise<NegotiationHistory>>()
  private queues = new Map<string, Promise<void>>()

  constructor(private readonly deps: VersionIndexDeps) {}

  /** Registry onCreate hook: index the board and the ledger of every negotiation. */
  attach(room: Room): void {
    const ref = parseDocName(room.name)
    if (ref?.kind === 'board') room.addListener({ onCommitted: (r, u) => this.onBoard(ref.negotiationId, r, u) })
    if (ref?.kind === 'ledger') room.addListener({ onCommitted: (r, u) => this.onLedger(ref.negotiationId, r, u) })
  }

  async list(negotiationId: string): Promise<VersionRecord[]> {
    await this.settled(negotiationId)
    return this.deps.store.listVersions(negotiationId)
  }

  async get(negotiationId: string, n: number): Promise<VersionRecord | null> {
    await this.settled(negotiationId)
    return this.deps.store.getVersion(negotiationId, n)
  }

  /** Waits for queued work of a negotiation and writes its open edit version. */
  async settled(negotiationId: string): Promise<void> {
    await this.enqueue(negotiationId, async (h) => this.flush(negotiationId, h))
  }

  private history(negotiationId: string): Promise<NegotiationHistory> {
    let h = this.histories.get(negotiationId)
    if (!h) {
      h = this.deps.store.listVersions(negotiationId).then((all) => ({
        last: all[all.length - 1] ?? null,
        runBefore: new Map(),
        dirty: false,
        flushTimer: null,
      }))
      this.histories.set(negotiationId, h)
    }
    return h
  }

  private enqueue(negotiationId: string, work: (h: NegotiationHistory) => Promise<void> | void): Promise<void> {
    const prev = this.queues.get(negotiationId) ?? Promise.resolve()
    const next = prev
      .then(() => this.history(negotiationId))
      .then(work)
      .catch((err) => this.deps.log('error', `version index of ${negotiationId}`, err))
    this.queues.set(negotiationId, next)
    return next
  }

  private onBoard(negotiationId: string, room: Room, updates: CommittedUpdate[]): void {
    const ledgerSeq = this.deps.registry.peek(ledgerDocName(negotiationId))?.committedSeq
    for (const u of updates) {
      const meta = u.origin.source === 'server' ? (u.origin.meta as LedgerMoveMeta | undefined) : undefined
      const touches = this.deps.touches.get(u.origin)
      const after = new Map<string, TermText>()
      for (const id of touches?.text ?? []) {
        const t = termText(room.doc, id)
        if (t) after.set(id, t)
      }
      void this.enqueue(negotiationId, async (h) => {
        const seqs = { boardSeq: u.seq, ledgerSeq: ledgerSeq ?? (await this.deps.store.headSeq(ledgerDocName(negotiationId))) }
        if (meta?.kind === 'restore') return this.record(negotiationId, h, { ...meta, at: u.at, kind: 'restore' }, seqs)
        if (!touches) return this.record(negotiationId, h, this.editEvent(u, []), seqs)
        // A term's creation is recorded by its `propose` version; only other changes are edits.
        const changed = [...touches.text, ...touches.layout, ...touches.removed].filter((id) => !touches.added.has(id))
        if (changed.length === 0 && touches.added.size > 0) return
        for (const [id, before] of touches.before) if (!h.runBefore.has(id)) h.runBefore.set(id, before)
        const layoutOnly = touches.text.size === 0 && touches.removed.size === 0 && touches.layout.size > 0
        return this.record(negotiationId, h, this.editEvent(u, mergeTermIds([], changed)), seqs, { after, layoutOnly })
      })
    }
  }

  private onLedger(negotiationId: string, _room: Room, updates: CommittedUpdate[]): void {
    const boardSeq = this.deps.registry.peek(boardDocName(negotiationId))?.committedSeq
    for (const u of updates) {
      if (u.origin.source !== 'server') continue
      const meta = u.origin.meta as LedgerMoveMeta | undefined
      if (!meta) continue
      void this.enqueue(negotiationId, async (h) => {
        const seqs = { ledgerSeq: u.seq, boardSeq: boardSeq ?? (await this.deps.store.headSeq(boardDocName(negotiationId))) }
        if (meta.kind === 'agree') {
          // The last acceptance completes the agreement: the acceptance and the agreement are both versions.
          await this.record(negotiationId, h, { ...meta, kind: 'accept', at: u.at }, seqs)
          return this.record(negotiationId, h, { ...meta, kind: 'agree', at: u.at }, seqs)
        }
        return this.record(negotiationId, h, { ...meta, at: u.at }, seqs)
      })
    }
  }

  private editEvent(u: CommittedUpdate, termIds: string[]): HistoryEvent {
    return { kind: 'edit', at: u.at, party: u.author.party, user: u.author.user, termIds }
  }

  private async record(
    negotiationId: string,
    h: NegotiationHistory,
    ev: HistoryEvent & { name?: string; reason?: string; restoredFrom?: number },
    seqs: { boardSeq: number; ledgerSeq: number },
    edit?: { after: Map<string, TermText>; layoutOnly: boolean },
  ): Promise<void> {
    const negotiation = await this.deps.negotiation(negotiationId)
    const partyName = (id: string | null) => (id ? (negotiation?.parties.find((p) => p.id === id)?.name ?? id) : null)
    const board = this.deps.registry.peek(boardDocName(negotiationId))
    const titleOf = (id: string) => (board ? termText(board.doc, id)?.title : undefined) ?? h.runBefore.get(id)?.title ?? id

    if (extendsVersion(h.last, ev)) {
      const last = h.last!
      last.termIds = mergeTermIds(last.termIds, ev.termIds)
      last.lastAt = ev.at
      last.boardSeq = seqs.boardSeq
      last.ledgerSeq = seqs.ledgerSeq
      last.summary = this.editSummary(last, h, partyName(last.party) ?? last.user, titleOf, edit)
      h.dirty = true
      this.scheduleFlush(negotiationId, h)
      return
    }

    await this.flush(negotiationId, h)
    if (ev.kind !== 'edit') h.runBefore.clear()
    else h.runBefore = new Map([...h.runBefore].filter(([id]) => ev.termIds.includes(id)))
    const prevHash = h.last?.hash ?? GENESIS_HASH
    const record: VersionRecord = {
      negotiationId,
      n: (h.last?.n ?? 0) + 1,
      at: ev.at,
      lastAt: ev.at,
      party: ev.party,
      user: ev.user,
      kind: ev.kind,
      termIds: ev.termIds,
      summary: '',
      ...(ev.name ? { name: ev.name } : {}),
      boardSeq: seqs.boardSeq,
      ledgerSeq: seqs.ledgerSeq,
      hash: '',
      prevHash,
    }
    record.summary =
      ev.kind === 'edit'
        ? this.editSummary(record, h, partyName(ev.party) ?? ev.user, titleOf, edit)
        : summarize({
            kind: ev.kind,
            partyName: partyName(ev.party) ?? (ev.party === null && ev.kind === 'propose' ? null : ev.user),
            titles: ev.termIds.map(titleOf),
            name: ev.name,
            reason: ev.reason,
            restoredFrom: ev.restoredFrom,
          })
    record.hash = versionRowHash(prevHash, record)
    h.last = record
    await this.deps.store.putVersion(record)
    this.deps.emit(negotiationId, toVersion(record))
  }

  private editSummary(
    v: VersionRecord,
    h: NegotiationHistory,
    who: string,
    titleOf: (id: string) => string,
    edit?: { after: Map<string, TermText>; layoutOnly: boolean },
  ): string {
    const only = v.termIds.length === 1 ? v.termIds[0]! : null
    return summarize({
      kind: 'edit',
      partyName: who,
      titles: v.termIds.map(titleOf),
      before: only ? h.runBefore.get(only) : undefined,
      after: only ? edit?.after.get(only) : undefined,
      layoutOnly: edit?.layoutOnly && !v.termIds.some((id) => h.runBefore.has(id)),
    })
  }

  private scheduleFlush(negotiationId: string, h: NegotiationHistory): void {
    if (h.flushTimer) return
    h.flushTimer = setTimeout(() => {
      h.flushTimer = null
      void this.enqueue(negotiationId, (hh) => this.flush(negotiationId, hh))
    }, EXTEND_FLUSH_MS)
    h.flushTimer.unref()
  }

  /** Writes the open edit version if it grew since it was last written. */
  private async flush(negotiationId: string, h: NegotiationHistory): Promise<void> {
    if (!h.dirty || !h.last) return
    h.dirty = false
    if (h.flushTimer) {
      clearTimeout(h.flushTimer)
      h.flushTimer = null
    }
    h.last.hash = versionRowHash(h.last.prevHash, h.last)
    await this.deps.store.putVersion(h.last)
    this.deps.emit(negotiationId, toVersion(h.last))
  }

  /** Writes every open edit version (shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.histories.keys()].map((id) => this.settled(id)))
  }
}
