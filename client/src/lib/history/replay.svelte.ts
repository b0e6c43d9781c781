/**
 * One replay session: which version is on screen, the redline's other side,
 * the filters and playback, and the sheets and redlines fetched for them
 * (cached: a past version never changes). Reads the history API through the
 * negotiation session; never touches the live documents. The URL follows the
 * state (`?v=…&from=…`), so the address bar is always a link to what is shown.
 *
 * The version list comes in pages (a VersionHistory): the page holding the
 * version asked for first, then whatever stepping, playing, scrubbing and
 * scrolling reach. Moving across a range not loaded yet waits for its page.
 */
import type { NegotiationSession } from '../connection/negotiationSession.svelte'
import type { CommandResult } from '../connection/controlChannel.svelte'
import type { Sheet, TermDiff, Version } from '../../../../shared/schemas'
import { NO_FILTER, Player, fromFor, matchesFilter, resolveVersion, stepFrom, type ReplayFilter, type Speed } from './replayModel'
import { replaySearch, type ReplayParams } from './replayUrl'
import { VersionHistory } from './versionHistory.svelte'
import { pageSizeFrom, stepKnown } from './versionPages'
import { explain, isMove } from './versions'

/** Past sheets and redlines kept in memory; scrubbing a long history must not keep them all. */
const CACHE_LIMIT = 200
/** how long the scrubber must rest on a version before it is fetched */
const SETTLE_MS = 40
/** ranges in the density strip under the timeline */
const DENSITY_BUCKETS = 200

function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  cache.delete(key)
  cache.set(key, value)
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as K)
}

export class Replay {
  private readonly session: NegotiationSession
  /** the version list, as far as it is loaded (pages plus live versions) */
  readonly history: VersionHistory
  private started = $state(false)

  /** the version on the board and on the redline's right */
  v = $state(0)
  /** a chosen left side of the redline; null follows the selected version (the one before it) */
  pinnedFrom = $state<number | null>(null)
  filter = $state.raw<ReplayFilter>(NO_FILTER)
  showUnchanged = $state(false)
  playing = $state(false)
  speed = $state<Speed>(1)

  versionsError = $state<string | null>(null)
  /** a version asked for by the scrubber or the density strip, while its page loads */
  seeking = $state<number | null>(null)

  /** the sheet on the board: the selected version's, or the previous one while that loads */
  sheet = $state.raw<Sheet | null>(null)
  /** the version whose sheet is being fetched */
  sheetPending = $state<number | null>(null)
  sheetError = $state<string | null>(null)

  diff = $state.raw<{ from: number; to: number; terms: TermDiff[] } | null>(null)
  diffPending = $state(false)
  diffError = $state<string | null>(null)

  /** every version loaded, oldest first */
  // ($derived.by: TypeScript sees a closure, read once the constructor has set `history`.)
  readonly versions: Version[] = $derived.by(() => this.history.known)
  /** the loaded versions the filters keep: the list, stepping and playback walk these */
  readonly timeline: Version[] = $derived(this.versions.filter((v) => matchesFilter(v, this.filter)))
  readonly timelineNs: number[] = $derived(this.timeline.map((v) => v.n))
  readonly from: number = $derived(fromFor(this.v, this.pinnedFrom))
  readonly version: Version | undefined = $derived.by(() => this.history.byN.get(this.v))
  readonly latest: number = $derived.by(() => this.history.latest)
  readonly ready: boolean = $derived.by(() => this.history.ready && this.started)
  /** every version is loaded (a short history, or one scrolled through) */
  readonly complete: boolean = $derived.by(() => this.history.ready && this.history.gaps.length === 0)
  private readonly sheets = new Map<number, Sheet>()
  private readonly sheetRequests = new Map<number, Promise<Sheet>>()
  private readonly diffs = new Map<string, TermDiff[]>()
  private loadTimer: ReturnType<typeof setTimeout> | null = null
  private seekTimer: ReturnType<typeof setTimeout> | null = null
  /** bumped by every move, so a search for a version across pages that a newer move overtook drops out */
  private moveSeq = 0
  private sheetSeq = 0
  private diffSeq = 0
  private readonly player: Player
  private destroyed = false

