/**
 * Document names (CONTRACT.md table "docName"): `<id>/board`, `<id>/ledger`,
 * `<id>/caucus/<party>`. Negotiation and party ids share one alphabet.
 */

export const ID_PATTERN = /^[a-z0-9-]{1,32}$/

export type DocRef =
  | { negotiationId: string; kind: 'board' }
  | { negotiationId: string; kind: 'ledger' }
  | { negotiationId: string; kind: 'caucus'; party: string }

export function parseDocName(name: string): DocRef | null {
  const parts = name.split('/')
  const [negotiationId, kind, party] = parts
  if (!negotiationId || !ID_PATTERN.test(negotiationId)) return null
  if (parts.length === 2 && (kind === 'board' || kind === 'ledger')) return { negotiationId, kind }
  if (parts.length === 3 && kind === 'caucus' && party && ID_PATTERN.test(party)) {
    return { negotiationId, kind, party }
  }
  return null
}

export const boardDocName = (negotiationId: string) => `${negotiationId}/board`
export const ledgerDocName = (negotiationId: string) => `${negotiationId}/ledger`
export const caucusDocName = (negotiationId: string, party: string) => `${negotiationId}/caucus/${party}`

export function formatDocName(ref: DocRef): string {
  return ref.kind === 'caucus' ? caucusDocName(ref.negotiationId, ref.party) : `${ref.negotiationId}/${ref.kind}`
}
