/**
 * A long history in pages (issue 12), the pure part the History panel and
 * the replay share (client/src/lib/history/versionPages.ts): what is loaded
 * and what is not, which page to ask for, moving over a partly loaded
 * timeline, the list with its gaps, the density strip.
 */
import { describe, expect, it } from 'vitest'
import type { Version, VersionDensityAnswer, VersionKind, VersionList } from '../../shared/schemas'
import {
  addSpan,
  answeredSpan,
  barOf,
  findVersion,
  gapAt,
  gapsIn,
  inSpans,
  listRows,
  pageAround,
  pageBackward,
  pageForward,
  pageSizeFrom,
  stepKnown,
  stripBars,
  withLive,
  withPoints,
  type PageRequest,
  type PagedSource,
  type Span,
} from '../../client/src/lib/history/versionPages'
import { Player, stepFrom, type PlayerHost } from '../../client/src/lib/history/replayModel'
import { mergeVersions } from '../../client/src/lib/history/versions'

function version(n: number, kind: VersionKind = 'edit', party: string | null = n % 2 ? 'us' : 'ru', termIds = ['t1']): Version {
  return {
    n,
    at: new Date(Date.UTC(2026, 0, 1, 9, 0, n)).toISOString(),
    party,
    user: party ?? 'Parley',
    kind,
    termIds,
    summary: '',
  }
}

/** What the server answers for `…/versions?after&limit` over `all` (CONTRACT.md), to drive the paging logic without one. */
function answer(all: readonly Version[], r: PageRequest): VersionList {
  const after = all.filter((v) => v.n > r.after)
  const page = after.slice(0, r.limit)
  return { versions: page, next: after.length > r.limit ? page[page.length - 1]!.n : null }
}

/** A paged history over `all`, loading as findVersion asks, recording each request. */
function pagedOver(all: readonly Version[], pageSize: number) {
  let spans: Span[] = []
  let known: Version[] = []
  const latest = all.length ? all[all.length - 1]!.n : 0
  const requests: PageRequest[] = []
  const src: PagedSource = {
    known: () => known,
    gaps: () => gapsIn(spans, latest),
    pageSize,
    load: async (r) => {
      requests.push(r)
      const a = answer(all, r)
      spans = addSpan(spans, answeredSpan(r, a, latest))
      known = mergeVersions(known, a.versions)
    },
  }
  return { src, requests, loadNow: src.load }
}

describe('paging: spans and gaps', () => {
  it('[PG1] spans merge when they overlap or touch, and stay apart otherwise', () => {
    let s: Span[] = []
    s = addSpan(s, { lo: 11, hi: 20 })
    s = addSpan(s, { lo: 31, hi: 40 })
    expect(s).toEqual([
      { lo: 11, hi: 20 },
      { lo: 31, hi: 40 },
    ])
    expect(addSpan(s, { lo: 21, hi: 30 })).toEqual([{ lo: 11, hi: 40 }])
    expect(addSpan(s, { lo: 1, hi: 5 })).toEqual([
      { lo: 1, hi: 5 },
      { lo: 11, hi: 20 },
      { lo: 31, hi: 40 },
    ])
    expect(addSpan(s, { lo: 15, hi: 35 })).toEqual([{ lo: 11, hi: 40 }])
    expect(addSpan(s, { lo: 5, hi: 4 })).toEqual(s) // empty
    expect(inSpans(s, 20)).toBe(true)
    expect(inSpans(s, 25)).toBe(false)
  })

  it('[PG2] the gaps are what no span covers of 1…latest; live versions count as loaded points', () => {
    const s = [
      { lo: 11, hi: 20 },
      { lo: 31, hi: 40 },
    ]
    expect(gapsIn(s, 50)).toEqual([
      { lo: 1, hi: 10 },
      { lo: 21, hi: 30 },
      { lo: 41, hi: 50 },
    ])
    expect(gapsIn(s, 35)).toEqual([
      { lo: 1, hi: 10 },
      { lo: 21, hi: 30 },
    ])
    expect(gapsIn([], 0)).toEqual([])
    expect(gapsIn(withPoints(s, [41, 42, 50]), 50)).toEqual([
      { lo: 1, hi: 10 },
      { lo: 21, hi: 30 },
      { lo: 43, hi: 49 },
    ])
    expect(gapAt(gapsIn(s, 50), 25)).toEqual({ lo: 21, hi: 30 })
    expect(gapAt(gapsIn(s, 50), 15)).toBeUndefined()
  })
})

