/**
 * Document names (CONTRACT.md table "docName"): `<id>/board`, `<id>/ledger`,
 * `<id>/caucus/<party>`, the sealed caucus `<id>/sealed/<party>` (end-to-end
 * encrypted: shared/sealed.ts), and the comment threads `<id>/comments`
 * (shared) and `<id>/comments/<party>` (a delegation's own). Negotiation and
 * party ids share one alphabet.
 */

export const ID_PATTERN = /^[a-z0-9-]{1,32}$/

export type DocRef =
  | { negotiationId: string; kind: 'board' }
  | { negotiationId: string; kind: 'ledger' }
  | { negotiationId: string; kind: 'caucus'; party: string }
  /** a delegation's sealed caucus: opaque to the server, spoken in shared/sealed.ts's messages, never a Y.Doc there */
  | { negotiationId: string; kind: 'sealed'; party: string }
  /** party null: the shared threads; else that delegation's internal ones */
  | { negotiationId: string; kind: 'comments'; party: string | null }

export function parseDocName(name: string): DocRef | null {
  const parts = name.split('/')
  const [negotiationId, kind, party] = parts
  if (!negotiationId || !ID_PATTERN.test(negotiationId)) return null
  if (parts.length === 2 && (kind === 'board' || kind === 'ledger')) return { negotiationId, kind }
  if (parts.length === 2 && kind === 'comments') return { negotiationId, kind, party: null }
  if (parts.length === 3 && kind === 'comments' && party && ID_PATTERN.test(party)) return { negotiationId, kind, party }
  if (parts.length === 3 && (kind === 'caucus' || kind === 'sealed') && party && ID_PATTERN.test(party)) {
    return { negotiationId, kind, party }
  }
  return null
}

export const boardDocName = (negotiationId: string) => `${negotiationId}/board`
export const ledgerDocName = (negotiationId: string) => `${negotiationId}/ledger`
export const caucusDocName = (negotiationId: string, party: string) => `${negotiationId}/caucus/${party}`
export const sealedDocName = (negotiationId: string, party: string) => `${negotiationId}/sealed/${party}`

/** The shared threads (`party` absent or null) or a delegation's internal ones. */
export const commentsDocName = (negotiationId: string, party?: string | null) =>
  party ? `${negotiationId}/comments/${party}` : `${negotiationId}/comments`

export function formatDocName(ref: DocRef): string {
  if (ref.kind === 'caucus') return caucusDocName(ref.negotiationId, ref.party)
  if (ref.kind === 'sealed') return sealedDocName(ref.negotiationId, ref.party)
  if (ref.kind === 'comments') return commentsDocName(ref.negotiationId, ref.party)
  return `${ref.negotiationId}/${ref.kind}`
}
