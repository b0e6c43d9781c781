/**
 * The replay view's pure logic: which versions a filter keeps, stepping and
 * playback over them, the marks drawn on the timeline, what a redline shows
 * and where cards go on the replayed board.
 * No Svelte, no fetch: the reactive class (replay.svelte.ts) and the tests
 * both use these.
 */
import type { Seg, SheetTerm, TermDiff, Version, VersionKind } from '../../../../shared/schemas'

// ── versions and filters ────────────────────────────────────────────────

/** Status moves and named checkpoints: what the timeline marks as events, not just edits. */
export const CONCESSION_KINDS: ReadonlySet<VersionKind> = new Set<VersionKind>([
  'accept',
  'agree',
  'reject',
  'withdraw',
  'reopen',
  'restore',
  'checkpoint',
])

export const isConcession = (kind: VersionKind): boolean => CONCESSION_KINDS.has(kind)

export interface ReplayFilter {
  /** only versions that touched this term (checkpoints concern every term and always pass) */
  termId: string | null
  /** only versions by these delegations; empty means every delegation and the opening draft */
  parties: readonly string[]
}

export const NO_FILTER: ReplayFilter = { termId: null, parties: [] }

export const isFiltered = (f: ReplayFilter): boolean => f.termId !== null || f.parties.length > 0

export function matchesFilter(v: Version, f: ReplayFilter): boolean {
  if (f.parties.length > 0 && (v.party === null || !f.parties.includes(v.party))) return false
  if (f.termId !== null && v.kind !== 'checkpoint' && !v.termIds.includes(f.termId)) return false
  return true
}

/**
 * The version to show for a requested one: itself if it exists, else the
 * latest (with a note why). 0 is the sheet before the first version.
 */
export function resolveVersion(requested: number | null, ns: readonly number[]): { n: number; note: string | null } {
  const latest = ns.length ? ns[ns.length - 1]! : 0
  if (requested === null) return { n: latest, note: null }
  if (requested === 0 || ns.includes(requested)) return { n: requested, note: null }
  return {
    n: latest,
    note: ns.length
      ? `There is no version ${requested}; showing the latest, v${latest}.`
      : `There is no version ${requested} yet.`,
  }
}

/** The next (dir 1) or previous (dir -1) version number of `ns` (ascending) after or before `n`. */
export function stepFrom(ns: readonly number[], n: number, dir: 1 | -1): number | null {
  if (dir === 1) {
    for (const x of ns) if (x > n) return x
    return null
  }
  for (let i = ns.length - 1; i >= 0; i--) if (ns[i]! < n) return ns[i]!
  return null
}

/** Index in `ns` (ascending) of the last version at or before `n`; -1 when none is. */
export function positionOf(ns: readonly number[], n: number): number {
  let lo = 0
  let hi = ns.length - 1
  let at = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (ns[mid]! <= n) {
      at = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return at
}

/** The redline's left side: a chosen earlier version, else the one just before the selected (what it changed). */
export function fromFor(v: number, pinned: number | null): number {
  if (pinned !== null && pinned >= 0 && pinned < v) return pinned
  return Math.max(0, v - 1)
}

/** Terms touched in (from, to] by versions of the given delegations (any delegation when none is given). */
export function touchedTerms(versions: readonly Version[], from: number, to: number, parties: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const v of versions) {
    if (v.n <= from || v.n > to) continue
    if (parties.length > 0 && (v.party === null || !parties.includes(v.party))) continue
    for (const id of v.termIds) out.add(id)
  }
  return out
}

// ── playback ────────────────────────────────────────────────────────────

export const SPEEDS = [0.5, 1, 2, 4] as const
export type Speed = (typeof SPEEDS)[number]
/** one version per this many ms at 1× */
export const BASE_STEP_MS = 1200

export const stepDelay = (speed: number): number => Math.round(BASE_STEP_MS / (speed > 0 ? speed : 1))