  constructor(
    session: NegotiationSession,
    private readonly request: ReplayParams,
  ) {
    this.session = session
    const parties = request.parties.filter((p) => session.parties.has(p))
    this.filter = { termId: request.term, parties, moves: request.moves ?? false }
    this.history = new VersionHistory(
      {
        versionPage: (after, limit) => session.versionPage(after, limit),
        versionDensity: (buckets) => session.versionDensity(buckets),
        live: () => session.control.liveVersions,
      },
      pageSizeFrom(location.search),
      DENSITY_BUCKETS,
    )
    this.player = new Player({
      next: (n) => this.nextFrom(n, 1, () => false),
      hasNext: (n) => stepKnown(this.timelineNs, this.history.gaps, n, 1) !== null,
      first: () => this.nextFrom(0, 1, () => false),
      current: () => this.v,
      prepare: (n) => this.fetchSheet(n),
      show: (n) => this.go(n),
      changed: (on) => (this.playing = on),
    })
  }

  /**
   * Learns how far the history goes, loads the page holding the version the
   * request asked for (not the pages before it), then shows it. Resolves
   * with a note when it could not.
   */
  async start(): Promise<string | null> {
    this.versionsError = null
    const asked = this.request.v
    let resolved: { n: number; note: string | null }
    try {
      if (!this.history.ready) await this.history.start()
      if (this.destroyed) return null
      if (asked !== null && asked > 0 && asked <= this.history.latest) await this.history.ensureAround(asked)
      resolved = resolveVersion(asked, this.history.latest, (n) => this.history.byN.has(n))
      if (resolved.n > 0) await this.history.ensureAround(resolved.n)
    } catch (err) {
      if (!this.destroyed) this.versionsError = explain(err, 'history')
      return null
    }
    if (this.destroyed) return null
    this.started = true
    const { n, note } = resolved
    // A link to a version that only moved cards shows the moves, or it would not be in the list.
    const shown = this.history.byN.get(n)
    if (shown && isMove(shown) && !this.filter.moves) this.filter = { ...this.filter, moves: true }
    if (this.request.from !== null && this.request.from < n) this.pinnedFrom = this.request.from
    this.go(n)
    return note
  }

  // ── moving through versions ──────────────────────────────────────────

  /** Shows version n, chosen by hand (a click in the list, a step). */
  select(n: number): void {
    this.moveSeq++
    this.seeking = null
    if (this.seekTimer !== null) clearTimeout(this.seekTimer)
    this.seekTimer = null
    this.go(n)
    this.player.moved()
  }

  /** The next (1) or previous (-1) version the filters keep; a range not loaded in between is loaded first. */
  step(dir: 1 | -1): void {
    const known = stepKnown(this.timelineNs, this.history.gaps, this.v, dir)
    if (known !== undefined) {
      if (known !== null) this.select(known)
      return
    }
    const seq = ++this.moveSeq
    void this.nextFrom(this.v, dir, () => seq !== this.moveSeq).then((n) => {
      if (n !== null && seq === this.moveSeq) this.select(n)
    })
  }

  /** The first (Home) or the last (End) version the filters keep. */
  edge(which: 'first' | 'last'): void {
    const from = which === 'first' ? 0 : this.latest + 1
    const dir = which === 'first' ? 1 : -1
    const known = stepKnown(this.timelineNs, this.history.gaps, from, dir)
    if (known !== undefined) {
      if (known !== null) this.select(known)
      return
    }
    const seq = ++this.moveSeq
    this.seeking = which === 'first' ? 1 : this.latest
    void this.nextFrom(from, dir, () => seq !== this.moveSeq).then((n) => {
      if (seq !== this.moveSeq) return
      this.seeking = null
      if (n !== null) this.select(n)
    })
  }

