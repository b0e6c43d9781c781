/**
 * How a negotiation ends, as pure functions (issue 17; CONTRACT.md "Concluding a negotiation"):
 * acceptances ad referendum and their confirmation (shared/negotiation.ts), the package, its hash,
 * acceptances and initials (shared/conclusion.ts), and the ledger fields that carry them, read and
 * written through real Yjs docs (shared/docLayout.ts). The hashes are computed here again with
 * node:crypto, not with the code under test.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  acceptPackage,
  currentInitials,
  initialPackage,
  packageAgreed,
  packageHashOf,
  packageTermIds,
  settledPackage,
  voidsAcceptances,
  type Initials,
  type PackageState,
} from '../../shared/conclusion'
import {
  bracketsOf,
  isConcluded,
  ledger,
  readConclusion,
  readStatus,
  statusFromMap,
  writeBrackets,
  writeConclusion,
  writeStatus,
} from '../../shared/docLayout'
import {
  applyMove,
  overdueAdReferendum,
  termHash,
  TermRuleError,
  type TermMove,
  type TermStatus,
  type TermText,
} from '../../shared/negotiation'

const parties = ['us', 'ru']
const text: TermText = { title: 'Response deadline', body: 'Requests are answered within 45 days.' }
const changed: TermText = { ...text, body: 'Requests are answered within 60 days.' }
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')
const hashOf = (t: TermText) => sha256(`${t.title}\n${t.body}`)
const adRef = (principal = 'Moscow', until?: string) => ({ principal, ...(until ? { until } : {}), user: 'Boris (RU)' })

/** The error code a call throws ('no error' when it does not). */
const code = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    if (err instanceof TermRuleError) return err.code
    throw err
  }
  return 'no error'
}

const proposed = (by: string | null = 'us'): TermStatus => applyMove(undefined, { kind: 'propose', party: by }, parties, 1).status
/** Plays moves from a fresh proposal by `us`; the clock is the move's place. */
const play = (moves: TermMove[], from: TermStatus = proposed()): TermStatus =>
  moves.reduce((s, m, i) => applyMove(s, m, parties, 10 + i).status, from)
const agreedOn = (t: TermText): TermStatus =>
  play([
    { kind: 'accept', party: 'us', text: t },
    { kind: 'accept', party: 'ru', text: t },
  ])

