/** The term state machine and the acceptance hash (shared/negotiation.ts), as pure functions. */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { applyMove, availableMoves, termHash, TermRuleError, type TermStatus } from '../../shared/negotiation'

const parties = ['us', 'ru']
const text = { title: 'Response deadline', body: 'Requests are answered within 30 days.' }
const propose = (party: string | null = 'us') => applyMove(undefined, { kind: 'propose', party }, parties, 1).status
const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    return (err as TermRuleError).code
  }
  return 'no error'
}

describe('termHash', () => {
  it('[T1] is SHA-256 of title + "\\n" + body, hex', () => {
    const expected = createHash('sha256').update(`${text.title}\n${text.body}`).digest('hex')
    expect(termHash(text)).toBe(expected)
  })

  it('[T2] hashes Cyrillic and Arabic text as UTF-8', () => {
    const t = { title: 'Срок ответа', body: 'يتم الرد على الطلبات خلال 30 يومًا' }
    expect(termHash(t)).toBe(createHash('sha256').update(`${t.title}\n${t.body}`, 'utf8').digest('hex'))
  })
})

describe('applyMove', () => {
  it('[T3] propose creates a proposed term once', () => {
    const s = propose()
    expect(s).toMatchObject({ state: 'proposed', proposedBy: 'us', acceptedBy: {} })
    expect(applyMove(s, { kind: 'propose', party: 'ru' }, parties, 2)).toEqual({ status: s, outcome: 'none' })
  })

  it('[T4] accept by one party → accepted; by all on the same hash → agreed with the text', () => {
    const one = applyMove(propose(), { kind: 'accept', party: 'us', text }, parties, 2)
    expect(one.outcome).toBe('accept')
    expect(one.status.state).toBe('accepted')
    expect(one.status.acceptedBy).toEqual({ us: termHash(text) })
    const both = applyMove(one.status, { kind: 'accept', party: 'ru', text }, parties, 3)
    expect(both.outcome).toBe('agree')
    expect(both.status).toMatchObject({ state: 'agreed', agreedText: `${text.title}\n${text.body}`, agreedHash: termHash(text) })
  })

  it('[T5] acceptances of different texts do not agree', () => {
    const one = applyMove(propose(), { kind: 'accept', party: 'us', text }, parties, 2)
    const other = applyMove(one.status, { kind: 'accept', party: 'ru', text: { ...text, body: '45 days' } }, parties, 3)
    expect(other.status.state).toBe('accepted')
    expect(other.outcome).toBe('accept')
  })

  it('[T6] editing an agreed term reopens it, attributed to the editor, acceptances cleared', () => {
    const agreed = [
      { kind: 'accept', party: 'us', text },
      { kind: 'accept', party: 'ru', text },
    ].reduce<TermStatus>((s, m) => applyMove(s, m as never, parties, 2).status, propose())
    const same = applyMove(agreed, { kind: 'edit', party: 'ru', text }, parties, 3)
    expect(same.outcome).toBe('none')
    const changed = applyMove(agreed, { kind: 'edit', party: 'ru', text: { ...text, body: '45 days' } }, parties, 4)
    expect(changed.outcome).toBe('reopen')
    expect(changed.status).toMatchObject({ state: 'reopened', acceptedBy: {}, updatedBy: 'ru' })
    expect(changed.status.agreedText).toBeUndefined()
  })

  it('[T7] only the proposing party withdraws; a withdrawn term cannot be accepted until reopened', () => {
    const s = propose('us')
    expect(code(() => applyMove(s, { kind: 'withdraw', party: 'ru' }, parties, 2))).toBe('wrong-party')
    const w = applyMove(s, { kind: 'withdraw', party: 'us' }, parties, 2).status
    expect(w.state).toBe('withdrawn')
    expect(code(() => applyMove(w, { kind: 'accept', party: 'ru', text }, parties, 3))).toBe('term-closed')
    const r = applyMove(w, { kind: 'reopen', party: 'ru' }, parties, 4)
    expect(r.status.state).toBe('reopened')
  })

  it('[T8] a term of the opening draft (no proposer) can be rejected but not withdrawn', () => {
    const s = propose(null)
    expect(code(() => applyMove(s, { kind: 'withdraw', party: 'us' }, parties, 2))).toBe('wrong-party')
    expect(applyMove(s, { kind: 'reject', party: 'us' }, parties, 2).status.state).toBe('rejected')
  })

  it('[T9] reject clears acceptances; reopen only from agreed, rejected or withdrawn', () => {
    const acc = applyMove(propose(), { kind: 'accept', party: 'us', text }, parties, 2).status
    const rej = applyMove(acc, { kind: 'reject', party: 'ru' }, parties, 3).status
    expect(rej).toMatchObject({ state: 'rejected', acceptedBy: {}, updatedBy: 'ru' })
    expect(code(() => applyMove(acc, { kind: 'reopen', party: 'ru' }, parties, 4))).toBe('term-open')
    expect(applyMove(rej, { kind: 'reopen', party: 'us' }, parties, 5).status.state).toBe('reopened')
  })

  it('[T10] an agreed term cannot be rejected or withdrawn before it is reopened', () => {
    const agreed = applyMove(
      applyMove(propose(), { kind: 'accept', party: 'us', text }, parties, 2).status,
      { kind: 'accept', party: 'ru', text },
      parties,
      3,
    ).status
    expect(code(() => applyMove(agreed, { kind: 'reject', party: 'ru' }, parties, 4))).toBe('term-closed')
    expect(code(() => applyMove(agreed, { kind: 'withdraw', party: 'us' }, parties, 4))).toBe('term-closed')
    expect(code(() => applyMove(agreed, { kind: 'accept', party: 'us', text }, parties, 4))).toBe('term-closed')
  })

  it('[T11] a move on an unknown term is refused', () => {
    expect(code(() => applyMove(undefined, { kind: 'accept', party: 'us', text }, parties, 1))).toBe('unknown-term')
  })

  it('[T12] availableMoves mirrors the rules for the buttons', () => {
    expect([...availableMoves(propose('us'), 'us')].sort()).toEqual(['accept', 'reject', 'withdraw'])
    expect([...availableMoves(propose('us'), 'ru')].sort()).toEqual(['accept', 'reject'])
    expect([...availableMoves(propose('us'), null)]).toEqual([])
  })
})
