/** Identifiers and defaults for new negotiations, parties and terms. */
import { randomBytes } from 'node:crypto'
import { PARTY_COLORS, type PartyInfo } from '../../shared/negotiation'
import { latinOf, suggestPartyCode } from '../../shared/partyCodes'
import type { CreateNegotiationInput } from '../../shared/schemas'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

function randomId(length: number): string {
  const bytes = randomBytes(length)
  let id = ''
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length]
  return id
}

export const newNegotiationId = () => randomId(12)
export const newTermId = () => `t-${randomId(10)}`
/** Ids of comment threads (`th-…`) and comments (`c-…`). */
export const newEntryId = (prefix: 'th' | 'c') => `${prefix}-${randomId(12)}`

export { PARTY_COLORS }

/** An id from a name: in Latin letters (Российская Федерация → rossiyskaya-federatsiya), lower case, dashes. */
export function slug(name: string): string {
  const s = latinOf(name)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24)
  return s || 'party'
}

/**
 * Fills in ids (slugs of names, made unique), codes (suggested from names, shared/partyCodes.ts, made
 * unique; codes given are kept) and colours.
 */
export function assignParties(input: CreateNegotiationInput['parties']): PartyInfo[] {
  const taken = new Set<string>()
  for (const p of input) if (p.id) taken.add(p.id)
  if (taken.size !== input.filter((p) => p.id).length) throw new Error('party ids must be unique')
  // Colours not given: the first of the palette nobody has, in turn (the palette again past eight).
  const chosen = new Set(input.map((p) => p.color?.toLowerCase()).filter(Boolean))
  const free = PARTY_COLORS.filter((c) => !chosen.has(c))
  let nextFree = 0
  const autoColor = (i: number) => free[nextFree++] ?? PARTY_COLORS[i % PARTY_COLORS.length]!
  const codes = new Set<string>()
  for (const p of input) if (p.code) codes.add(p.code)
  if (codes.size !== input.filter((p) => p.code).length) throw new Error('party codes must be unique')
  return input.map((p, i) => {
    let id = p.id
    if (!id) {
      const base = slug(p.name)
      id = base
      for (let n = 2; taken.has(id); n++) id = `${base}-${n}`
      taken.add(id)
    }
    let code = p.code
    if (!code) {
      code = suggestPartyCode(p.name, codes, id)
      codes.add(code)
    }
    return { id, name: p.name, color: p.color ?? autoColor(i), code }
  })
}
