/**
 * Party codes and readable ids (issue 18, item 1; shared/partyCodes.ts, server/negotiation/ids.ts):
 *
 * [PC1] a country's name in any UN language suggests its ISO 3166 code (US, RU, AE, CN …);
 * [PC2] any other name suggests the initials of its transliterated words (EU, WTO), a short word or
 *       an acronym itself, a longer word its first three letters; any name at all gives a valid code;
 * [PC3] a code already taken gets a number (US2), within six characters;
 * [PC4] ids made from Cyrillic, Greek and Arabic names are transliterated, readable and contract-valid;
 *       assignParties keeps given ids and codes and suggests the rest, unique, with distinct colours;
 * [PC5] stored parties without codes get them on read: deterministic, unique, valid codes kept;
 * [PC6] the create schema takes an optional code of 2–6 capitals or digits, once per negotiation.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ID_PATTERN } from '../../shared/docNames'
import { PARTY_CODE_PATTERN, PARTY_COLORS, type PartyInfo } from '../../shared/negotiation'
import { countryCode, FALLBACK_CODE, suggestPartyCode, uniqueCode, withPartyCodes } from '../../shared/partyCodes'
import { CreateNegotiationSchema, PartyInputSchema } from '../../shared/schemas'
import { assignParties, slug } from '../../server/negotiation/ids'

describe('party codes', () => {
  it('[PC1] a country named in any UN language suggests its ISO 3166 code', () => {
    const cases: Array<[string, string]> = [
      ['United States', 'US'],
      ['United States of America', 'US'],
      ['Russian Federation', 'RU'],
      ['Российская Федерация', 'RU'],
      ['Россия', 'RU'],
      ['الاتحاد الروسي', 'RU'],
      ['United Arab Emirates', 'AE'],
      ['الإمارات العربية المتحدة', 'AE'],
      ['the Netherlands', 'NL'],
      ['République française', 'FR'],
      ['中华人民共和国', 'CN'],
      ['Côte d’Ivoire', 'CI'],
      ['Moldova, Republic of', 'MD'],
      ['Republic of Moldova', 'MD'],
      ['Russian Federation (Ministry of Justice)', 'RU'],
      ['  united   STATES ', 'US'],
    ]
    for (const [name, code] of cases) expect(suggestPartyCode(name), name).toBe(code)
    expect(countryCode('Northland')).toBeNull()
  })

  it('[PC2] other names suggest initials of their words, transliterated; any name gives a valid code', () => {
    const cases: Array<[string, string]> = [
      ['European Union', 'EU'],
      ['World Trade Organization', 'WTO'],
      ['Organisation of the Islamic Cooperation', 'OIC'],
      ['G77', 'G77'],
      ['ASEAN', 'ASEAN'],
      ['Greenpeace', 'GRE'],
      ['Northland', 'NOR'],
      ['Ελληνική Δημοκρατία', 'ED'],
      ['', FALLBACK_CODE],
      ['!!!', FALLBACK_CODE],
      ['国际组织', FALLBACK_CODE],
    ]
    for (const [name, code] of cases) expect(suggestPartyCode(name), name).toBe(code)
    // nothing usable in the name: the id's initials
    expect(suggestPartyCode('国际组织', [], 'party-2')).toBe('P2')
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.array(fc.stringMatching(/^[A-Z0-9]{2,6}$/), { maxLength: 8 }),
        (name, taken) => {
          const code = suggestPartyCode(name, taken)
          expect(code).toMatch(PARTY_CODE_PATTERN)
          expect(taken).not.toContain(code)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('[PC3] a taken code gets a number, staying within six characters', () => {
    expect(uniqueCode('US', new Set())).toBe('US')
    expect(uniqueCode('US', new Set(['US']))).toBe('US2')
    expect(uniqueCode('US', new Set(['US', 'US2']))).toBe('US3')
    expect(uniqueCode('ASEANX', new Set(['ASEANX']))).toBe('ASEAN2')
    const taken = new Set(['ASEANX', ...Array.from({ length: 8 }, (_, i) => `ASEAN${i + 2}`)])
    expect(uniqueCode('ASEANX', taken)).toBe('ASEA10')
    expect(suggestPartyCode('USA', ['US'])).toBe('US2')
  })
})

describe('readable ids and assigned parties', () => {
  it('[PC4] ids of non-Latin names are transliterated; given ids and codes are kept, the rest suggested', () => {
    expect(slug('Российская Федерация')).toBe('rossiyskaya-federatsiya')
    expect(slug('Ελληνική Δημοκρατία')).toBe('elliniki-dimokratia')
    const arabic = slug('الإمارات العربية المتحدة')
    expect(arabic).toMatch(/^[a-z][a-z0-9-]{3,}$/)
    expect(arabic).not.toBe('party')
    expect(slug('国际组织')).toBe('party')
    for (const name of ['Российская Федерация', 'الإمارات العربية المتحدة', 'Ελληνική Δημοκρατία', 'Côte d’Ivoire'])
      expect(slug(name)).toMatch(ID_PATTERN)

    const parties = assignParties([
      { name: 'United States' },
      { name: 'Российская Федерация' },
      { name: 'الإمارات العربية المتحدة', color: PARTY_COLORS[0] },
      { name: 'USA', id: 'usa', code: 'USA' },
    ])
    expect(parties.map((p) => [p.id, p.code])).toEqual([
      ['united-states', 'US'],
      ['rossiyskaya-federatsiya', 'RU'],
      [arabic, 'AE'],
      ['usa', 'USA'],
    ])
    // The colour chosen for the third is not given to another one by default.
    expect(new Set(parties.map((p) => p.color)).size).toBe(4)
    expect(parties[2]!.color).toBe(PARTY_COLORS[0])
    // A code given later in the list is not suggested to an earlier party.
    expect(assignParties([{ name: 'United States' }, { name: 'Other', code: 'US' }]).map((p) => p.code)).toEqual(['US2', 'US'])
    expect(() =>
      assignParties([
        { name: 'A', code: 'AB' },
        { name: 'B', code: 'AB' },
      ]),
    ).toThrow(/unique/)
  })

  it('[PC5] stored parties without codes get them on read: deterministic, unique, valid ones kept', () => {
    const stored: PartyInfo[] = [
      { id: 'party', name: 'Российская Федерация', color: '#1f5fbf' },
      { id: 'party-2', name: 'Russian Federation', color: '#b3261e' },
      { id: 'us', name: 'United States', color: '#1b7f4b', code: 'RU' },
      { id: 'x', name: 'Xanadu', color: '#8a4bb8', code: 'bad code' },
    ]
    const read = withPartyCodes(stored)
    expect(read.map((p) => p.code)).toEqual(['RU2', 'RU3', 'RU', 'XAN'])
    expect(withPartyCodes(stored)).toEqual(read)
    expect(read.map(({ code: _c, ...rest }) => rest)).toEqual(stored.map(({ code: _c, ...rest }) => rest))
    const complete = read.map((p) => ({ ...p }))
    expect(withPartyCodes(complete)).toBe(complete)
    // a duplicate stored code: the first holder keeps it
    expect(
      withPartyCodes([
        { id: 'a', name: 'Alpha', color: '', code: 'AB' },
        { id: 'b', name: 'Beta', color: '', code: 'AB' },
      ]).map((p) => p.code),
    ).toEqual(['AB', 'BETA'])
  })

  it('[PC6] the create schema takes an optional code of 2–6 capitals or digits, unique in the negotiation', () => {
    expect(PartyInputSchema.safeParse({ name: 'Russia', code: 'RU' }).success).toBe(true)
    expect(PartyInputSchema.safeParse({ name: 'Group', code: 'G77' }).success).toBe(true)
    expect(PartyInputSchema.safeParse({ name: 'Russia' }).success).toBe(true)
    for (const code of ['ru', 'R', 'RUSSIA1', 'R U', 'РУ', ''])
      expect(PartyInputSchema.safeParse({ name: 'Russia', code }).success, code).toBe(false)
    const twice = CreateNegotiationSchema.safeParse({
      title: 'T',
      parties: [
        { name: 'A', code: 'AB' },
        { name: 'B', code: 'AB' },
      ],
    })
    expect(twice.success).toBe(false)
    expect(twice.error!.issues[0]).toMatchObject({ path: ['parties', 1, 'code'], message: 'party code AB is given twice' })
  })
})