export interface PlayerHost {
  /** the version numbers playback walks through (the filtered timeline), ascending */
  versions(): readonly number[]
  /** the version on screen */
  current(): number
  /** resolves once version n can be shown without a wait (its sheet is fetched) */
  prepare(n: number): Promise<unknown>
  /** puts version n on screen */
  show(n: number): void
  /** playing started or stopped */
  changed(playing: boolean): void
}

export interface Timers {
  set(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
}

/**
 * Plays the timeline: one version per step at the chosen speed. A step waits
 * for its version to be fetched (a slow network slows the replay down, it
 * never skips a version), and playing stops at the last version or when a
 * version cannot be fetched.
 */
export class Player {
  playing = false
  speed: number = 1
  private timer: unknown = null
  /** bumped on every pause/reschedule, so a step that was waiting on the network drops out */
  private generation = 0

  constructor(
    private readonly host: PlayerHost,
    private readonly timers: Timers = realTimers,
  ) {}

  play(): void {
    const ns = this.host.versions()
    if (ns.length === 0 || this.playing) return
    // Playing from the end starts over.
    if (stepFrom(ns, this.host.current(), 1) === null) this.host.show(ns[0]!)
    this.setPlaying(true)
    this.schedule()
  }

  pause(): void {
    this.cancel()
    this.setPlaying(false)
  }

  toggle(): void {
    if (this.playing) this.pause()
    else this.play()
  }

  setSpeed(speed: number): void {
    this.speed = speed
    if (this.playing) this.schedule()
  }

  /** The person moved by hand while playing: the next step counts from now. */
  moved(): void {
    if (!this.playing) return
    if (stepFrom(this.host.versions(), this.host.current(), 1) === null) this.pause()
    else this.schedule()
  }

  destroy(): void {
    this.cancel()
    this.playing = false
  }

  private setPlaying(on: boolean): void {
    if (this.playing === on) return
    this.playing = on
    this.host.changed(on)
  }

  private cancel(): void {
    this.generation++
    if (this.timer !== null) this.timers.clear(this.timer)
    this.timer = null
  }

  private schedule(): void {
    this.cancel()
    const gen = this.generation
    this.timer = this.timers.set(() => {
      this.timer = null
      void this.advance(gen)
    }, stepDelay(this.speed))
  }

