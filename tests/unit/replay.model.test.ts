/** The replay view's pure logic (client/src/lib/history/replayModel.ts, replayUrl.ts, versions.ts); paging is in replay.pages.test.ts. */
import { describe, expect, it } from 'vitest'
import type { Seg, TermDiff, Version, VersionKind } from '../../shared/schemas'
import {
  BASE_STEP_MS,
  Player,
  fromFor,
  isConcession,
  matchesFilter,
  NO_FILTER,
  placeTerms,
  redlineParties,
  resolveVersion,
  segEmphasised,
  sideText,
  stepDelay,
  stepFrom,
  touchedTerms,
  visibleDiffs,
  type PlayerHost,
  type Timers,
} from '../../client/src/lib/history/replayModel'
import { parseReplayParams, replaySearch } from '../../client/src/lib/history/replayUrl'
import { headline, isMove, mergeVersions } from '../../client/src/lib/history/versions'

let clock = 0
function version(n: number, kind: VersionKind, party: string | null, termIds: string[] = ['t1']): Version {
  return {
    n,
    at: new Date(Date.UTC(2026, 0, 1, 9, 0, clock++)).toISOString(),
    party,
    user: party ?? 'Parley',
    kind,
    termIds,
    summary: '',
  }
}

// The demo's shape: an opening draft, acceptances, an agreement, an edit, a rejection, a checkpoint.
const history: Version[] = [
  version(1, 'propose', null, ['scope']),
  version(2, 'propose', null, ['deadline']),
  version(3, 'accept', 'us', ['scope']),
  version(4, 'accept', 'ru', ['scope']),
  version(5, 'agree', 'ru', ['scope']),
  version(6, 'edit', 'ru', ['deadline']),
  version(7, 'reject', 'us', ['deadline']),
  version(8, 'checkpoint', 'us', []),
]

