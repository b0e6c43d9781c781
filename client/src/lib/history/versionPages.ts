/**
 * A long history in pages (issue 12). A month of negotiation is ~50k
 * versions; `GET …/versions?after=N&limit=K` answers a page at a time, and
 * `…/versions/density` the whole history's shape. This module is the pure
 * part: which ranges of version numbers are loaded (spans), which are not
 * (gaps), which page to ask for next, stepping over what is loaded without
 * guessing across a gap, the rows of a list with its gaps, and the density
 * strip's bars. No Svelte, no fetch: versionHistory.svelte.ts and the unit
 * tests both use it.
 *
 * Ranges are of version numbers and inclusive. Version numbers count from 1
 * with none skipped (CONTRACT.md), but nothing here relies on that: a span
 * is what a page answer says it holds, so a hole in the numbering is simply
 * covered, never fetched again and again.
 */
import { groupEditSessions, type SessionItem } from '../../../../shared/editSessions'
import type { Version, VersionDensityAnswer, VersionKind, VersionList } from '../../../../shared/schemas'

/** Version numbers lo…hi, both included. */
export interface Span {
  lo: number
  hi: number
}

/** `spans` (sorted, disjoint) with `add` joined in; overlapping and touching spans merge. */
export function addSpan(spans: readonly Span[], add: Span): Span[] {
  if (add.hi < add.lo) return [...spans]
  const out: Span[] = []
  let cur = { ...add }
  let placed = false
  for (const s of spans) {
    if (s.hi + 1 < cur.lo) out.push(s)
    else if (cur.hi + 1 < s.lo) {
      if (!placed) out.push(cur)
      placed = true
      out.push(s)
    } else cur = { lo: Math.min(s.lo, cur.lo), hi: Math.max(s.hi, cur.hi) }
  }
  if (!placed) out.push(cur)
  return out
}

/** Single version numbers joined into spans (the live versions, which arrive one by one). */
export function withPoints(spans: readonly Span[], ns: Iterable<number>): Span[] {
  let out = [...spans]
  for (const n of ns) if (!inSpans(out, n)) out = addSpan(out, { lo: n, hi: n })
  return out
}

export function inSpans(spans: readonly Span[], n: number): boolean {
  let lo = 0
  let hi = spans.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const s = spans[mid]!
    if (n < s.lo) hi = mid - 1
    else if (n > s.hi) lo = mid + 1
    else return true
  }
  return false
}

/** The parts of 1…upTo that no span covers, ascending. */
export function gapsIn(spans: readonly Span[], upTo: number): Span[] {
  const out: Span[] = []
  let next = 1
  for (const s of spans) {
    if (next > upTo) break
    if (s.lo > next) out.push({ lo: next, hi: Math.min(s.lo - 1, upTo) })
    next = Math.max(next, s.hi + 1)
  }
  if (next <= upTo) out.push({ lo: next, hi: upTo })
  return out
}

export const gapAt = (gaps: readonly Span[], n: number): Span | undefined => gaps.find((g) => g.lo <= n && n <= g.hi)

// ── which page to ask for ───────────────────────────────────────────────

/** A `GET …/versions` query: versions with n > after, at most limit of them. */
export interface PageRequest {
  after: number
  limit: number
}

/** Up to `size` versions inside `gap` with `n` about in the middle: a link to an old version loads its page, not all before it. */
export function pageAround(n: number, gap: Span, size: number): PageRequest {
  const lowest = gap.lo - 1
  const highest = Math.max(lowest, gap.hi - size)
  const after = Math.min(Math.max(n - 1 - Math.floor(size / 2), lowest), highest)
  return { after, limit: Math.max(1, Math.min(size, gap.hi - after)) }
}

/** The first `size` versions of a gap: scrolling on past the versions before it. */
export function pageForward(gap: Span, size: number): PageRequest {
  return { after: gap.lo - 1, limit: Math.max(1, Math.min(size, gap.hi - gap.lo + 1)) }
}