describe('paging: which page to ask for', () => {
  it('[PG3] a version far back: the page around it, inside its gap, never the pages before it', () => {
    expect(pageAround(40_000, { lo: 1, hi: 50_000 }, 500)).toEqual({ after: 39_749, limit: 500 })
    // the newest page, for the latest version
    expect(pageAround(50_000, { lo: 1, hi: 50_000 }, 500)).toEqual({ after: 49_500, limit: 500 })
    expect(pageAround(3, { lo: 1, hi: 50_000 }, 500)).toEqual({ after: 0, limit: 500 })
    // within a small gap: only what is missing
    expect(pageAround(105, { lo: 101, hi: 110 }, 500)).toEqual({ after: 100, limit: 10 })
    for (const [n, gap] of [
      [40_000, { lo: 1, hi: 50_000 }],
      [7, { lo: 5, hi: 9 }],
      [1, { lo: 1, hi: 1 }],
    ] as const) {
      const r = pageAround(n, gap, 500)
      expect(r.after).toBeLessThan(n)
      expect(r.after + r.limit).toBeGreaterThanOrEqual(n)
      expect(r.after).toBeGreaterThanOrEqual(gap.lo - 1)
      expect(r.after + r.limit).toBeLessThanOrEqual(gap.hi)
    }
  })

  it('[PG4] scrolling on past a gap loads its first page, scrolling back its last', () => {
    expect(pageForward({ lo: 501, hi: 49_500 }, 500)).toEqual({ after: 500, limit: 500 })
    expect(pageBackward({ lo: 501, hi: 49_500 }, 500)).toEqual({ after: 49_000, limit: 500 })
    expect(pageForward({ lo: 501, hi: 510 }, 500)).toEqual({ after: 500, limit: 10 })
    expect(pageBackward({ lo: 501, hi: 510 }, 500)).toEqual({ after: 500, limit: 10 })
  })

  it('[PG5] an answer covers (after, next]; the last page covers everything after `after`', () => {
    const all = Array.from({ length: 30 }, (_, i) => version(i + 1))
    expect(answeredSpan({ after: 10, limit: 5 }, answer(all, { after: 10, limit: 5 }), 30)).toEqual({ lo: 11, hi: 15 })
    expect(answeredSpan({ after: 25, limit: 10 }, answer(all, { after: 25, limit: 10 }), 30)).toEqual({ lo: 26, hi: 30 })
    // The server has fewer than believed (latest 40): the end page still closes the gap, no loop.
    expect(answeredSpan({ after: 25, limit: 10 }, answer(all, { after: 25, limit: 10 }), 40)).toEqual({ lo: 26, hi: 40 })
    // A hole in the numbering inside a page is covered, not asked for again.
    const holey = all.filter((v) => v.n !== 13)
    expect(answeredSpan({ after: 10, limit: 5 }, answer(holey, { after: 10, limit: 5 }), 30)).toEqual({ lo: 11, hi: 16 })
  })

  it('[PG6] the page size: 500, or ?limit= from 1 to 5000', () => {
    expect(pageSizeFrom('')).toBe(500)
    expect(pageSizeFrom('?limit=10&v=3')).toBe(10)
    expect(pageSizeFrom('?limit=5000')).toBe(5000)
    for (const bad of ['?limit=0', '?limit=5001', '?limit=-3', '?limit=1e3', '?limit=ten']) expect(pageSizeFrom(bad)).toBe(500)
  })
})