  /**
   * Goes to version n or, when the filters leave it out, the nearest kept
   * version before it (else after it), loading its page first when it is not
   * loaded: the scrubber and the density strip ask for any n of the whole
   * history. `exact` shows n itself whatever the filters (the redline's "To").
   * While the scrubber is dragged, pages are fetched only once it rests.
   */
  seek(n: number, opts: { exact?: boolean; settle?: boolean } = {}): void {
    n = Math.max(0, Math.min(Math.round(n), this.latest))
    const seq = ++this.moveSeq
    if (this.seekTimer !== null) clearTimeout(this.seekTimer)
    this.seekTimer = null
    const keeps = (x: Version) => opts.exact || matchesFilter(x, this.filter)
    const here = this.history.byN.get(n)
    if (n === 0 || (here && keeps(here))) {
      this.seeking = null
      this.go(n)
      this.player.moved()
      return
    }
    if (opts.exact && this.history.loaded(n)) return // no such version
    const back = this.history.loaded(n) ? stepKnown(this.timelineNs, this.history.gaps, n, -1) : undefined
    if (back !== undefined && back !== null) {
      this.seeking = null
      this.go(back)
      this.player.moved()
      return
    }
    this.seeking = n
    const find = async () => {
      await this.history.ensureAround(n)
      if (seq !== this.moveSeq) return
      const at = this.history.byN.get(n)
      if (at && keeps(at)) return n
      if (opts.exact) return null
      const cancelled = () => seq !== this.moveSeq
      return (await this.nextFrom(n, -1, cancelled)) ?? (await this.nextFrom(n, 1, cancelled))
    }
    const run = () => {
      this.seekTimer = null
      find().then(
        (target) => {
          if (seq !== this.moveSeq) return
          this.seeking = null
          if (target !== null && target !== undefined) {
            this.go(target)
            this.player.moved()
          }
        },
        () => {
          if (seq === this.moveSeq) this.seeking = null
        },
      )
    }
    if (opts.settle) this.seekTimer = setTimeout(run, SETTLE_MS)
    else run()
  }

  get canStep(): { back: boolean; forward: boolean } {
    return {
      back: stepKnown(this.timelineNs, this.history.gaps, this.v, -1) !== null,
      forward: stepKnown(this.timelineNs, this.history.gaps, this.v, 1) !== null,
    }
  }

  togglePlay(): void {
    this.player.toggle()
  }

  pause(): void {
    this.player.pause()
  }

  setSpeed(speed: Speed): void {
    this.speed = speed
    this.player.setSpeed(speed)
  }

  /** Chooses the redline's left side; null goes back to "the version before". */
  setFrom(n: number | null): void {
    this.pinnedFrom = n !== null && n < this.v ? n : null
    this.loadDiff()
    this.writeUrl()
  }

  setFilter(filter: ReplayFilter): void {
    this.filter = filter
    this.writeUrl()
    // The redline's delegation filter counts the versions in its window: have them loaded.
    if (filter.parties.length > 0) this.loadWindow()
  }

  /** "Show moves": versions that only moved cards, in the list and the timeline or not. */
  setMoves(on: boolean): void {
    this.setFilter({ ...this.filter, moves: on })
  }

  toggleTerm(termId: string): void {
    this.setFilter({ ...this.filter, termId: this.filter.termId === termId ? null : termId })
  }

  toggleParty(party: string): void {
    const has = this.filter.parties.includes(party)
    this.setFilter({
      ...this.filter,
      parties: has ? this.filter.parties.filter((p) => p !== party) : [...this.filter.parties, party],
    })
  }

  clearFilter(): void {
    this.setFilter({ ...NO_FILTER, moves: this.filter.moves })
  }

  retry(): void {
    if (!this.ready) void this.start()
    else {
      if (this.sheetError) this.loadSheet(this.v)
      if (this.diffError) this.loadDiff()
    }
  }

  /** Puts a term back to its text at the selected version (negotiators; the server decides). */
  restore(termId: string): Promise<CommandResult> {
    return this.session.restore(termId, this.v)
  }

  // ── the link to what is on screen ────────────────────────────────────

  get params(): ReplayParams {
    return {
      v: this.v,
      from: this.pinnedFrom !== null && this.pinnedFrom < this.v ? this.pinnedFrom : null,
      term: this.filter.termId,
      parties: [...this.filter.parties],
      moves: this.filter.moves,
    }
  }

  /** A link to this version for anyone who already has access: it never carries this browser's token. */
  get shareUrl(): string {
    return `${location.origin}${location.pathname}${replaySearch('', this.params)}`
  }