/** The last `size` versions of a gap: scrolling back from the versions after it. */
export function pageBackward(gap: Span, size: number): PageRequest {
  const after = Math.max(gap.lo - 1, gap.hi - size)
  return { after, limit: Math.max(1, gap.hi - after) }
}

/** What a request may bring in, for planning while it is under way. */
export const requestSpan = (r: PageRequest): Span => ({ lo: r.after + 1, hi: r.after + r.limit })

/**
 * What a page answer proves loaded: every version in (after, next] when
 * there is a next page; at the end, everything after `after` — up to the
 * latest version believed to exist, since the server says there is none
 * past its last one.
 */
export function answeredSpan(r: PageRequest, answer: VersionList, latestKnown: number): Span {
  if (answer.next !== null) return { lo: r.after + 1, hi: Math.max(r.after + 1, answer.next) }
  const last = answer.versions.length ? answer.versions[answer.versions.length - 1]!.n : r.after
  return { lo: r.after + 1, hi: Math.max(r.after + 1, last, latestKnown) }
}

// ── moving over a partly loaded timeline ───────────────────────────────

/**
 * The next (dir 1) or previous (dir -1) version of `ns` (ascending, what is
 * loaded and kept by the filters) from `n`: a number when it is known, null
 * when there is none at all, undefined when a gap not loaded yet lies in
 * between (it has to be loaded to tell). `latest` bounds the search forward.
 */
export function stepKnown(ns: readonly number[], gaps: readonly Span[], n: number, dir: 1 | -1): number | null | undefined {
  if (dir === 1) {
    const gap = gaps.find((g) => g.hi > n)
    const limit = gap ? Math.max(gap.lo, n + 1) : Infinity
    for (const x of ns) if (x > n) return x < limit ? x : gap ? undefined : x
    return gap ? undefined : null
  }
  let gap: Span | undefined
  for (let i = gaps.length - 1; i >= 0; i--)
    if (gaps[i]!.lo < n) {
      gap = gaps[i]
      break
    }
  const limit = gap ? Math.min(gap.hi, n - 1) : -Infinity
  for (let i = ns.length - 1; i >= 0; i--) {
    const x = ns[i]!
    if (x < n) return x > limit ? x : gap ? undefined : x
  }
  return gap ? undefined : null
}

/** What findVersion needs of a paged history. */
export interface PagedSource {
  /** loaded (and live) versions, ascending */
  known(): readonly Version[]
  /** ranges not loaded, ascending */
  gaps(): readonly Span[]
  /** loads (at least part of) a gap; rejects when the page cannot be had */
  load(r: PageRequest): Promise<unknown>
  readonly pageSize: number
}

/**
 * The nearest version after (dir 1) or before (dir -1) `n` that `match`
 * keeps, loading the pages in between as far as it must: a page at a time,
 * stopping at the first match. `cancelled` is asked after every page, so a
 * newer request (another step, a pause) ends an older one early.
 */
export async function findVersion(
  src: PagedSource,
  n: number,
  dir: 1 | -1,
  match: (v: Version) => boolean,
  cancelled: () => boolean = () => false,
): Promise<number | null> {
  let at = n
  for (;;) {
    const ns = src
      .known()
      .filter(match)
      .map((v) => v.n)
    const step = stepKnown(ns, src.gaps(), at, dir)
    if (step !== undefined) return step
    const gaps = src.gaps()
    const before = gapsKey(gaps)
    if (dir === 1) {
      const gap = gaps.find((g) => g.hi > at)!
      const part = { lo: Math.max(gap.lo, at + 1), hi: gap.hi }
      // Nothing kept between here and the gap: go on from its edge once a page of it is in.
      at = part.lo - 1
      await src.load(pageForward(part, src.pageSize))
    } else {
      let gap: Span | undefined
      for (let i = gaps.length - 1; i >= 0 && !gap; i--) if (gaps[i]!.lo < at) gap = gaps[i]
      const part = { lo: gap!.lo, hi: Math.min(gap!.hi, at - 1) }
      at = part.hi + 1
      await src.load(pageBackward(part, src.pageSize))
    }
    if (cancelled()) return null
    // A load that brought nothing new (a history torn down meanwhile) must not spin.
    if (gapsKey(src.gaps()) === before) return null
  }
}