  private async advance(gen: number): Promise<void> {
    const next = stepFrom(this.host.versions(), this.host.current(), 1)
    if (next === null) return this.pause()
    try {
      await this.host.prepare(next)
    } catch {
      if (gen === this.generation) this.pause()
      return
    }
    if (gen !== this.generation || !this.playing) return
    this.host.show(next)
    if (stepFrom(this.host.versions(), next, 1) === null) this.pause()
    else this.schedule()
  }
}

// ── the timeline track ──────────────────────────────────────────────────

export interface TrackMark {
  /** index of the version in the filtered timeline (the scrubber's value) */
  index: number
  n: number
  /** 0…1 along the track */
  at: number
  party: string | null
  kind: VersionKind
  /** a concession event (accept, agree, reject, …) falls on this mark */
  event: boolean
}

/** Event kinds, most telling first: when marks are merged, the merged mark shows the first present. */
const EVENT_RANK: VersionKind[] = ['agree', 'reject', 'withdraw', 'reopen', 'restore', 'accept', 'checkpoint']

/**
 * One mark per version; more versions than `max` are merged into `max` runs
 * (a 100k-version history still draws a few hundred marks), each run showing
 * its most telling event, else its last version.
 */
export function trackMarks(versions: readonly Version[], max = 240): TrackMark[] {
  const count = versions.length
  if (count === 0) return []
  const at = (i: number) => (count === 1 ? 0 : i / (count - 1))
  if (count <= max) {
    return versions.map((v, i) => ({ index: i, n: v.n, at: at(i), party: v.party, kind: v.kind, event: isConcession(v.kind) }))
  }
  const out: TrackMark[] = []
  for (let b = 0; b < max; b++) {
    const start = Math.floor((b * count) / max)
    const end = Math.floor(((b + 1) * count) / max)
    if (end <= start) continue
    let pick = end - 1
    let best = EVENT_RANK.length
    for (let i = start; i < end; i++) {
      const r = EVENT_RANK.indexOf(versions[i]!.kind)
      if (r !== -1 && r < best) {
        best = r
        pick = i
      }
    }
    const v = versions[pick]!
    out.push({ index: pick, n: v.n, at: at(pick), party: v.party, kind: v.kind, event: isConcession(v.kind) })
  }
  return out
}

// ── redlines ────────────────────────────────────────────────────────────

export const changedText = (d: TermDiff): boolean => d.change !== 'unchanged'
export const changedState = (d: TermDiff): boolean => d.state.from !== d.state.to
export const hasChange = (d: TermDiff): boolean => changedText(d) || changedState(d)

/** The text on one side of a redline: `from` keeps what was deleted, `to` what was inserted. */
export function sideText(segs: readonly Seg[], side: 'from' | 'to'): string {
  const skip = side === 'from' ? 'ins' : 'del'
  let s = ''
  for (const seg of segs) if (seg.op !== skip) s += seg.text
  return s
}

/** Delegations (null: not attributed to one) that inserted or deleted something in these redlines. */
export function redlineParties(diffs: readonly TermDiff[]): Array<string | null> {
  const seen = new Set<string | null>()
  for (const d of diffs) for (const seg of [...d.title, ...d.body]) if (seg.op !== 'eq') seen.add(seg.party ?? null)
  return [...seen]
}

export interface RedlineView {
  termId: string | null
  parties: readonly string[]
  /** also list terms that did not change */
  showUnchanged: boolean
  /** terms touched in the window by the filtered delegations (state moves carry no party in a TermDiff) */
  touched: ReadonlySet<string>
}

/**
 * The redlines to list. A term filter shows that term whatever happened to
 * it; a delegation filter keeps terms that delegation wrote in, removed from
 * or moved in the window.
 */
export function visibleDiffs(diffs: readonly TermDiff[], view: RedlineView): TermDiff[] {
  if (view.termId !== null) return diffs.filter((d) => d.id === view.termId)
  return diffs.filter((d) => {
    if (view.parties.length > 0) {
      const wrote = [...d.title, ...d.body].some((s) => s.op !== 'eq' && s.party !== undefined && view.parties.includes(s.party))
      return wrote || view.touched.has(d.id)
    }
    return view.showUnchanged || hasChange(d)
  })
}

/** A changed run is drawn in its delegation's colour unless a delegation filter leaves that delegation out. */
export const segEmphasised = (seg: Seg, parties: readonly string[]): boolean =>
  parties.length === 0 || (seg.party !== undefined && parties.includes(seg.party))

// ── the replayed board ──────────────────────────────────────────────────

export interface Placed {
  x: number
  y: number
}

/**
 * Where each term of a past sheet goes on the replayed board. A `Sheet`
 * carries no positions, so a term sits where it is on the live board today;
 * one that is not there any more goes into a grid under everything else.
 */
export function placeTerms(
  terms: readonly Pick<SheetTerm, 'id'>[],
  live: ReadonlyMap<string, Placed>,
  cell = { w: 330, h: 230 },
  columns = 4,
): Map<string, Placed> {
  const out = new Map<string, Placed>()
  let bottom = -Infinity
  let left = Infinity
  for (const t of terms) {
    const p = live.get(t.id)
    if (!p) continue
    out.set(t.id, p)
    bottom = Math.max(bottom, p.y)
    left = Math.min(left, p.x)
  }
  const y0 = bottom === -Infinity ? 40 : bottom + cell.h + 40
  const x0 = left === Infinity ? 40 : left
  let i = 0
  for (const t of terms) {
    if (out.has(t.id)) continue
    out.set(t.id, { x: x0 + (i % columns) * cell.w, y: y0 + Math.floor(i / columns) * cell.h })
    i++
  }
  return out
}
