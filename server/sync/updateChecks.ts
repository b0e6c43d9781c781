/**
 * The checks a client's update passes before a room applies it, in order:
 * well-formed and within limits (updateScan), adds anything, may this
 * connection write, does the doc still take writes, within its struct budget, is the store taking writes,
 * does it start where the doc is, whose client ids does it write under, does
 * it keep the doc's layout, are its suggestions in the writer's own name.
 * Each check is cheap and none applies anything: the verdict tells the room
 * what to do.
 */
import type * as Y from 'yjs'
import { PermissionDeniedReason } from '../../shared/protocol'
import { parseSuggestionJson, SUGGESTION_KEY } from '../../shared/suggestions'
import type { Connection } from './connection'
import { addsToDoc, newClientIds, newDeleteRanges, startsPastState } from './docState'
import { LayoutChecker } from './layoutCheck'
import { scanUpdate, type UpdateLimits } from './updateScan'

export type UpdateVerdict =
  /** an empty update: nothing to do */
  | { kind: 'empty' }
  /** a resend after a reconnect: nothing to store, but the sender may wait for its receipt */
  | { kind: 'known' }
  | { kind: 'refuse'; reason: string; detail?: string }
  /** over the token's struct budget */
  | { kind: 'rate-limited' }
  | { kind: 'store-unavailable' }
  /** starts past what the doc has of its client: ask the sender for what the doc lacks */
  | { kind: 'ask-missing' }
  /** apply it; `claims` are the client ids it introduces, to be owned by the sender */
  | { kind: 'accept'; claims: number[] }

export class UpdateChecks {
  /** judges updates against the doc's layout (when the limits name one); tied to one doc */
  private layoutChecker: LayoutChecker | null = null

  constructor(
    private readonly limits: UpdateLimits,
    private readonly storeWritable: () => boolean,
  ) {}

  /** The room replaced its doc (a rebuild): the layout checker's index belonged to the old one. */
  docReplaced(): void {
    this.layoutChecker = null
  }

  /** Throws ProtocolError (from the scan) for an update that must close the connection. */
  judge(
    doc: Y.Doc,
    owners: ReadonlyMap<number, string>,
    conn: Connection,
    update: Uint8Array,
    writeRefusal: string | null = null,
  ): UpdateVerdict {
    const shape = scanUpdate(update, this.limits)
    if (shape.empty) return { kind: 'empty' }
    if (!addsToDoc(doc, shape)) return { kind: 'known' }
    if (conn.access !== 'write') return { kind: 'refuse', reason: PermissionDeniedReason.readOnly }
    // The doc takes no more writes from anyone (a concluded negotiation's board).
    if (writeRefusal !== null) return { kind: 'refuse', reason: writeRefusal }
    // Yjs spends ~5–25 µs on each struct or delete range it applies: a per-token budget
    // (PARLEY_RATE_STRUCTS, shared by the token's connections) keeps struct-heavy updates from
    // monopolising the event loop. Deletions the doc already has are free (a reconnect resends them all).
    if (!conn.admitStructs(shape.structCount + newDeleteRanges(doc, shape))) return { kind: 'rate-limited' }
    if (!this.storeWritable()) return { kind: 'store-unavailable' }
    // Structs that start past what the doc has of their client would sit pending, invisible, yet be
    // stored and receipted (a client whose earlier edits died with a crash sends these). Store nothing
    // and ask the sender what the doc lacks: its sync step 2 brings the gap and this update together.
    if (startsPastState(doc, shape)) return { kind: 'ask-missing' }
    const claims: number[] = []
    for (const client of newClientIds(doc, shape)) {
      const owner = owners.get(client)
      if (owner === undefined) claims.push(client)
      else if (owner !== conn.peer.ownerKey) return { kind: 'refuse', reason: PermissionDeniedReason.forgedClientId }
    }
    if (shape.items) {
      this.layoutChecker ??= new LayoutChecker(doc, this.limits.layout!)
      const violation = this.layoutChecker.check(shape.items)
      if (violation !== null) return { kind: 'refuse', reason: PermissionDeniedReason.badLayout, detail: violation }
      // Suggestions are tracked changes with a name on them: the writer's own, never another's.
      for (const item of shape.items) {
        const c = item.content
        if (c.kind !== 'format' || c.key !== SUGGESTION_KEY) continue
        const s = parseSuggestionJson(c.value)
        if (s !== null && (s === 'invalid' || s.party !== conn.peer.party || s.user !== conn.peer.user))
          return {
            kind: 'refuse',
            reason: PermissionDeniedReason.forgedSuggestion,
            detail: `suggestion ${c.value.slice(0, 120)}`,
          }
      }
    }
    return { kind: 'accept', claims }
  }
}
