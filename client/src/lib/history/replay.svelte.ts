/**
 * One replay session: which version is on screen, the redline's other side,
 * the filters and playback, and the sheets and redlines fetched for them
 * (cached: a past version never changes). Reads the history API through the
 * negotiation session; never touches the live documents. The URL follows the
 * state (`?v=…&from=…`), so the address bar is always a link to what is shown.
 */
import type { NegotiationSession } from '../connection/negotiationSession.svelte'
import type { CommandResult } from '../connection/controlChannel.svelte'
import type { Sheet, TermDiff, Version } from '../../../../shared/schemas'
import { ApiError } from '../api/http'
import { NO_FILTER, Player, fromFor, matchesFilter, resolveVersion, stepFrom, type ReplayFilter, type Speed } from './replayModel'
import { replaySearch, type ReplayParams } from './replayUrl'
import { mergeVersions } from './versions'

/** Past sheets and redlines kept in memory; scrubbing a long history must not keep them all. */
const CACHE_LIMIT = 200
/** how long the scrubber must rest on a version before it is fetched */
const SETTLE_MS = 40

function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  cache.delete(key)
  cache.set(key, value)
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as K)
}

const explain = (err: unknown, what: string): string =>
  err instanceof ApiError
    ? err.network
      ? `The ${what} could not be loaded: the server is not reachable.`
      : err.message
    : `The ${what} could not be loaded.`

export class Replay {
  private readonly session: NegotiationSession

  /** the version on the board and on the redline's right */
  v = $state(0)
  /** a chosen left side of the redline; null follows the selected version (the one before it) */
  pinnedFrom = $state<number | null>(null)
  filter = $state.raw<ReplayFilter>(NO_FILTER)
  showUnchanged = $state(false)
  playing = $state(false)
  speed = $state<Speed>(1)

  private loaded = $state.raw<Version[] | null>(null)
  versionsError = $state<string | null>(null)

  /** the sheet on the board: the selected version's, or the previous one while that loads */
  sheet = $state.raw<Sheet | null>(null)
  /** the version whose sheet is being fetched */
  sheetPending = $state<number | null>(null)
  sheetError = $state<string | null>(null)

  diff = $state.raw<{ from: number; to: number; terms: TermDiff[] } | null>(null)
  diffPending = $state(false)
  diffError = $state<string | null>(null)

  /** every version, oldest first: those loaded plus those that arrived live since */
  readonly versions: Version[] = $derived.by(() => mergeVersions(this.loaded ?? [], this.session.control.liveVersions))
  /** the versions the filters keep: the timeline, the list and playback walk these */
  readonly timeline: Version[] = $derived(this.versions.filter((v) => matchesFilter(v, this.filter)))
  readonly timelineNs: number[] = $derived(this.timeline.map((v) => v.n))
  readonly from: number = $derived(fromFor(this.v, this.pinnedFrom))
  readonly version: Version | undefined = $derived(this.versions.find((x) => x.n === this.v))
  readonly latest: number = $derived(this.versions.length ? this.versions[this.versions.length - 1]!.n : 0)
  readonly ready: boolean = $derived(this.loaded !== null)

  private readonly sheets = new Map<number, Sheet>()
  private readonly sheetRequests = new Map<number, Promise<Sheet>>()
  private readonly diffs = new Map<string, TermDiff[]>()
  private loadTimer: ReturnType<typeof setTimeout> | null = null
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
    this.filter = { termId: request.term, parties }
    this.player = new Player({
      versions: () => this.timelineNs,
      current: () => this.v,
      prepare: (n) => this.fetchSheet(n),
      show: (n) => this.go(n),
      changed: (on) => (this.playing = on),
    })
  }

  /** Loads the version list, then shows the version the request asked for. Resolves with a note when it could not. */
  async start(): Promise<string | null> {
    this.versionsError = null
    let list: Version[]
    try {
      list = await this.session.versions()
    } catch (err) {
      if (!this.destroyed) this.versionsError = explain(err, 'history')
      return null
    }
    if (this.destroyed) return null
    this.loaded = list
    const { n, note } = resolveVersion(
      this.request.v,
      this.versions.map((v) => v.n),
    )
    if (this.request.from !== null && this.request.from < n) this.pinnedFrom = this.request.from
    this.go(n)
    return note
  }

  // ── moving through versions ──────────────────────────────────────────

  /** Shows version n, chosen by hand (a click, the scrubber, a step). */
  select(n: number): void {
    this.go(n)
    this.player.moved()
  }

  step(dir: 1 | -1): void {
    const n = stepFrom(this.timelineNs, this.v, dir)
    if (n !== null) this.select(n)
  }

  get canStep(): { back: boolean; forward: boolean } {
    return {
      back: stepFrom(this.timelineNs, this.v, -1) !== null,
      forward: stepFrom(this.timelineNs, this.v, 1) !== null,
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
    this.setFilter(NO_FILTER)
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
    }
  }

  /** A link to this version for anyone who already has access: it never carries this browser's token. */
  get shareUrl(): string {
    return `${location.origin}${location.pathname}${replaySearch('', this.params)}`
  }

  destroy(): void {
    this.destroyed = true
    this.player.destroy()
    if (this.loadTimer !== null) clearTimeout(this.loadTimer)
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
        this.sheetError = explain(err, `board at v${n}`)
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
