/**
 * A negotiation's versions as far as they are loaded: the pages fetched so
 * far, the versions pushed live since the page opened, what is still a gap,
 * and the whole history's shape (density). The History panel and the replay
 * each hold one; they load the pages that what is on screen needs (a link to
 * a version far back loads the page holding it, scrolling loads the next),
 * never the whole history up front. The paging logic itself is pure, in
 * versionPages.ts.
 */
import type { Version, VersionDensityAnswer, VersionList } from '../../../../shared/schemas'
import {
  addSpan,
  answeredSpan,
  findVersion,
  gapAt,
  gapsIn,
  pageAround,
  pageBackward,
  pageForward,
  requestSpan,
  withLive,
  withPoints,
  type PageRequest,
  type PagedSource,
  type Span,
} from './versionPages'
import { explain, mergeVersions } from './versions'

export interface HistorySource {
  versionPage(after: number, limit: number): Promise<VersionList>
  versionDensity(buckets: number): Promise<VersionDensityAnswer>
  /** versions pushed live (socket.io `version`) since the page opened */
  live(): readonly Version[]
}

/** How far the redline's delegation filter loads a window it needs (beyond, what is loaded is what it counts). */
const RANGE_LOAD_MAX = 5000

export class VersionHistory {
  private readonly source: HistorySource
  readonly pageSize: number
  private readonly buckets: number

  /** the fetched pages' versions, oldest first (live ones are merged in `known`) */
  private fetched = $state.raw<Version[]>([])
  /** what the fetched pages cover */
  private spans = $state.raw<Span[]>([])
  /** the newest version the density or a page has told of */
  private latestFetched = $state(0)
  private density = $state.raw<VersionDensityAnswer | null>(null)

  /** the density has arrived: `latest` and the gaps are known */
  ready = $state(false)
  /** the history could not be opened at all */
  error = $state<string | null>(null)
  /** the last page that could not be loaded (a retry is up to the person) */
  pageError = $state<string | null>(null)
  /** pages under way */
  loading = $state(0)

  private readonly pending = new Map<string, { span: Span; promise: Promise<void> }>()
  private destroyed = false

  /** every version loaded, fetched or live, oldest first, each once */
  // ($derived.by: TypeScript sees a closure, read once the constructor has set `source`.)
  readonly known: Version[] = $derived.by(() => mergeVersions(this.fetched, this.source.live()))
  readonly byN: Map<number, Version> = $derived(new Map(this.known.map((v) => [v.n, v])))
  /** the newest version number there is, as far as anyone has said */
  readonly latest: number = $derived(Math.max(this.latestFetched, this.known.length ? this.known[this.known.length - 1]!.n : 0))
  /** the ranges of 1…latest not loaded, ascending */
  readonly gaps: Span[] = $derived.by(() =>
    gapsIn(
      withPoints(
        this.spans,
        this.source.live().map((v) => v.n),
      ),
      this.latest,
    ),
  )
  /** the whole history's shape, with live versions folded in */
  readonly shape: VersionDensityAnswer | null = $derived.by(() =>
    this.density ? withLive(this.density, this.source.live()) : null,
  )

  constructor(source: HistorySource, pageSize: number, buckets: number) {
    this.source = source
    this.pageSize = pageSize
    this.buckets = buckets
  }

  /** Fetches the density, which tells how far the history goes. Rejects (and sets `error`) when it cannot. */
  async start(): Promise<void> {
    this.error = null
    try {
      const d = await this.source.versionDensity(this.buckets)
      if (this.destroyed) return
      this.density = d
      this.latestFetched = Math.max(this.latestFetched, ...d.buckets.map((b) => b.toN))
      this.ready = true
    } catch (err) {
      if (!this.destroyed) this.error = explain(err, 'history')
      throw err
    }
  }

  get(n: number): Version | undefined {
    return this.byN.get(n)
  }

  /** Whether version n is loaded, or known not to exist (beyond the latest, or 0). */
  loaded(n: number): boolean {
    return !gapAt(this.gaps, n)
  }