describe('paging: moving over a partly loaded timeline', () => {
  it('[PG7] a step is known when nothing unloaded lies in between; otherwise it has to load (undefined)', () => {
    const gaps = [{ lo: 21, hi: 30 }]
    const ns = [12, 15, 20, 31, 35]
    expect(stepKnown(ns, gaps, 15, 1)).toBe(20)
    expect(stepKnown(ns, gaps, 20, 1)).toBeUndefined() // 21…30 may hold one
    expect(stepKnown(ns, gaps, 31, -1)).toBeUndefined()
    expect(stepKnown(ns, gaps, 35, -1)).toBe(31)
    expect(stepKnown(ns, gaps, 35, 1)).toBeNull() // the end
    expect(stepKnown(ns, [{ lo: 1, hi: 11 }, ...gaps], 12, -1)).toBeUndefined()
    expect(stepKnown(ns, gaps, 12, -1)).toBeNull() // the start
    expect(stepKnown(ns, gaps, 25, 1)).toBeUndefined() // from inside a gap
    expect(stepKnown([], [], 0, 1)).toBeNull()
  })

  it('[PG8] the next kept version across pages not loaded: loads a page at a time, stops at the first match', async () => {
    const all = Array.from({ length: 1000 }, (_, i) => version(i + 1, i + 1 === 777 ? 'agree' : 'edit'))
    const { src, requests, loadNow } = pagedOver(all, 50)
    await loadNow({ after: 100, limit: 50 })
    requests.length = 0
    const agree = (v: Version) => v.kind === 'agree'
    expect(await findVersion(src, 120, 1, agree)).toBe(777)
    expect(requests.map((r) => r.after)).toEqual([150, 200, 250, 300, 350, 400, 450, 500, 550, 600, 650, 700, 750])
    // Back from the agreement to the loaded page: nothing before 777 agrees, down to the start.
    requests.length = 0
    expect(await findVersion(src, 777, -1, agree)).toBeNull()
    expect(requests.map((r) => r.after)).toEqual([50, 0])
    // Plain steps within what is loaded fetch nothing.
    requests.length = 0
    expect(await findVersion(src, 700, 1, () => true)).toBe(701)
    expect(requests).toEqual([])
  })

  it('[PG9] a newer move cancels a search still crossing pages', async () => {
    const all = Array.from({ length: 500 }, (_, i) => version(i + 1))
    const { src, requests } = pagedOver(all, 10)
    let moves = 0
    const found = await findVersion(
      src,
      0,
      1,
      () => false,
      () => ++moves > 3,
    )
    expect(found).toBeNull()
    expect(requests.length).toBe(4)
  })

  it('[PG10] playing across pages waits for the next page and never skips a version', async () => {
    const all = Array.from({ length: 40 }, (_, i) => version(i + 1, 'edit', i % 3 ? 'us' : 'ru'))
    const { src, requests, loadNow } = pagedOver(all, 10)
    await loadNow({ after: 0, limit: 10 })
    const ru = (v: Version) => v.party === 'ru'
    let current = 1
    const shown: number[] = []
    const queue: Array<() => void> = []
    const host: PlayerHost = {
      next: (n) => findVersion(src, n, 1, ru),
      hasNext: (n) =>
        stepKnown(
          src
            .known()
            .filter(ru)
            .map((v) => v.n),
          src.gaps(),
          n,
          1,
        ) !== null,
      first: () => findVersion(src, 0, 1, ru),
      current: () => current,
      prepare: () => Promise.resolve(),
      show: (n) => {
        current = n
        shown.push(n)
      },
      changed: () => {},
    }
    const p = new Player(host, { set: (fn) => queue.push(fn), clear: () => {} })
    p.play()
    while (queue.length) {
      queue.shift()!()
      for (let i = 0; i < 20; i++) await Promise.resolve()
    }
    expect(shown).toEqual(
      all
        .filter(ru)
        .map((v) => v.n)
        .filter((n) => n > 1),
    )
    expect(p.playing).toBe(false)
    expect(requests.map((r) => r.after)).toEqual([0, 10, 20, 30])
    expect(stepFrom(shown, 40, 1)).toBeNull()
  })
})

describe('paging: the list', () => {
  it('[PG11] the rows: versions shown and one row per gap, in order; newest first for the History panel', () => {
    const shown = [version(11), version(12), version(31)]
    const gaps = [
      { lo: 1, hi: 10 },
      { lo: 13, hi: 30 },
      { lo: 32, hi: 40 },
    ]
    const asc = listRows(shown, gaps, 'asc').map((r) => (r.kind === 'gap' ? `${r.gap.lo}-${r.gap.hi}` : r.v.n))
    expect(asc).toEqual(['1-10', 11, 12, '13-30', 31, '32-40'])
    const desc = listRows(shown, gaps, 'desc').map((r) => (r.kind === 'gap' ? `${r.gap.lo}-${r.gap.hi}` : r.v.n))
    expect(desc).toEqual(['32-40', 31, '13-30', 12, 11, '1-10'])
    expect(listRows([], [{ lo: 1, hi: 5 }]).length).toBe(1)
  })
})