const gapsKey = (gaps: readonly Span[]): string => gaps.map((g) => `${g.lo}-${g.hi}`).join(',')

// ── the list, with its gaps ─────────────────────────────────────────────

export type ListRow = { kind: 'version'; v: Version } | { kind: 'gap'; gap: Span }

/**
 * The rows of a version list: the versions shown and, where versions are
 * not loaded yet, one row per gap (where scrolling loads more). `order`
 * 'desc' is newest first (the History panel).
 */
export function listRows(shown: readonly Version[], gaps: readonly Span[], order: 'asc' | 'desc' = 'asc'): ListRow[] {
  const rows: ListRow[] = []
  let g = 0
  for (const v of shown) {
    while (g < gaps.length && gaps[g]!.hi < v.n) rows.push({ kind: 'gap', gap: gaps[g++]! })
    rows.push({ kind: 'version', v })
  }
  while (g < gaps.length) rows.push({ kind: 'gap', gap: gaps[g++]! })
  return order === 'asc' ? rows : rows.reverse()
}

export type SessionRow = SessionItem | { kind: 'gap'; gap: Span }

/**
 * The History panel's rows: as `listRows`, with each loaded stretch's edit
 * versions gathered into sessions (shared/editSessions.ts). A session never
 * spans a gap: what is not loaded cannot be known to continue it.
 */
export function sessionRows(shown: readonly Version[], gaps: readonly Span[], order: 'asc' | 'desc' = 'asc'): SessionRow[] {
  const rows: SessionRow[] = []
  let stretch: Version[] = []
  const flush = () => {
    rows.push(...groupEditSessions(stretch))
    stretch = []
  }
  let g = 0
  for (const v of shown) {
    if (g < gaps.length && gaps[g]!.hi < v.n) flush()
    while (g < gaps.length && gaps[g]!.hi < v.n) rows.push({ kind: 'gap', gap: gaps[g++]! })
    stretch.push(v)
  }
  flush()
  while (g < gaps.length) rows.push({ kind: 'gap', gap: gaps[g++]! })
  return order === 'asc' ? rows : rows.reverse()
}

// ── the page size ───────────────────────────────────────────────────────

export const PAGE_SIZE_DEFAULT = 500
const PAGE_SIZE_MAX = 5000

/**
 * Versions per page: 500 (the server's default), or `?limit=K` in the
 * page's address (1…5000), which shows the paging at work on a short
 * history — the browser tests use it.
 */
export function pageSizeFrom(search: string): number {
  const s = new URLSearchParams(search).get('limit')
  const k = s !== null && /^\d{1,4}$/.test(s) ? Number(s) : NaN
  return k >= 1 && k <= PAGE_SIZE_MAX ? k : PAGE_SIZE_DEFAULT
}

// ── the density strip ───────────────────────────────────────────────────

export type DensityBucket = VersionDensityAnswer['buckets'][number]

/**
 * The density as fetched, with the versions that arrived live since added
 * in ranges as wide as its own (the last range filled up first), so a strip
 * drawn once stays true, and to scale, without asking the server again for
 * every version.
 */