  /** Fetches one page (the same request under way is shared) and adds what it brings. */
  load(r: PageRequest): Promise<void> {
    const key = `${r.after}:${r.limit}`
    const under = this.pending.get(key)
    if (under) return under.promise
    this.loading++
    const latestAsked = this.latestFetched
    const promise = this.source
      .versionPage(r.after, r.limit)
      .then(
        (answer) => {
          if (this.destroyed) return
          // At the end of the history a page proves there is nothing more up to what was known when it was
          // asked — not up to versions that arrived live since: any missed in between stay a gap.
          this.spans = addSpan(this.spans, answeredSpan(r, answer, latestAsked))
          if (answer.versions.length) {
            this.fetched = mergeVersions(this.fetched, answer.versions)
            this.latestFetched = Math.max(this.latestFetched, answer.versions[answer.versions.length - 1]!.n)
          }
          this.pageError = null
        },
        (err) => {
          if (!this.destroyed) this.pageError = explain(err, 'versions')
          throw err
        },
      )
      .finally(() => {
        this.pending.delete(key)
        this.loading--
      })
    this.pending.set(key, { span: requestSpan(r), promise })
    return promise
  }

  /** Loads the page holding version n (n about in its middle) unless it is loaded or under way. */
  async ensureAround(n: number): Promise<void> {
    for (let tries = 0; tries < 3 && n >= 1 && !this.loaded(n) && !this.destroyed; tries++) {
      const open = gapAt(this.openGaps(), n)
      if (open) await this.load(pageAround(n, open, this.pageSize))
      else await this.underWay(n)
    }
  }

  /** Scrolling past the versions before a gap: its first page. */
  loadForward(gap: Span): Promise<void> {
    const open = this.openGaps().find((g) => g.lo <= gap.hi && g.hi >= gap.lo)
    return open
      ? this.load(pageForward({ lo: Math.max(open.lo, gap.lo), hi: Math.min(open.hi, gap.hi) }, this.pageSize))
      : Promise.resolve()
  }

  /** Scrolling back from the versions after a gap: its last page. */
  loadBackward(gap: Span): Promise<void> {
    const open = this.openGaps().findLast((g) => g.lo <= gap.hi && g.hi >= gap.lo)
    return open
      ? this.load(pageBackward({ lo: Math.max(open.lo, gap.lo), hi: Math.min(open.hi, gap.hi) }, this.pageSize))
      : Promise.resolve()
  }

  /** Loads every version in lo…hi, a page at a time, if there are at most RANGE_LOAD_MAX of them to load. */
  async ensureRange(lo: number, hi: number): Promise<void> {
    const missing = () => this.gaps.filter((g) => g.hi >= lo && g.lo <= hi)
    if (missing().reduce((sum, g) => sum + Math.min(g.hi, hi) - Math.max(g.lo, lo) + 1, 0) > RANGE_LOAD_MAX) return
    for (let guard = 0; guard < 100 && !this.destroyed; guard++) {
      const g = missing()[0]
      if (!g) return
      await this.load(pageForward({ lo: Math.max(g.lo, lo), hi: Math.min(g.hi, hi) }, this.pageSize))
    }
  }

  /** The nearest version after (1) or before (-1) n that `match` keeps, loading pages on the way. */
  find(n: number, dir: 1 | -1, match: (v: Version) => boolean, cancelled?: () => boolean): Promise<number | null> {
    const src: PagedSource = {
      known: () => this.known,
      gaps: () => this.gaps,
      load: (r) => this.load(r),
      pageSize: this.pageSize,
    }
    return findVersion(src, n, dir, match, () => this.destroyed || (cancelled?.() ?? false))
  }

  destroy(): void {
    this.destroyed = true
  }

  /** Gaps neither loaded nor being loaded: what a new request should ask for. */
  private openGaps(): Span[] {
    let spans = withPoints(
      this.spans,
      this.source.live().map((v) => v.n),
    )
    for (const p of this.pending.values()) spans = addSpan(spans, p.span)
    return gapsIn(spans, this.latest)
  }

  private async underWay(n: number): Promise<void> {
    for (const p of this.pending.values()) if (p.span.lo <= n && n <= p.span.hi) await p.promise.catch(() => {})
  }
}