describe('acceptances ad referendum (shared/negotiation.ts)', () => {
  it('[CM1] an acceptance ad referendum is recorded but does not count until the same party confirms it', () => {
    const usAccepts = play([{ kind: 'accept', party: 'us', text }])
    const pending = applyMove(
      usAccepts,
      { kind: 'accept', party: 'ru', text, adReferendum: adRef('Moscow', '2027-01-15') },
      parties,
      20,
    )
    expect(pending.outcome).toBe('accept')
    expect(pending.status.state).toBe('accepted')
    expect(pending.status.acceptedBy).toEqual({ us: hashOf(text) })
    expect(pending.status.adReferendum).toEqual({
      ru: { principal: 'Moscow', until: '2027-01-15', hash: hashOf(text), at: 20, user: 'Boris (RU)' },
    })
    expect(pending.status.agreedHash).toBeUndefined()

    // Only the party that accepted ad referendum confirms; its confirmation completes the set.
    expect(code(() => applyMove(pending.status, { kind: 'confirm', party: 'us', text }, parties, 21))).toBe('nothing-to-confirm')
    const confirmed = applyMove(pending.status, { kind: 'confirm', party: 'ru', text }, parties, 22)
    expect(confirmed.outcome).toBe('agree')
    expect(confirmed.status).toMatchObject({
      state: 'agreed',
      acceptedBy: { us: hashOf(text), ru: hashOf(text) },
      agreedHash: hashOf(text),
      agreedText: `${text.title}\n${text.body}`,
      updatedBy: 'ru',
    })
    expect(confirmed.status.adReferendum).toBeUndefined()

    // Confirmed first, accepted by the other after: 'confirm', then the other's accept agrees.
    const first = play([{ kind: 'accept', party: 'ru', text, adReferendum: adRef() }])
    const alone = applyMove(first, { kind: 'confirm', party: 'ru', text }, parties, 30)
    expect(alone.outcome).toBe('confirm')
    expect(alone.status).toMatchObject({ state: 'accepted', acceptedBy: { ru: hashOf(text) } })
    expect(alone.status.adReferendum).toBeUndefined()
    expect(applyMove(alone.status, { kind: 'accept', party: 'us', text }, parties, 31).outcome).toBe('agree')
  })

  it('[CM1] an acceptance ad referendum by every party agrees nothing until the last one confirms', () => {
    const both = play([
      { kind: 'accept', party: 'us', text, adReferendum: adRef('Washington') },
      { kind: 'accept', party: 'ru', text, adReferendum: adRef('Moscow') },
    ])
    expect(both.state).toBe('accepted')
    expect(both.acceptedBy).toEqual({})
    expect(Object.keys(both.adReferendum!).sort()).toEqual(['ru', 'us'])
    const one = applyMove(both, { kind: 'confirm', party: 'us', text }, parties, 40)
    expect(one.status.state).toBe('accepted')
    expect(Object.keys(one.status.adReferendum!)).toEqual(['ru'])
    expect(applyMove(one.status, { kind: 'confirm', party: 'ru', text }, parties, 41).status.state).toBe('agreed')
  })

  it('[CM2] a confirmation after the text changed is refused (text-changed), and the acceptance stays pending', () => {
    const pending = play([
      { kind: 'accept', party: 'us', text },
      { kind: 'accept', party: 'ru', text, adReferendum: adRef() },
    ])
    expect(code(() => applyMove(pending, { kind: 'confirm', party: 'ru', text: changed }, parties, 50))).toBe('text-changed')
    // Nothing was changed by the refusal (applyMove is pure): the old text still confirms.
    expect(pending.adReferendum!.ru!.hash).toBe(hashOf(text))
    expect(applyMove(pending, { kind: 'confirm', party: 'ru', text }, parties, 51).status.state).toBe('agreed')
    // A confirmation of a term with nothing pending, or an unknown term.
    expect(code(() => applyMove(proposed(), { kind: 'confirm', party: 'ru', text }, parties, 52))).toBe('nothing-to-confirm')
    expect(code(() => applyMove(undefined, { kind: 'confirm', party: 'ru', text }, parties, 53))).toBe('unknown-term')
  })

  it('[CM3] an accept replaces the party’s pending acceptance ad referendum; another party’s stays', () => {
    const usPending = play([{ kind: 'accept', party: 'us', text, adReferendum: adRef('Washington') }])
    const ruPending = applyMove(
      usPending,
      { kind: 'accept', party: 'ru', text, adReferendum: adRef('Moscow', '2027-02-01') },
      parties,
      60,
    ).status
    // A plain accept by RU: bound now, its ad referendum gone; the US one untouched.
    const ruPlain = applyMove(ruPending, { kind: 'accept', party: 'ru', text }, parties, 61).status
    expect(ruPlain.acceptedBy).toEqual({ ru: hashOf(text) })
    expect(Object.keys(ruPlain.adReferendum!)).toEqual(['us'])
    // A new acceptance ad referendum (of another text, to another principal) replaces the old one…
    const again = applyMove(
      ruPending,
      { kind: 'accept', party: 'ru', text: changed, adReferendum: adRef('The Duma') },
      parties,
      62,
    ).status
    expect(again.adReferendum!.ru).toEqual({ principal: 'The Duma', hash: hashOf(changed), at: 62, user: 'Boris (RU)' })
    expect(again.adReferendum!.us!.principal).toBe('Washington')
    // …and a plain acceptance turned into one ad referendum is no longer binding.
    const bound = play([{ kind: 'accept', party: 'ru', text }])
    const unbound = applyMove(bound, { kind: 'accept', party: 'ru', text, adReferendum: adRef() }, parties, 63).status
    expect(unbound.acceptedBy).toEqual({})
    expect(unbound.adReferendum!.ru!.hash).toBe(hashOf(text))
  })

  it('[CM4] reject, withdraw and reopen clear every pending acceptance ad referendum', () => {
    const pending = play([
      { kind: 'accept', party: 'us', text, adReferendum: adRef('Washington') },
      { kind: 'accept', party: 'ru', text, adReferendum: adRef('Moscow') },
    ])
    const rejected = applyMove(pending, { kind: 'reject', party: 'ru' }, parties, 70).status
    expect(rejected).toMatchObject({ state: 'rejected', acceptedBy: {} })
    expect(rejected.adReferendum).toBeUndefined()
    expect(code(() => applyMove(rejected, { kind: 'confirm', party: 'us', text }, parties, 71))).toBe('nothing-to-confirm')
    const withdrawn = applyMove(pending, { kind: 'withdraw', party: 'us' }, parties, 72).status
    expect(withdrawn.state).toBe('withdrawn')
    expect(withdrawn.adReferendum).toBeUndefined()
    // A closed term that (written by an older server, say) still carries one: reopening clears it too.
    const stale: TermStatus = { ...rejected, adReferendum: pending.adReferendum }
    const reopened = applyMove(stale, { kind: 'reopen', party: 'us' }, parties, 73).status
    expect(reopened.state).toBe('reopened')
    expect(reopened.adReferendum).toBeUndefined()
    // An edit of an open term changes nothing, pending acceptances included (confirm then says text-changed).
    expect(applyMove(pending, { kind: 'edit', party: 'us', text: changed }, parties, 74)).toEqual({
      status: pending,
      outcome: 'none',
    })
  })

  it('[CM5] overdueAdReferendum lists the parties whose date passed unconfirmed', () => {
    const s = play([
      { kind: 'accept', party: 'us', text, adReferendum: adRef('Washington', '2027-01-10') },
      { kind: 'accept', party: 'ru', text, adReferendum: adRef('Moscow') },
    ])
    expect(overdueAdReferendum(s, '2027-01-09')).toEqual([])
    expect(overdueAdReferendum(s, '2027-01-10')).toEqual([]) // due today is not overdue
    expect(overdueAdReferendum(s, '2027-01-11')).toEqual(['us'])
    expect(overdueAdReferendum(s, '2099-12-31')).toEqual(['us']) // no date: never overdue
    expect(overdueAdReferendum(undefined, '2027-01-11')).toEqual([])
    expect(overdueAdReferendum(proposed(), '2027-01-11')).toEqual([])
    // Confirmed, it is no longer anyone's to flag.
    expect(overdueAdReferendum(applyMove(s, { kind: 'confirm', party: 'us', text }, parties, 80).status, '2027-01-11')).toEqual(
      [],
    )
  })
})