  destroy(): void {
    this.destroyed = true
    this.player.destroy()
    this.history.destroy()
    this.moveSeq++
    if (this.loadTimer !== null) clearTimeout(this.loadTimer)
    if (this.seekTimer !== null) clearTimeout(this.seekTimer)
    this.sheetSeq++
    this.diffSeq++
    const url = location.pathname + replaySearch(location.search, null) + location.hash
    history.replaceState(history.state, '', url)
  }

  // ── fetching ─────────────────────────────────────────────────────────

  private go(n: number): void {
    if (this.destroyed) return
    this.v = n
    if (this.pinnedFrom !== null && this.pinnedFrom >= n) this.pinnedFrom = null
    this.writeUrl()
    // Dragging the scrubber passes many versions a second: what is cached shows at once,
    // what is not is fetched once the thumb rests (a few frames), not for every version passed.
    if (this.loadTimer !== null) clearTimeout(this.loadTimer)
    this.loadTimer = null
    const sheetKnown = this.sheets.has(n)
    const diffKnown = this.diffs.has(`${this.from}:${n}`)
    if (sheetKnown) this.loadSheet(n)
    else {
      this.sheetSeq++
      this.sheetError = null
      this.sheetPending = n
    }
    if (diffKnown) this.loadDiff()
    else {
      this.diffSeq++
      this.diffError = null
      this.diffPending = true
    }
    if (sheetKnown && diffKnown) return
    this.loadTimer = setTimeout(() => {
      this.loadTimer = null
      if (!sheetKnown) this.loadSheet(n)
      if (!diffKnown) this.loadDiff()
    }, SETTLE_MS)
  }

  /** The nearest kept version after (1) or before (-1) n, loading pages as far as it must. */
  private nextFrom(n: number, dir: 1 | -1, cancelled: () => boolean): Promise<number | null> {
    return this.history.find(n, dir, (x) => matchesFilter(x, this.filter), cancelled)
  }

  /** Loads the versions of the redline's window when a delegation filter needs them (bounded in VersionHistory). */
  private loadWindow(): void {
    if (this.filter.parties.length === 0 || !this.history.ready) return
    this.history.ensureRange(this.from + 1, this.v).catch(() => {})
  }

  private writeUrl(): void {
    if (this.destroyed) return
    const url = location.pathname + replaySearch(location.search, this.params) + location.hash
    if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, '', url)
  }

  private fetchSheet(n: number): Promise<Sheet> {
    const known = this.sheets.get(n)
    if (known) return Promise.resolve(known)
    let p = this.sheetRequests.get(n)
    if (!p) {
      p = this.session.sheetAt(n)
      this.sheetRequests.set(n, p)
      p.then(
        (s) => remember(this.sheets, n, s),
        () => {},
      ).finally(() => this.sheetRequests.delete(n))
    }
    return p
  }

  private loadSheet(n: number): void {
    const seq = ++this.sheetSeq
    this.sheetError = null
    const known = this.sheets.get(n)
    if (known) {
      this.sheet = known
      this.sheetPending = null
      this.prefetchNext(n)
      return
    }
    this.sheetPending = n
    this.fetchSheet(n).then(
      (s) => {
        if (seq !== this.sheetSeq) return
        this.sheet = s
        this.sheetPending = null
        this.prefetchNext(n)
      },
      (err) => {
        if (seq !== this.sheetSeq) return
        this.sheetPending = null
        this.sheetError = explain(err, { board: n })
      },
    )
  }

  /** Stepping forward is what people do most: have the next sheet ready. */
  private prefetchNext(n: number): void {
    const next = stepFrom(this.timelineNs, n, 1)
    if (next !== null) this.fetchSheet(next).catch(() => {})
  }

  private loadDiff(): void {
    const from = this.from
    const to = this.v
    this.loadWindow()
    const key = `${from}:${to}`
    const seq = ++this.diffSeq
    this.diffError = null
    const known = this.diffs.get(key)
    if (known) {
      this.diff = { from, to, terms: known }
      this.diffPending = false
      return
    }
    this.diffPending = true
    this.session.diff(from, to).then(
      (terms) => {
        remember(this.diffs, key, terms)
        if (seq !== this.diffSeq) return
        this.diff = { from, to, terms }
        this.diffPending = false
      },
      (err) => {
        if (seq !== this.diffSeq) return
        this.diffPending = false
        this.diffError = explain(err, 'redline')
      },
    )
  }
}