export function withLive(density: VersionDensityAnswer, live: readonly Version[]): VersionDensityAnswer {
  const lastTo = density.buckets.reduce((m, b) => Math.max(m, b.toN), 0)
  const extra = new Map<number, Version>()
  for (const v of live) if (v.n > lastTo) extra.set(v.n, v)
  if (extra.size === 0) return density
  const width = Math.max(1, ...density.buckets.map((b) => b.toN - b.fromN + 1))
  const buckets = density.buckets.map((b) => ({ ...b, byParty: { ...b.byParty }, byKind: { ...b.byKind } }))
  for (const v of [...extra.values()].sort((a, b) => a.n - b.n)) {
    let last = buckets[buckets.length - 1]
    if (!last || v.n - last.fromN + 1 > width) {
      last = { fromN: v.n, toN: v.n, fromAt: v.at, toAt: v.at, count: 0, byParty: {}, byKind: {} }
      buckets.push(last)
    }
    last.toN = v.n
    last.toAt = v.at
    last.count++
    const party = v.party ?? ''
    last.byParty[party] = (last.byParty[party] ?? 0) + 1
    last.byKind[v.kind] = (last.byKind[v.kind] ?? 0) + 1
  }
  return { total: density.total + extra.size, buckets }
}

/** Event kinds, most telling first: a range's marker shows the first it holds. */
export const EVENT_RANK: readonly VersionKind[] = [
  'conclude',
  'initial',
  'package-accept',
  'agree',
  'reject',
  'withdraw',
  'reopen',
  'restore',
  'confirm',
  'accept',
  'checkpoint',
]

export interface StripBar {
  bucket: DensityBucket
  /** the range's slot along the strip, where a click lands on it (0…1) */
  left: number
  width: number
  /** where its versions sit within the slot (0…1): under the scrubber's thumb for them */
  mark: number
  /** 0…1 of the busiest range */
  height: number
  /** versions per delegation ('' for the opening draft), in the order of `parties` */
  parts: Array<{ party: string; count: number }>
  /** the most telling concession in the range, if any */
  event: VersionKind | null
  /** concessions in the range by kind, most telling first */
  events: Array<{ kind: VersionKind; count: number }>
}

/**
 * One bar per range of the density, placed by version number over
 * 1…latest the way a range input places its thumb (v1 at 0, the latest at
 * 1), so a range sits right above the scrubber's position for its versions.
 */
export function stripBars(density: VersionDensityAnswer, latest: number, parties: readonly string[]): StripBar[] {
  const last = Math.max(
    latest,
    density.buckets.reduce((m, b) => Math.max(m, b.toN), 0),
    1,
  )
  const at = (n: number) => (last <= 1 ? 0.5 : Math.min(1, Math.max(0, (n - 1) / (last - 1))))
  const busiest = density.buckets.reduce((m, b) => Math.max(m, b.count), 0) || 1
  const order = [...parties, '', ...Object.keys(Object.assign({}, ...density.buckets.map((b) => b.byParty)))]
  return density.buckets.map((b) => {
    const seen = new Set<string>()
    const parts: StripBar['parts'] = []
    for (const p of order) {
      if (seen.has(p)) continue
      seen.add(p)
      const count = b.byParty[p] ?? 0
      if (count > 0) parts.push({ party: p, count })
    }
    const events = EVENT_RANK.filter((k) => (b.byKind[k] ?? 0) > 0).map((kind) => ({ kind, count: b.byKind[kind]! }))
    const lo = last <= 1 ? 0 : at(b.fromN - 0.5)
    const hi = last <= 1 ? 1 : at(b.toN + 0.5)
    const width = Math.max(hi - lo, 0)
    return {
      bucket: b,
      left: lo,
      width,
      mark: width > 0 ? (at((b.fromN + b.toN) / 2) - lo) / width : 0.5,
      height: b.count / busiest,
      parts,
      event: events[0]?.kind ?? null,
      events,
    }
  })
}

/** Index of the bar holding version n (the last one at or before it), -1 for none. */
export function barOf(bars: readonly StripBar[], n: number): number {
  let at = -1
  for (let i = 0; i < bars.length; i++) if (bars[i]!.bucket.fromN <= n) at = i
  return at
}