describe('the package (shared/conclusion.ts)', () => {
  const t1: TermText = { title: 'Scope', body: 'Ransomware operators named in a request.' }
  const t2 = text
  const t3: TermText = { title: 'Поправка', body: 'Срок ответа — 45 дней.' }
  const agreed = new Map<string, TermStatus>([
    ['t1', agreedOn(t1)],
    ['t2', agreedOn(t2)],
    ['t3', agreedOn(t3)],
  ])
  const withStatus = (id: string, s: TermStatus) => new Map([...agreed, [id, s]])

  it('[CM6] is SHA-256 of the agreed terms’ hashes in board order, one per line', () => {
    const expected = sha256([hashOf(t1), hashOf(t2), hashOf(t3)].join('\n'))
    expect(packageHashOf(['t1', 't2', 't3'], agreed)).toBe(expected)
    // One term: its hash alone, no trailing newline.
    expect(packageHashOf(['t2'], new Map([['t2', agreedOn(t2)]]))).toBe(sha256(hashOf(t2)))
    expect(packageTermIds(['t1', 't2', 't3'], agreed)).toEqual(['t1', 't2', 't3'])
  })

  it('[CM6] board order matters: the same terms in another order make another package', () => {
    const reordered = packageHashOf(['t3', 't1', 't2'], agreed)
    expect(reordered).toBe(sha256([hashOf(t3), hashOf(t1), hashOf(t2)].join('\n')))
    expect(reordered).not.toBe(packageHashOf(['t1', 't2', 't3'], agreed))
    // Ids in the order with no status, or no agreement, add nothing.
    expect(packageHashOf(['t1', 'ghost', 't2', 't3'], agreed)).toBe(packageHashOf(['t1', 't2', 't3'], agreed))
  })

  it('[CM6] no package while any term is open, nor when none is agreed', () => {
    const order = ['t1', 't2', 't3']
    expect(packageHashOf(order, withStatus('t2', proposed()))).toBeNull()
    expect(packageHashOf(order, withStatus('t2', play([{ kind: 'accept', party: 'us', text: t2 }])))).toBeNull()
    expect(
      packageHashOf(order, withStatus('t2', play([{ kind: 'accept', party: 'ru', text: t2, adReferendum: adRef() }]))),
    ).toBeNull()
    const reopened = applyMove(agreedOn(t2), { kind: 'reopen', party: 'ru' }, parties, 90).status
    expect(packageHashOf(order, withStatus('t2', reopened))).toBeNull()
    // An open term counts even when it is not (or no longer) on the board's order.
    expect(packageHashOf(order, withStatus('t9', proposed()))).toBeNull()
    const rejected = play([{ kind: 'reject', party: 'ru' }])
    const withdrawn = play([{ kind: 'withdraw', party: 'us' }])
    const closedOnly = new Map([
      ['t1', rejected],
      ['t2', withdrawn],
    ])
    expect(packageHashOf(['t1', 't2'], closedOnly)).toBeNull()
    expect(packageHashOf([], new Map())).toBeNull()
  })

  it('[CM6] withdrawn and rejected terms are left out of the package', () => {
    const s = withStatus('t2', play([{ kind: 'reject', party: 'ru' }]))
    s.set('t4', play([{ kind: 'withdraw', party: 'us' }]))
    expect(packageHashOf(['t1', 't2', 't3', 't4'], s)).toBe(sha256([hashOf(t1), hashOf(t3)].join('\n')))
    expect(packageTermIds(['t1', 't2', 't3', 't4'], s)).toEqual(['t1', 't3'])
  })

  it('[CM7] settledPackage keeps the acceptances while the hash is the same, and drops them when it changes', () => {
    const pkg: PackageState = { hash: 'h1', acceptedBy: { us: 'h1' } }
    expect(settledPackage(pkg, 'h1')).toBe(pkg) // the very same object: nothing to write
    expect(settledPackage(pkg, 'h2')).toEqual({ hash: 'h2', acceptedBy: {} })
    expect(settledPackage(pkg, null)).toBeNull()
    expect(settledPackage(null, 'h1')).toEqual({ hash: 'h1', acceptedBy: {} })
    expect(settledPackage(null, null)).toBeNull()
    // …and says when that takes acceptances away.
    expect(voidsAcceptances(pkg, settledPackage(pkg, 'h1'))).toBe(false)
    expect(voidsAcceptances(pkg, settledPackage(pkg, 'h2'))).toBe(true)
    expect(voidsAcceptances(pkg, null)).toBe(true)
    expect(voidsAcceptances(pkg, { hash: 'h1', acceptedBy: {} })).toBe(true)
    expect(voidsAcceptances({ hash: 'h1', acceptedBy: {} }, null)).toBe(false)
    expect(voidsAcceptances(null, { hash: 'h1', acceptedBy: {} })).toBe(false)
  })

  it('[CM8] acceptPackage: refused with no package (package-open), of a stale hash (text-changed), twice (term-closed)', () => {
    expect(code(() => acceptPackage(null, 'us', undefined))).toBe('package-open')
    const pkg: PackageState = { hash: 'h1', acceptedBy: {} }
    expect(code(() => acceptPackage(pkg, 'us', 'h0'))).toBe('text-changed')
    const us = acceptPackage(pkg, 'us', 'h1')
    expect(us).toEqual({ hash: 'h1', acceptedBy: { us: 'h1' } })
    expect(pkg.acceptedBy).toEqual({}) // not mutated
    expect(code(() => acceptPackage(us, 'us', 'h1'))).toBe('term-closed')
    expect(code(() => acceptPackage(us, 'us', undefined))).toBe('term-closed')
    const both = acceptPackage(us, 'ru', undefined) // without a hash seen: the current one
    expect(both.acceptedBy).toEqual({ us: 'h1', ru: 'h1' })
    expect(packageAgreed(us, parties)).toBe(false)
    expect(packageAgreed(both, parties)).toBe(true)
    expect(packageAgreed(both, [])).toBe(false)
    // An acceptance of an earlier hash binds to nothing now: the party accepts again.
    const stale: PackageState = { hash: 'h2', acceptedBy: { us: 'h1', ru: 'h2' } }
    expect(packageAgreed(stale, parties)).toBe(false)
    expect(acceptPackage(stale, 'us', 'h2').acceptedBy).toEqual({ us: 'h2', ru: 'h2' })
  })

  const by = (user: string, at: number) => ({ user, at })

  it('[CM9] initialling is refused before every party accepted the same hash', () => {
    expect(code(() => initialPackage(null, {}, parties, 'us', by('Ann', 1)))).toBe('package-open')
    const none: PackageState = { hash: 'h1', acceptedBy: {} }
    expect(code(() => initialPackage(none, {}, parties, 'us', by('Ann', 1)))).toBe('package-open')
    const one: PackageState = { hash: 'h1', acceptedBy: { us: 'h1' } }
    expect(code(() => initialPackage(one, {}, parties, 'us', by('Ann', 1)))).toBe('package-open')
    expect(code(() => initialPackage(one, {}, parties, 'ru', by('Boris', 1)))).toBe('package-open')
    const mixed: PackageState = { hash: 'h2', acceptedBy: { us: 'h2', ru: 'h1' } }
    expect(code(() => initialPackage(mixed, {}, parties, 'us', by('Ann', 1)))).toBe('package-open')
  })

  it('[CM10] the last initial concludes; an initial twice is refused', () => {
    const pkg: PackageState = { hash: 'h1', acceptedBy: { us: 'h1', ru: 'h1' } }
    const first = initialPackage(pkg, {}, parties, 'us', by('Ann', 100))
    expect(first).toEqual({ initials: { us: { user: 'Ann', at: 100, hash: 'h1' } }, concluded: null })
    expect(code(() => initialPackage(pkg, first.initials, parties, 'us', by('Ann again', 101)))).toBe('term-closed')
    const last = initialPackage(pkg, first.initials, parties, 'ru', by('Boris', 102))
    expect(last.concluded).toEqual({ at: 102, hash: 'h1' })
    expect(last.initials).toEqual({
      us: { user: 'Ann', at: 100, hash: 'h1' },
      ru: { user: 'Boris', at: 102, hash: 'h1' },
    })
    // Three parties: the second of three concludes nothing.
    const three = ['us', 'ru', 'eu']
    const p3: PackageState = { hash: 'h1', acceptedBy: { us: 'h1', ru: 'h1', eu: 'h1' } }
    const a = initialPackage(p3, {}, three, 'eu', by('Eva', 1))
    const b = initialPackage(p3, a.initials, three, 'us', by('Ann', 2))
    expect(b.concluded).toBeNull()
    expect(initialPackage(p3, b.initials, three, 'ru', by('Boris', 3)).concluded).toEqual({ at: 3, hash: 'h1' })
  })

  it('[CM11] initials of an earlier package hash do not count', () => {
    const old: Initials = { ru: { user: 'Boris', at: 50, hash: 'h1' } }
    const pkg: PackageState = { hash: 'h2', acceptedBy: { us: 'h2', ru: 'h2' } }
    const us = initialPackage(pkg, old, parties, 'us', by('Ann', 100))
    expect(us.concluded).toBeNull()
    expect(us.initials).toEqual({ us: { user: 'Ann', at: 100, hash: 'h2' } }) // RU's old initial is dropped
    // RU initials again, this time of h2: that concludes (an old initial is no 'twice').
    const ru = initialPackage(pkg, us.initials, parties, 'ru', by('Boris', 101))
    expect(ru.concluded).toEqual({ at: 101, hash: 'h2' })
    // Even if the caller hands in the old ones, they are not counted towards conclusion.
    expect(
      initialPackage(pkg, { ...old, eu: { user: 'x', at: 1, hash: 'h1' } }, parties, 'us', by('Ann', 1)).concluded,
    ).toBeNull()
    expect(currentInitials({ ...old, us: { user: 'Ann', at: 2, hash: 'h2' } }, 'h2')).toEqual({
      us: { user: 'Ann', at: 2, hash: 'h2' },
    })
    expect(currentInitials(old, undefined)).toEqual({})
  })
})