describe('replay: versions and filters', () => {
  it('[RP1] concession events are the status moves, restores and checkpoints; proposals and edits are not', () => {
    const events = (
      ['propose', 'edit', 'accept', 'reject', 'withdraw', 'reopen', 'agree', 'checkpoint', 'restore'] as const
    ).filter(isConcession)
    expect(events).toEqual(['accept', 'reject', 'withdraw', 'reopen', 'agree', 'checkpoint', 'restore'])
  })

  it('[RP2] a delegation filter keeps that delegation’s versions only (not the opening draft)', () => {
    const ns = history.filter((v) => matchesFilter(v, { ...NO_FILTER, parties: ['ru'] })).map((v) => v.n)
    expect(ns).toEqual([4, 5, 6])
    expect(history.filter((v) => matchesFilter(v, NO_FILTER))).toHaveLength(history.length)
    expect(history.filter((v) => matchesFilter(v, { ...NO_FILTER, parties: ['us', 'ru'] })).map((v) => v.n)).toEqual([
      3, 4, 5, 6, 7, 8,
    ])
  })

  it('[RP3] a term filter keeps the versions that touched the term, and checkpoints (they concern every term)', () => {
    expect(history.filter((v) => matchesFilter(v, { ...NO_FILTER, termId: 'deadline' })).map((v) => v.n)).toEqual([2, 6, 7, 8])
    expect(
      history.filter((v) => matchesFilter(v, { ...NO_FILTER, termId: 'deadline', parties: ['ru'] })).map((v) => v.n),
    ).toEqual([6])
  })

  it('[RP3b] versions that only moved cards are left out unless moves are shown; `layoutOnly` absent means false', () => {
    const moved: Version = { ...version(9, 'edit', 'us', ['scope']), layoutOnly: true } as Version
    const all = [...history, moved]
    expect(isMove(moved)).toBe(true)
    expect(isMove(history[5]!)).toBe(false)
    expect(isMove({ ...history[5]!, layoutOnly: false } as Version)).toBe(false)
    expect(all.filter((v) => matchesFilter(v, NO_FILTER)).map((v) => v.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(all.filter((v) => matchesFilter(v, { ...NO_FILTER, moves: true })).map((v) => v.n)).toContain(9)
    // Showing moves still applies the other filters.
    expect(all.filter((v) => matchesFilter(v, { ...NO_FILTER, moves: true, parties: ['ru'] })).map((v) => v.n)).toEqual([4, 5, 6])
    expect(headline(moved)).toBe('Moved')
    expect(headline(history[5]!)).toBe('Edited')
  })

  it('[RP4] loaded and live versions merge oldest first, each once (a live event may repeat a loaded one)', () => {
    const merged = mergeVersions(history.slice(0, 6), [history[7]!, history[5]!, history[6]!])
    expect(merged.map((v) => v.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('[RP5] a requested version resolves to itself, 0 (before the first) or the latest with a note', () => {
    const ns = new Set(history.map((v) => v.n))
    const exists = (n: number) => ns.has(n)
    expect(resolveVersion(5, 8, exists)).toEqual({ n: 5, note: null })
    expect(resolveVersion(0, 8, exists)).toEqual({ n: 0, note: null })
    expect(resolveVersion(null, 8, exists)).toEqual({ n: 8, note: null })
    expect(resolveVersion(99, 8, exists)).toEqual({ n: 8, note: expect.stringContaining('no version 99') })
    expect(resolveVersion(3, 0, () => false)).toEqual({ n: 0, note: expect.stringContaining('no version 3 yet') })
  })

  it('[RP6] stepping walks the filtered timeline from wherever the board is, even off it', () => {
    const ns = [2, 6, 7, 8]
    expect(stepFrom(ns, 6, 1)).toBe(7)
    expect(stepFrom(ns, 6, -1)).toBe(2)
    expect(stepFrom(ns, 4, 1)).toBe(6) // v4 is not on this timeline
    expect(stepFrom(ns, 4, -1)).toBe(2)
    expect(stepFrom(ns, 8, 1)).toBeNull()
    expect(stepFrom(ns, 2, -1)).toBeNull()
  })

  it('[RP7] the redline compares with the version just before unless an earlier one is chosen', () => {
    expect(fromFor(12, null)).toBe(11)
    expect(fromFor(12, 9)).toBe(9)
    expect(fromFor(12, 12)).toBe(11) // not a later or equal version
    expect(fromFor(1, null)).toBe(0)
    expect(fromFor(0, null)).toBe(0)
  })

  it('[RP8] terms touched in a window, by delegation', () => {
    expect([...touchedTerms(history, 2, 7, [])].sort()).toEqual(['deadline', 'scope'])
    expect([...touchedTerms(history, 2, 7, ['us'])].sort()).toEqual(['deadline', 'scope'])
    expect([...touchedTerms(history, 5, 7, ['ru'])]).toEqual(['deadline'])
    expect([...touchedTerms(history, 7, 8, ['ru'])]).toEqual([])
  })
})

describe('replay: playback', () => {
  /** Timers run by hand: `run()` fires the due one. */
  function fakeTimers() {
    const queue: Array<{ fn: () => void; ms: number; id: number }> = []
    let id = 0
    const timers: Timers = {
      set: (fn, ms) => {
        queue.push({ fn, ms, id: ++id })
        return id
      },
      clear: (h) => {
        const i = queue.findIndex((t) => t.id === h)
        if (i >= 0) queue.splice(i, 1)
      },
    }
    return {
      timers,
      pending: () => queue.map((t) => t.ms),
      async run() {
        const t = queue.shift()
        if (!t) throw new Error('no timer pending')
        t.fn()
        for (let i = 0; i < 5; i++) await Promise.resolve()
      },
    }
  }

  /** A host over a fully loaded timeline `ns` (paged hosts are in replay.pages.test.ts). */
  function host(ns: number[], start: number, prepare: (n: number) => Promise<unknown> = () => Promise.resolve()) {
    const shown: number[] = []
    const changes: boolean[] = []
    let current = start
    const h: PlayerHost = {
      next: (n) => Promise.resolve(stepFrom(ns, n, 1)),
      hasNext: (n) => stepFrom(ns, n, 1) !== null,
      first: () => Promise.resolve(ns[0] ?? null),
      current: () => current,
      prepare,
      show: (n) => {
        current = n
        shown.push(n)
      },
      changed: (on) => changes.push(on),
    }
    return { h, shown, changes, at: () => current }
  }

  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve()
  }

  it('[RP9] plays one version per step at the chosen speed and stops at the last', async () => {
    const t = fakeTimers()
    const { h, shown, changes } = host([2, 6, 7, 8], 6)
    const p = new Player(h, t.timers)
    p.play()
    expect(p.playing).toBe(true)
    expect(t.pending()).toEqual([BASE_STEP_MS])
    await t.run()
    expect(shown).toEqual([7])
    p.setSpeed(4)
    expect(t.pending()).toEqual([stepDelay(4)])
    await t.run()
    expect(shown).toEqual([7, 8])
    expect(p.playing).toBe(false)
    expect(changes).toEqual([true, false])
    expect(t.pending()).toEqual([])
  })

  it('[RP10] play at the end starts over from the first version; pause stops the next step', async () => {
    const t = fakeTimers()
    const { h, shown } = host([2, 6, 7], 7)
    const p = new Player(h, t.timers)
    p.play()
    await settle()
    expect(shown).toEqual([2])
    expect(t.pending()).toEqual([BASE_STEP_MS])
    p.pause()
    expect(t.pending()).toEqual([])
    expect(p.playing).toBe(false)
  })

  it('[RP11] a step waits for its version to load and never skips one; a pause meanwhile wins', async () => {
    const t = fakeTimers()
    let release: () => void = () => {}
    const { h, shown } = host([1, 2, 3], 1, () => new Promise<void>((r) => (release = r)))
    const p = new Player(h, t.timers)
    p.play()
    await t.run()
    expect(shown).toEqual([]) // v2 is still loading
    p.pause()
    release()
    for (let i = 0; i < 5; i++) await Promise.resolve()
    expect(shown).toEqual([])
    expect(p.playing).toBe(false)
  })

  it('[RP12] a version that cannot be loaded stops playing instead of looping', async () => {
    const t = fakeTimers()
    const { h, shown, changes } = host([1, 2, 3], 1, () => Promise.reject(new Error('offline')))
    const p = new Player(h, t.timers)
    p.play()
    await t.run()
    expect(shown).toEqual([])
    expect(changes).toEqual([true, false])
    expect(t.pending()).toEqual([])
  })

  it('[RP12b] nothing to play: play stops at once', async () => {
    const t = fakeTimers()
    const { h, shown, changes } = host([], 0)
    const p = new Player(h, t.timers)
    p.play()
    await settle()
    expect(shown).toEqual([])
    expect(changes).toEqual([true, false])
    expect(p.playing).toBe(false)
  })

  it('[RP13] a move by hand while playing restarts the step wait; moving to the end stops', async () => {
    const t = fakeTimers()
    const { h } = host([1, 2, 3], 1)
    const p = new Player(h, t.timers)
    p.play()
    p.setSpeed(2)
    p.moved()
    expect(t.pending()).toEqual([stepDelay(2)])
    h.show(3)
    p.moved()
    expect(p.playing).toBe(false)
    p.destroy()
  })
})

describe('replay: redlines', () => {
  const seg = (op: Seg['op'], text: string, party?: string): Seg => (party ? { op, text, party } : { op, text })
  const deadline: TermDiff = {
    id: 'deadline',
    change: 'modified',
    title: [seg('eq', 'Response deadline')],
    body: [seg('eq', 'Requests are answered within '), seg('del', '30', 'ru'), seg('ins', '45', 'ru'), seg('eq', ' days.')],
    state: { from: 'proposed', to: 'proposed' },
  }
  const scope: TermDiff = {
    id: 'scope',
    change: 'unchanged',
    title: [seg('eq', 'Scope')],
    body: [seg('eq', 'Each party extradites.')],
    state: { from: 'accepted', to: 'agreed' },
  }
  const evidence: TermDiff = {
    id: 'evidence',
    change: 'unchanged',
    title: [seg('eq', 'Evidence')],
    body: [seg('eq', 'A request includes the charging document.')],
    state: { from: 'proposed', to: 'proposed' },
  }
  const all = [scope, deadline, evidence]

  it('[RP16] each side of a redline: the old text keeps deletions, the new keeps insertions', () => {
    expect(sideText(deadline.body, 'from')).toBe('Requests are answered within 30 days.')
    expect(sideText(deadline.body, 'to')).toBe('Requests are answered within 45 days.')
    expect(sideText(deadline.title, 'to')).toBe('Response deadline')
  })

  it('[RP17] by default the redline lists terms whose text or state changed', () => {
    const view = { termId: null, parties: [], showUnchanged: false, touched: new Set<string>() }
    expect(visibleDiffs(all, view).map((d) => d.id)).toEqual(['scope', 'deadline'])
    expect(visibleDiffs(all, { ...view, showUnchanged: true }).map((d) => d.id)).toEqual(['scope', 'deadline', 'evidence'])
    expect(visibleDiffs(all, { ...view, termId: 'evidence' }).map((d) => d.id)).toEqual(['evidence'])
  })

  it('[RP18] a delegation filter keeps what it wrote, removed or moved in the window', () => {
    const view = { termId: null, showUnchanged: false }
    expect(visibleDiffs(all, { ...view, parties: ['ru'], touched: new Set() }).map((d) => d.id)).toEqual(['deadline'])
    expect(visibleDiffs(all, { ...view, parties: ['us'], touched: new Set(['scope']) }).map((d) => d.id)).toEqual(['scope'])
    expect(visibleDiffs(all, { ...view, parties: ['us'], touched: new Set() })).toEqual([])
  })

  it('[RP19] colours: the delegations present, and who stays in colour under a filter', () => {
    expect(redlineParties(all)).toEqual(['ru'])
    expect(redlineParties([{ ...evidence, body: [seg('ins', 'x')] }])).toEqual([null])
    expect(segEmphasised(seg('ins', '45', 'ru'), [])).toBe(true)
    expect(segEmphasised(seg('ins', '45', 'ru'), ['ru'])).toBe(true)
    expect(segEmphasised(seg('ins', '45', 'ru'), ['us'])).toBe(false)
    expect(segEmphasised(seg('ins', 'x'), ['us'])).toBe(false)
  })
})

describe('replay: the link to a version', () => {
  it('[RP20] the URL round-trips the version, the redline’s left side and the filters', () => {
    const params = { v: 12, from: 9, term: 't-abc', parties: ['us', 'ru'], moves: false }
    const search = replaySearch('', params)
    expect(search).toBe('?v=12&from=9&term=t-abc&by=us%2Cru')
    expect(parseReplayParams(search)).toEqual(params)
    expect(replaySearch('', { v: 3, from: null, term: null, parties: [] })).toBe('?v=3')
    // "Show moves" travels with the link.
    expect(replaySearch('', { v: 3, from: null, term: null, parties: [], moves: true })).toBe('?v=3&moves=1')
    expect(parseReplayParams('?v=3&moves=1')).toMatchObject({ v: 3, moves: true })
  })

  it('[RP21] other query parameters stay, and closing the replay removes only its own', () => {
    const search = replaySearch('?lang=ar&v=2', { v: 5, from: null, term: null, parties: [] })
    expect(new URLSearchParams(search).get('lang')).toBe('ar')
    expect(new URLSearchParams(search).get('v')).toBe('5')
    expect(replaySearch(search, null)).toBe('?lang=ar')
    expect(replaySearch('?v=5&from=2&moves=1', null)).toBe('')
    // The page size knob (?limit=) is not the replay's: it stays.
    expect(replaySearch('?limit=10&v=5', null)).toBe('?limit=10')
  })

  it('[RP22] no `v`, no replay; a bad value means the latest; junk delegations and huge ids are dropped', () => {
    expect(parseReplayParams('')).toBeNull()
    expect(parseReplayParams('?from=3')).toBeNull()
    expect(parseReplayParams('?v=latest')).toEqual({ v: null, from: null, term: null, parties: [], moves: false })
    expect(parseReplayParams('?v=-1&from=x')).toMatchObject({ v: null, from: null })
    expect(parseReplayParams(`?v=2&by=us,<script>,RU,ru&term=${'x'.repeat(65)}`)).toEqual({
      v: 2,
      from: null,
      term: null,
      parties: ['us', 'ru'],
      moves: false,
    })
  })
})

describe('replay: the board', () => {
  it('[RP23] each card stands where the sheet says it stood then; one without a position goes in a grid below', () => {
    const placed = placeTerms(
      [
        { id: 'a', x: 100, y: 50 },
        { id: 'gone-1', x: NaN, y: NaN },
        { id: 'b', x: 500, y: 300 },
        { id: 'gone-2', x: Infinity, y: 0 },
      ],
      { w: 330, h: 230 },
      4,
    )
    expect(placed.get('a')).toEqual({ x: 100, y: 50 })
    expect(placed.get('b')).toEqual({ x: 500, y: 300 })
    expect(placed.get('gone-1')).toEqual({ x: 100, y: 300 + 230 + 40 })
    expect(placed.get('gone-2')).toEqual({ x: 430, y: 300 + 230 + 40 })
    expect(placeTerms([{ id: 'x', x: NaN, y: NaN }]).get('x')).toEqual({ x: 40, y: 40 })
    // Negative and zero positions are positions.
    expect(placeTerms([{ id: 'z', x: 0, y: -80 }]).get('z')).toEqual({ x: 0, y: -80 })
  })
})
