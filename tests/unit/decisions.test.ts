/**
 * The last decision on a term (issue 18, item 3; shared/negotiation.ts TermStatus `decision`,
 * shared/docLayout.ts statusFromMap / writeStatus), as pure functions:
 *
 * [DC1] reject, withdraw and reopen record who decided, when and why; an edit of an agreed text records
 *       a reopen `via: 'edit'` (by nobody when its editor is unknown); an accept or confirm clears it;
 * [DC2] the ledger keeps it as one plain object: written, read back, cleared, not rewritten when
 *       unchanged, and a malformed one is not read.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ledger, readStatus, writeStatus } from '../../shared/docLayout'
import { applyMove, type TermStatus } from '../../shared/negotiation'

const parties = ['us', 'ru']
const text = { title: 'Scope', body: 'Ransomware operators named in a request.' }
const propose = () => applyMove(undefined, { kind: 'propose', party: 'us' }, parties, 1).status

describe('the decision in a term status', () => {
  it('[DC1] reject, withdraw and reopen record it; an accept clears it', () => {
    const rejected = applyMove(
      propose(),
      { kind: 'reject', party: 'ru', user: 'Boris', reason: ' Too broad ' },
      parties,
      10,
    ).status
    expect(rejected).toMatchObject({
      state: 'rejected',
      decision: { kind: 'reject', party: 'ru', user: 'Boris', reason: 'Too broad', at: 10 },
    })
    // an empty reason is none
    expect(
      applyMove(propose(), { kind: 'reject', party: 'ru', user: 'Boris', reason: '  ' }, parties, 10).status.decision,
    ).toEqual({
      kind: 'reject',
      party: 'ru',
      user: 'Boris',
      at: 10,
    })

    const reopened = applyMove(rejected, { kind: 'reopen', party: 'us', user: 'Ann', reason: 'Narrowed' }, parties, 11).status
    expect(reopened.decision).toEqual({ kind: 'reopen', party: 'us', user: 'Ann', reason: 'Narrowed', at: 11 })

    const accepted = applyMove(reopened, { kind: 'accept', party: 'ru', text }, parties, 12).status
    expect(accepted.state).toBe('accepted')
    expect(accepted).not.toHaveProperty('decision')

    const withdrawn = applyMove(accepted, { kind: 'withdraw', party: 'us', user: 'Ann' }, parties, 13).status
    expect(withdrawn.decision).toEqual({ kind: 'withdraw', party: 'us', user: 'Ann', at: 13 })

    // agreed, then the text edited: reopened by the edit's author, via the edit
    let agreed: TermStatus = applyMove(propose(), { kind: 'accept', party: 'us', text }, parties, 20).status
    agreed = applyMove(agreed, { kind: 'accept', party: 'ru', text }, parties, 21).status
    expect(agreed.state).toBe('agreed')
    const edited = { ...text, body: `${text.body} And their accomplices.` }
    const byEdit = applyMove(agreed, { kind: 'edit', party: 'ru', user: 'Boris', text: edited }, parties, 22)
    expect(byEdit.outcome).toBe('reopen')
    expect(byEdit.status.decision).toEqual({ kind: 'reopen', party: 'ru', user: 'Boris', at: 22, via: 'edit' })
    const unseen = applyMove(
      agreed,
      { kind: 'edit', party: '', user: 'Parley', reason: 'its text no longer matches', text: edited },
      parties,
      23,
    )
    expect(unseen.status.decision).toMatchObject({ kind: 'reopen', party: null, via: 'edit' })
    // an edit of a term not agreed decides nothing and keeps the decision there is
    expect(applyMove(rejected, { kind: 'edit', party: 'us', user: 'Ann', text: edited }, parties, 24)).toEqual({
      status: rejected,
      outcome: 'none',
    })

    // ad referendum and confirm are acceptances: they clear it too
    const adRef = applyMove(
      rejected,
      { kind: 'accept', party: 'ru', text, adReferendum: { principal: 'Moscow', user: 'Boris' } },
      parties,
      30,
    ).status
    expect(adRef).not.toHaveProperty('decision')
  })

  it('[DC2] the ledger keeps it as a plain object, read back, cleared, and not rewritten when unchanged', () => {
    const doc = new Y.Doc()
    const rejected = applyMove(propose(), { kind: 'reject', party: 'ru', user: 'Boris', reason: 'Too broad' }, parties, 10).status
    doc.transact(() => writeStatus(doc, 't1', rejected))
    const m = ledger(doc).status.get('t1')!
    expect(m.get('decision')).toEqual(rejected.decision)
    expect(m.get('decision')).not.toBeInstanceOf(Y.AbstractType)
    expect(readStatus(doc, 't1')).toEqual(rejected)

    let updates = 0
    doc.on('update', () => updates++)
    doc.transact(() => writeStatus(doc, 't1', readStatus(doc, 't1')!))
    expect(updates).toBe(0)

    const accepted = applyMove(rejected, { kind: 'accept', party: 'us', text }, parties, 11).status
    doc.transact(() => writeStatus(doc, 't1', accepted))
    expect(m.has('decision')).toBe(false)
    expect(readStatus(doc, 't1')).toEqual(accepted)

    // written by hand, or by a ledger of another shape: not taken for a decision
    for (const bad of [
      { kind: 'agree', party: 'ru', user: 'x', at: 1 },
      { kind: 'reject', party: 5, user: 'x', at: 1 },
      'reject',
      { kind: 'reject' },
    ]) {
      doc.transact(() => m.set('decision', bad))
      expect(readStatus(doc, 't1')).not.toHaveProperty('decision')
    }
  })
})
