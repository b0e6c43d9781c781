/**
 * The ledger doc (written by the server only) as reactive data: each term's
 * status, the negotiation's meta, and where it stands on its way to
 * conclusion (the package, the initials, the conclusion itself).
 */
import { createSubscriber } from 'svelte/reactivity'
import {
  allStatuses,
  authorKey,
  ledger,
  readConclusion,
  readMeta,
  type ConclusionState,
  type LedgerMeta,
} from '../../../../shared/docLayout'
import type { Concluded } from '../../../../shared/conclusion'
import type { TermStatus } from '../../../../shared/negotiation'
import type { DocChannel } from '../connection/docChannel.svelte'

export class LedgerModel {
  private readonly subscribe: () => void
  private statuses: Map<string, TermStatus> | null = null
  private previous = new Map<string, TermStatus>()
  private conclusionNow: ConclusionState | null = null
  private conclusionBefore: ConclusionState | null = null

  /** grows whenever the server records whose more Yjs client ids are (the `authors` map) */
  authorsVersion = $state(0)

  constructor(readonly channel: DocChannel) {
    const doc = channel.doc
    ledger(doc).authors.observe(() => this.authorsVersion++)
    doc.on('update', () => {
      this.statuses = null
      this.conclusionNow = null
    })
    this.subscribe = createSubscriber((update) => {
      const onUpdate = () => update()
      doc.on('update', onUpdate)
      return () => doc.off('update', onUpdate)
    })
  }

  private get all(): Map<string, TermStatus> {
    this.subscribe()
    if (!this.statuses) {
      const next = allStatuses(this.channel.doc)
      // keep unchanged objects, so only the cards whose status moved re-render
      for (const [id, s] of next) {
        const old = this.previous.get(id)
        if (old && JSON.stringify(old) === JSON.stringify(s)) next.set(id, old)
      }
      this.previous = next
      this.statuses = next
    }
    return this.statuses
  }

  status(termId: string): TermStatus | undefined {
    return this.all.get(termId)
  }

  /** Every term's status (a new map after each ledger change; unchanged statuses keep their objects). */
  termStatuses(): ReadonlyMap<string, TermStatus> {
    return this.all
  }

  /** The delegation that wrote under a Yjs client id of the board; null when unknown or the server's. */
  authorParty(clientId: number): string | null {
    const v = ledger(this.channel.doc).authors.get(authorKey(clientId)) as { party?: unknown } | undefined
    return typeof v?.party === 'string' ? v.party : null
  }

  get meta(): LedgerMeta | null {
    this.subscribe()
    return readMeta(this.channel.doc)
  }

  /** The package, the initials, the conclusion and the last voiding (the same object while none of them changed). */
  get conclusion(): ConclusionState {
    this.subscribe()
    if (!this.conclusionNow) {
      const next = readConclusion(this.channel.doc)
      const before = this.conclusionBefore
      this.conclusionNow = before && JSON.stringify(before) === JSON.stringify(next) ? before : next
      this.conclusionBefore = this.conclusionNow
    }
    return this.conclusionNow
  }

  /** Set once every delegation initialled the package: the board's text is final. */
  get concluded(): Concluded | null {
    return this.conclusion.concluded
  }

  get lastCheckpoint(): { name: string; at: number; party: string | null; user: string } | null {
    this.subscribe()
    const v = ledger(this.channel.doc).meta.get('lastCheckpoint') as Record<string, unknown> | undefined
    if (!v || typeof v.name !== 'string') return null
    return {
      name: v.name,
      at: typeof v.at === 'number' ? v.at : 0,
      party: typeof v.party === 'string' ? v.party : null,
      user: typeof v.user === 'string' ? v.user : '',
    }
  }
}