describe('the ledger’s fields, through real Yjs docs (shared/docLayout.ts)', () => {
  /** A fresh doc holding everything `doc` holds, as another replica would read it. */
  const replica = (doc: Y.Doc): Y.Doc => {
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    return copy
  }
  /** How many updates `change` emitted (0: it wrote nothing). */
  const updatesOf = (doc: Y.Doc, change: () => void): number => {
    let n = 0
    const count = () => n++
    doc.on('update', count)
    doc.transact(change)
    doc.off('update', count)
    return n
  }

  it('[CM12] writeStatus / statusFromMap round-trip brackets and acceptances ad referendum', () => {
    const doc = new Y.Doc()
    const pending: TermStatus = {
      ...play([
        { kind: 'accept', party: 'us', text },
        { kind: 'accept', party: 'ru', text, adReferendum: adRef('Moscow', '2027-01-15') },
      ]),
      brackets: 2,
    }
    doc.transact(() => writeStatus(doc, 't1', pending))
    expect(readStatus(replica(doc), 't1')).toEqual(pending)
    expect(statusFromMap(ledger(replica(doc)).status.get('t1')!)).toEqual(pending)
    expect(bracketsOf(replica(doc), 't1')).toBe(2)
    // The same status again writes nothing (adReferendum is compared by content).
    expect(updatesOf(doc, () => writeStatus(doc, 't1', structuredClone(pending)))).toBe(0)

    // Confirmed and agreed: the ad referendum and the brackets leave the map.
    const agreedStatus = applyMove(pending, { kind: 'confirm', party: 'ru', text }, parties, 99).status
    const { brackets: _b, ...withoutBrackets } = agreedStatus
    doc.transact(() => writeStatus(doc, 't1', withoutBrackets))
    const m = ledger(replica(doc)).status.get('t1')!
    expect(m.has('adReferendum')).toBe(false)
    expect(m.has('brackets')).toBe(false)
    expect(readStatus(replica(doc), 't1')).toEqual(withoutBrackets)
    expect(readStatus(replica(doc), 'nothing')).toBeUndefined()
  })

  it('[CM12] writeBrackets sets and clears a term’s count, and only for a term the ledger knows', () => {
    const doc = new Y.Doc()
    doc.transact(() => writeStatus(doc, 't1', proposed()))
    doc.transact(() => writeBrackets(doc, 't1', 3))
    expect(bracketsOf(replica(doc), 't1')).toBe(3)
    expect(readStatus(replica(doc), 't1')!.brackets).toBe(3)
    expect(updatesOf(doc, () => writeBrackets(doc, 't1', 3))).toBe(0)
    doc.transact(() => writeBrackets(doc, 't1', 0))
    expect(ledger(replica(doc)).status.get('t1')!.has('brackets')).toBe(false)
    expect(readStatus(replica(doc), 't1')!.brackets).toBeUndefined()
    expect(updatesOf(doc, () => writeBrackets(doc, 't1', 0))).toBe(0)
    expect(updatesOf(doc, () => writeBrackets(doc, 'unknown', 2))).toBe(0)
    expect(bracketsOf(doc, 'unknown')).toBe(0)
  })

  it('[CM13] writeConclusion / readConclusion round-trip the package, initials, voiding and conclusion', () => {
    const doc = new Y.Doc()
    expect(readConclusion(doc)).toEqual({ package: null, initials: {}, concluded: null, voided: null })
    expect(isConcluded(doc)).toBe(false)

    const pkg: PackageState = { hash: 'a'.repeat(64), acceptedBy: { us: 'a'.repeat(64), ru: 'a'.repeat(64) } }
    const initials: Initials = { us: { user: 'Ann (US)', at: 1000, hash: pkg.hash } }
    const voided = { at: 900, party: 'ru', user: 'Boris (RU)', reason: 'Boris (RU) edited the text' }
    doc.transact(() => writeConclusion(doc, { package: pkg, initials, voided }))
    expect(readConclusion(replica(doc))).toEqual({ package: pkg, initials, concluded: null, voided })
    // Stored under meta's own keys (packageVoided for the voiding), next to the title and parties.
    expect([...ledger(doc).meta.keys()].sort()).toEqual(['initials', 'package', 'packageVoided'])
    // Writing what is there writes nothing; a field left out is left alone.
    expect(
      updatesOf(doc, () => writeConclusion(doc, { package: structuredClone(pkg), initials: structuredClone(initials) })),
    ).toBe(0)
    const concluded = { at: 2000, hash: pkg.hash }
    doc.transact(() => writeConclusion(doc, { concluded }))
    const read = readConclusion(replica(doc))
    expect(read).toEqual({ package: pkg, initials, concluded, voided })
    expect(isConcluded(replica(doc))).toBe(true)

    // Empty initials and a null package take their keys away.
    const other = new Y.Doc()
    other.transact(() => writeConclusion(other, { package: pkg, initials }))
    other.transact(() => writeConclusion(other, { package: null, initials: {} }))
    expect([...ledger(other).meta.keys()]).toEqual([])
    expect(readConclusion(replica(other))).toEqual({ package: null, initials: {}, concluded: null, voided: null })
  })
})