describe('paging: the density strip', () => {
  const density: VersionDensityAnswer = {
    total: 300,
    buckets: [
      {
        fromN: 1,
        toN: 100,
        fromAt: '2026-01-01T09:00:00.000Z',
        toAt: '2026-01-02T09:00:00.000Z',
        count: 100,
        byParty: { '': 6, us: 60, ru: 34 },
        byKind: { propose: 6, edit: 90, accept: 4 },
      },
      {
        fromN: 101,
        toN: 200,
        fromAt: '2026-01-03T09:00:00.000Z',
        toAt: '2026-01-04T09:00:00.000Z',
        count: 100,
        byParty: { us: 50, ru: 50 },
        byKind: { edit: 97, accept: 2, agree: 1 },
      },
      {
        fromN: 201,
        toN: 300,
        fromAt: '2026-01-05T09:00:00.000Z',
        toAt: '2026-01-06T09:00:00.000Z',
        count: 50,
        byParty: { ru: 50 },
        byKind: { edit: 50 },
      },
    ],
  }

  it('[PG12] one bar per range, placed by version number, as tall as it was busy, by delegation, its most telling concession marked', () => {
    const bars = stripBars(density, 300, ['us', 'ru'])
    // Placed like a range input's thumb: v1 at 0, v300 at 1, each range from half a version before to half after.
    const at = (n: number) => (n - 1) / 299
    expect(bars[0]!.left).toBe(0)
    expect(bars[0]!.width).toBeCloseTo(at(100.5))
    expect(bars[1]!.left).toBeCloseTo(at(100.5))
    expect(bars[1]!.width).toBeCloseTo(at(200.5) - at(100.5))
    expect(bars[2]!.left + bars[2]!.width).toBe(1)
    expect(bars[1]!.mark).toBeCloseTo(0.5)
    // One version per range (a short history): each bar sits where the thumb does for its version.
    const short = stripBars(
      { total: 3, buckets: [1, 2, 3].map((n) => ({ ...density.buckets[2]!, fromN: n, toN: n, count: 1 })) },
      3,
      [],
    )
    expect(short.map((b) => b.left + b.mark * b.width)).toEqual([0, 0.5, 1])
    expect(bars.map((b) => b.height)).toEqual([1, 1, 0.5])
    expect(bars[0]!.parts).toEqual([
      { party: 'us', count: 60 },
      { party: 'ru', count: 34 },
      { party: '', count: 6 },
    ])
    expect(bars.map((b) => b.event)).toEqual(['accept', 'agree', null])
    expect(bars[1]!.events).toEqual([
      { kind: 'agree', count: 1 },
      { kind: 'accept', count: 2 },
    ])
    expect(barOf(bars, 150)).toBe(1)
    expect(barOf(bars, 1)).toBe(0)
    expect(barOf(bars, 0)).toBe(-1)
  })

  it("[PG13] versions that arrived live since are added in ranges as wide as the density's, the last one filled first", () => {
    const live = [version(300), version(301, 'agree', 'us'), version(302, 'edit', 'ru'), version(301, 'agree', 'us')]
    const d = withLive(density, live)
    expect(d.total).toBe(302)
    // 201…300 is a full range of 100: 301 and 302 start a new one.
    expect(d.buckets).toHaveLength(4)
    expect(d.buckets[3]).toMatchObject({
      fromN: 301,
      toN: 302,
      count: 2,
      byParty: { ru: 1, us: 1 },
      byKind: { edit: 1, agree: 1 },
    })
    expect(density.buckets).toHaveLength(3) // the fetched density is left as it was
    expect(withLive(density, [version(12)])).toBe(density)
    expect(withLive({ total: 0, buckets: [] }, [version(1)]).buckets).toEqual([
      expect.objectContaining({ fromN: 1, toN: 1, count: 1 }),
    ])
    // A short history, one version per range: a new version is a range of its own, and the bars keep their height.
    const short: VersionDensityAnswer = {
      total: 2,
      buckets: [1, 2].map((n) => ({
        ...density.buckets[2]!,
        fromN: n,
        toN: n,
        count: 1,
        byParty: { us: 1 },
        byKind: { edit: 1 },
      })),
    }
    const grown = withLive(short, [version(3)])
    expect(grown.buckets.map((b) => [b.fromN, b.toN, b.count])).toEqual([
      [1, 1, 1],
      [2, 2, 1],
      [3, 3, 1],
    ])
    expect(stripBars(grown, 3, ['us']).map((b) => b.height)).toEqual([1, 1, 1])
    // A range not full yet takes the new versions first.
    const partial: VersionDensityAnswer = {
      total: 15,
      buckets: [
        { ...density.buckets[0]!, fromN: 1, toN: 10, count: 10 },
        { ...density.buckets[1]!, fromN: 11, toN: 15, count: 5 },
      ],
    }
    expect(withLive(partial, [version(16), version(20), version(21)]).buckets.map((b) => [b.fromN, b.toN, b.count])).toEqual([
      [1, 10, 10],
      [11, 20, 7],
      [21, 21, 1],
    ])
  })
})
