/** Identifiers and defaults for new negotiations, parties and terms. */
import { randomBytes } from 'node:crypto'
import type { PartyInfo } from '../../shared/negotiation'
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

/** Delegation colours: distinct, readable as text on white and as fills (see client/src/design). */
export const PARTY_COLORS = ['#1f5fbf', '#b3261e', '#1b7f4b', '#8a4bb8', '#b35c00', '#00727a', '#a8326f', '#4d5b6a']

function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24)
  return s || 'party'
}

/** Fills in ids (slugs of names, made unique) and colours. */
export function assignParties(input: CreateNegotiationInput['parties']): PartyInfo[] {
  const taken = new Set<string>()
  for (const p of input) if (p.id) taken.add(p.id)
  if (taken.size !== input.filter((p) => p.id).length) throw new Error('party ids must be unique')
  return input.map((p, i) => {
    let id = p.id
    if (!id) {
      const base = slug(p.name)
      id = base
      for (let n = 2; taken.has(id); n++) id = `${base}-${n}`
      taken.add(id)
    }
    return { id, name: p.name, color: p.color ?? PARTY_COLORS[i % PARTY_COLORS.length]! }
  })
}
