/**
 * "N changes since you were last here" (CONTRACT.md "Comments and catch-up"):
 * on opening a negotiation, a negotiator or reviewer reads `GET …/catchup`
 * and is shown what changed since the version they last saw — the redline,
 * threads with new replies, mentions of them — and the cards changed since
 * then are marked until each is opened.
 *
 * When is something "seen"? What a person expects from unread markers in a
 * chat or a document: what is on screen while they are here is seen, what
 * arrived while they were away is not until they look at it. So:
 * - with nothing to catch up on (a first visit, or no change since), the
 *   latest version counts as seen at once;
 * - with changes, `POST …/seen` waits until the person has looked: they
 *   close the catch-up view (or dismiss its banner). Only opening the board
 *   does not count, so a glance at the board does not swallow a weekend's
 *   changes;
 * - from then on, versions that arrive live while the page is visible are
 *   seen (reported a moment later, and at once when the page is hidden or
 *   left).
 * The card marks are a separate, per-card "unread": a marked card stays
 * marked until its term is opened, also after the seen version was sent.
 */
import { SvelteSet } from 'svelte/reactivity'
import type { CatchUp as CatchUpAnswer, Version } from '../../../../shared/schemas'
import { apiFetch } from '../api/http'
import type { NegotiationSession } from '../connection/negotiationSession.svelte'
import { isMove } from '../history/versions'

export type Mention = CatchUpAnswer['mentions'][number]

/** How long after a live version it is reported seen (one request for a burst of typing). */
const LIVE_SEEN_DELAY_MS = 2000

export class CatchUp {
  status = $state<'loading' | 'ready' | 'error'>('loading')
  answer = $state.raw<CatchUpAnswer | null>(null)
  /** when the last seen version was made (ms): comments after it are new */
  since = $state<number | null>(null)
  /** the person looked at what changed (or there was nothing to look at) */
  acknowledged = $state(false)
  /** the banner was put away without opening the view */
  dismissed = $state(false)
  /** cards changed since the last visit and not opened since */
  readonly changed = new SvelteSet<string>()

  private reported = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private readonly stop: () => void
  private destroyed = false

  constructor(
    private readonly session: NegotiationSession,
    private readonly token: string,
  ) {
    this.stop = $effect.root(() => {
      // Live versions while the person is here are seen (once they have looked at the catch-up).
      $effect(() => {
        const live = this.session.control.liveVersions
        if (this.acknowledged && live.length > 0) this.schedule()
      })
    })
    document.addEventListener('visibilitychange', this.onVisibility)
    addEventListener('pagehide', this.onHide)
    void this.load()
  }

  private get path(): string {
    return `/api/negotiations/${encodeURIComponent(this.session.info.negotiation.id)}`
  }

  /**
   * What a person was last shown is kept per link and name (one link may be
   * shared by a delegation): the name goes along for links that carry none.
   */
  private get name(): string {
    return this.session.name
  }

  async load(): Promise<void> {
    this.status = 'loading'
    let a: CatchUpAnswer
    try {
      a = await apiFetch<CatchUpAnswer>(`${this.path}/catchup?name=${encodeURIComponent(this.name)}`, { token: this.token })
    } catch {
      if (!this.destroyed) this.status = 'error'
      return
    }
    if (this.destroyed) return
    this.reported = a.lastSeen ?? 0
    if (a.lastSeen !== null && a.lastSeen > 0) {
      // The time of the version last seen: threads' replies after it are new.
      try {
        const page = await this.session.versionPage(a.lastSeen - 1, 1)
        const v = page.versions[0]
        if (v) this.since = Date.parse(v.lastAt ?? v.at)
      } catch {
        // without it, the first change since is near enough
      }
      this.since ??= a.versions[0] ? Date.parse(a.versions[0].at) - 1 : null
    }
    this.answer = a
    for (const id of changedTerms(a)) this.changed.add(id)
    this.status = 'ready'
    if (this.count === 0) this.acknowledge()
  }

  /** The changes since the last visit: versions other than card moves. */
  get versions(): Version[] {
    const a = this.answer
    if (!a || a.lastSeen === null) return []
    return a.versions.filter((v) => !isMove(v))
  }

  get count(): number {
    return this.versions.length
  }

  get mentions(): Mention[] {
    return this.answer?.mentions ?? []
  }

  /** The banner shows: there are changes and the person has neither looked nor put it away. */
  get pending(): boolean {
    return this.status === 'ready' && this.count > 0 && !this.acknowledged && !this.dismissed
  }

  isChanged(termId: string): boolean {
    return this.changed.has(termId)
  }

  markTermSeen(termId: string): void {
    this.changed.delete(termId)
  }

  /** The person looked at what changed: everything up to now is seen. */
  acknowledge(): void {
    this.acknowledged = true
    this.dismissed = true
    void this.report()
  }

  /** The newest version this page knows of. */
  private get latest(): number {
    let n = this.answer?.latest ?? 0
    for (const v of this.session.control.liveVersions) n = Math.max(n, v.n)
    return n
  }

  private schedule(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      if (document.visibilityState === 'visible') void this.report()
    }, LIVE_SEEN_DELAY_MS)
  }

  private async report(keepalive = false): Promise<void> {
    const n = this.latest
    if (!this.acknowledged || n < 1 || n <= this.reported) return
    const before = this.reported
    this.reported = n
    try {
      if (keepalive) {
        // The page is going: a plain fetch that outlives it.
        await fetch(`${this.path}/seen`, {
          method: 'POST',
          keepalive: true,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
          body: JSON.stringify({ n, name: this.name }),
        })
      } else {
        await apiFetch<void>(`${this.path}/seen`, { token: this.token, body: { n, name: this.name } })
      }
    } catch {
      // not recorded: the next change or visit tries again
      if (this.reported === n) this.reported = before
    }
  }

  private onVisibility = () => {
    if (document.visibilityState === 'visible') this.schedule()
    else void this.report(true)
  }

  private onHide = () => void this.report(true)

  destroy(): void {
    this.destroyed = true
    this.stop()
    if (this.timer) clearTimeout(this.timer)
    document.removeEventListener('visibilitychange', this.onVisibility)
    removeEventListener('pagehide', this.onHide)
  }
}

/** Terms whose text, state or threads changed since the last visit. */
function changedTerms(a: CatchUpAnswer): Set<string> {
  const out = new Set<string>()
  if (a.lastSeen === null) return out
  for (const d of a.terms) if (d.change !== 'unchanged' || d.state.from !== d.state.to) out.add(d.id)
  for (const v of a.versions) if (!isMove(v) && v.kind !== 'checkpoint') for (const id of v.termIds) out.add(id)
  return out
}
