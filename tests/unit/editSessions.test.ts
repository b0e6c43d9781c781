/**
 * Edit sessions (shared/editSessions.ts): how the History panel gathers one
 * author's edit versions across the other side's interleaved typing, and the
 * words it says for a session (shared/describeChange.ts, from its redline).
 */
import { describe, expect, it } from 'vitest'
import { EDIT_PAUSE_MS, groupEditSessions, newestOf, type SessionItem } from '../../shared/editSessions'
import { describeTermDiff } from '../../shared/describeChange'
import type { Version } from '../../shared/schemas'
import { sessionRows } from '../../client/src/lib/history/versionPages'

const T0 = Date.UTC(2026, 0, 12, 9)
let n = 0
const iso = (ms: number) => new Date(ms).toISOString()
function v(party: string | null, termIds: string[], atMs: number, extra: Partial<Version> = {}): Version {
  return { n: ++n, at: iso(atMs), party, user: `${party}-user`, kind: 'edit', termIds, summary: `${party} edited`, ...extra }
}
/** Each item as the version numbers it holds. */
const shape = (items: SessionItem[]) => items.map((i) => (i.kind === 'version' ? i.v.n : i.s.versions.map((m) => m.n)))

describe('[ES1] edit sessions', () => {
  it('gathers each delegation’s edits of its own term across the other’s interleaved typing, listed at its newest member', () => {
    n = 0
    const vs: Version[] = []
    for (let i = 0; i < 6; i++) vs.push(v(i % 2 ? 'ru' : 'us', [i % 2 ? 't2' : 't1'], T0 + i * 700))
    const items = groupEditSessions(vs)
    expect(shape(items)).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ])
    const us = items[0]!
    expect(us.kind === 'session' && us.s).toMatchObject({ party: 'us', user: 'us-user', termIds: ['t1'] })
    expect(newestOf(items[1]!).n).toBe(6)
  })

  it('ends a session where the other side writes in the same term: their words are not counted as this author’s', () => {
    n = 0
    const vs = [v('us', ['t1'], T0), v('ru', ['t1'], T0 + 500), v('us', ['t1'], T0 + 1000), v('us', ['t2'], T0 + 1500)]
    expect(shape(groupEditSessions(vs))).toEqual([1, 2, 3, 4])
  })

  it('ends sessions at a pause, measured from the last change of the member before (lastAt), and at any status move', () => {
    n = 0
    const a = v('us', ['t1'], T0, { lastAt: iso(T0 + 20_000) })
    const b = v('ru', ['t2'], T0 + 20_100)
    const c = v('us', ['t1'], T0 + 20_000 + EDIT_PAUSE_MS - 1) // under the pause after a's last change: continues
    const d = v('ru', ['t2'], T0 + 20_100 + EDIT_PAUSE_MS) // a pause after b: a new session
    const e = v('us', ['t1'], T0 + 26_000, { kind: 'accept', summary: 'accepted' })
    const f = v('us', ['t1'], T0 + 26_500)
    const g = v('ru', ['t2'], T0 + 27_000)
    expect(shape(groupEditSessions([a, b, c, d, e, f, g]))).toEqual([b, [a.n, c.n], d, e, f, g].map((x) => ('n' in x ? x.n : x)))
  })

  it('lets card moves pass without joining or ending a session', () => {
    n = 0
    const vs = [v('us', ['t1'], T0), v('ru', ['t3'], T0 + 300, { layoutOnly: true }), v('us', ['t1'], T0 + 600)]
    expect(shape(groupEditSessions(vs))).toEqual([2, [1, 3]])
  })

  it('never joins across a gap in the loaded pages (the History panel’s rows, newest first)', () => {
    n = 0
    const vs = [1, 2, 3, 4, 5, 6].map((i) => v('us', ['t1'], T0 + i * 100))
    const shown = vs.filter((x) => x.n !== 3 && x.n !== 4)
    const rows = sessionRows(shown, [{ lo: 3, hi: 4 }], 'desc')
    expect(
      rows.map((r) =>
        r.kind === 'gap' ? `gap ${r.gap.lo}-${r.gap.hi}` : r.kind === 'version' ? r.v.n : r.s.versions.map((m) => m.n),
      ),
    ).toEqual([[5, 6], 'gap 3-4', [1, 2]])
  })
})

describe('[ES2] a session in words, from its redline', () => {
  it('quotes a change in one place and counts changes in many', () => {
    const one = describeTermDiff({
      id: 't1',
      change: 'modified',
      title: [{ op: 'eq', text: 'Deadline' }],
      body: [
        { op: 'eq', text: 'Requests are answered within ' },
        { op: 'del', text: '30', party: 'ru' },
        { op: 'ins', text: '45', party: 'us' },
        { op: 'eq', text: ' days.' },
      ],
      state: { from: 'proposed', to: 'proposed' },
    })
    expect(one).toBe('30 → 45 days')
    const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau'.split(' ')
    const body = words.flatMap((w, i) =>
      i % 5 === 2
        ? [
            { op: 'eq' as const, text: `${w} ` },
            { op: 'ins' as const, text: 'new words ' },
          ]
        : [{ op: 'eq' as const, text: `${w} ` }],
    )
    expect(describeTermDiff({ id: 't1', change: 'modified', title: [], body, state: { from: null, to: null } })).toBe(
      'added 8 words in 4 places',
    )
  })

  it('a session that only suggested says so, from the text its suggestions would make', () => {
    const s = (kind: 'ins' | 'del') => ({ id: 's1', kind, party: 'us', user: 'J. Carter', at: 1 })
    const suggested = describeTermDiff({
      id: 't1',
      change: 'modified',
      title: [{ op: 'eq', text: 'Deadline' }],
      body: [
        { op: 'eq', text: 'Requests are answered within ' },
        { op: 'ins', text: '45', party: 'us', suggestion: s('ins') },
        { op: 'eq', text: '30', suggestion: s('del') },
        { op: 'eq', text: ' days.' },
      ],
      state: { from: 'proposed', to: 'proposed' },
    })
    expect(suggested).toBe('suggested 30 → 45 days')
  })
})
