/**
 * The replay view's pure logic: which versions a filter keeps, stepping and
 * playback over them, what a redline shows and where cards go on the
 * replayed board. (Paging a long history and the density strip are in
 * versionPages.ts.)
 * No Svelte, no fetch: the reactive class (replay.svelte.ts) and the tests
 * both use these.
 */
import type { Seg, SheetTerm, TermDiff, Version, VersionKind } from '../../../../shared/schemas'
import { m } from '../../paraglide/messages'
import { isMove } from './versions'

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
  'confirm',
  'package-accept',
  'initial',
  'conclude',
])

export const isConcession = (kind: VersionKind): boolean => CONCESSION_KINDS.has(kind)

export interface ReplayFilter {
  /** only versions that touched this term (checkpoints concern every term and always pass) */
  termId: string | null
  /** only versions by these delegations; empty means every delegation and the opening draft */
  parties: readonly string[]
  /** also versions that only moved cards ("Show moves"); off by default */
  moves: boolean
}

export const NO_FILTER: ReplayFilter = { termId: null, parties: [], moves: false }

/** A term or delegation filter is on (hiding moves is the default, not a filter). */
export const isFiltered = (f: ReplayFilter): boolean => f.termId !== null || f.parties.length > 0

export function matchesFilter(v: Version, f: ReplayFilter): boolean {
  if (!f.moves && isMove(v)) return false
  if (f.parties.length > 0 && (v.party === null || !f.parties.includes(v.party))) return false
  if (f.termId !== null && v.kind !== 'checkpoint' && !v.termIds.includes(f.termId)) return false
  return true
}

/**
 * The version to show for a requested one: itself if it exists, else the
 * latest (with a note why). 0 is the sheet before the first version.
 */
export function resolveVersion(
  requested: number | null,
  latest: number,
  exists: (n: number) => boolean,
): { n: number; note: string | null } {
  if (requested === null) return { n: latest, note: null }
  if (requested === 0 || exists(requested)) return { n: requested, note: null }
  return {
    n: latest,
    note:
      latest > 0
        ? m.history_no_such_version_latest({ requested, latest })
        : m.history_no_such_version_yet({ requested }),
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
  /** the version after n that playback shows next, loading what it must to tell; null at the end */
  next(n: number): Promise<number | null>
  /** whether anything may follow n (a version loaded, or a range not loaded yet) */
  hasNext(n: number): boolean
  /** the first version, for playing again from the end */
  first(): Promise<number | null>
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
    if (this.playing) return
    this.setPlaying(true)
    if (this.host.hasNext(this.host.current())) return this.schedule()
    // Playing from the end starts over.
    const gen = this.generation
    this.host.first().then(
      (n) => {
        if (gen !== this.generation || !this.playing) return
        if (n === null) return this.pause()
        this.host.show(n)
        if (this.host.hasNext(n)) this.schedule()
        else this.pause()
      },
      () => gen === this.generation && this.pause(),
    )
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
    if (!this.host.hasNext(this.host.current())) this.pause()
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
    let next: number | null
    try {
      // The next version may lie in a page not loaded yet: a step waits for it, it never skips one.
      next = await this.host.next(this.host.current())
      if (next === null) {
        if (gen === this.generation) this.pause()
        return
      }
      if (gen !== this.generation) return
      await this.host.prepare(next)
    } catch {
      if (gen === this.generation) this.pause()
      return
    }
    if (gen !== this.generation || !this.playing) return
    this.host.show(next)
    if (!this.host.hasNext(next)) this.pause()
    else this.schedule()
  }
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

/**
 * The text a term stands at on the `to` side without its pending suggestions (as the board reads
 * a term, and as `term:restore` writes it back): suggested insertions left out, text suggested for
 * removal kept.
 */
export const plainSideText = (segs: readonly Seg[]): string =>
  sideText(
    segs.filter((s) => s.suggestion?.kind !== 'ins'),
    'to',
  )

/** Whom a run is credited to: the suggester of a pending suggestion, else the delegation that wrote or removed it. */
export const segParty = (seg: Seg): string | undefined => seg.suggestion?.party ?? seg.party

/** A run the redline marks: a change, or a pending suggestion. */
export const isMarked = (seg: Seg): boolean => seg.op !== 'eq' || seg.suggestion !== undefined

/** Delegations (null: not attributed to one) that inserted, deleted or suggested something in these redlines. */
export function redlineParties(diffs: readonly TermDiff[]): Array<string | null> {
  const seen = new Set<string | null>()
  for (const d of diffs) for (const seg of [...d.title, ...d.body]) if (isMarked(seg)) seen.add(segParty(seg) ?? null)
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
      const wrote = [...d.title, ...d.body].some((s) => {
        const party = segParty(s)
        return isMarked(s) && party !== undefined && view.parties.includes(party)
      })
      return wrote || view.touched.has(d.id)
    }
    return view.showUnchanged || hasChange(d)
  })
}

/** A changed run is drawn in its delegation's colour unless a delegation filter leaves that delegation out. */
export const segEmphasised = (seg: Seg, parties: readonly string[]): boolean => {
  const party = segParty(seg)
  return parties.length === 0 || (party !== undefined && parties.includes(party))
}

// ── the replayed board ──────────────────────────────────────────────────

export interface Placed {
  x: number
  y: number
}

/**
 * Where each card of a past sheet goes on the replayed board: where it
 * stood then (the `Sheet` carries each term's x and y). A term without a
 * usable position (a sheet from a server before positions were kept) goes
 * into a grid under everything else rather than on top of another card.
 */
export function placeTerms(
  terms: readonly Pick<SheetTerm, 'id' | 'x' | 'y'>[],
  cell = { w: 330, h: 230 },
  columns = 4,
): Map<string, Placed> {
  const out = new Map<string, Placed>()
  const placed = (t: Pick<SheetTerm, 'x' | 'y'>) => Number.isFinite(t.x) && Number.isFinite(t.y)
  let bottom = -Infinity
  let left = Infinity
  for (const t of terms) {
    if (!placed(t)) continue
    out.set(t.id, { x: t.x, y: t.y })
    bottom = Math.max(bottom, t.y)
    left = Math.min(left, t.x)
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
