/**
 * Roles and the rights table of CONTRACT.md ("Parties, roles, tokens").
 * Pure: the server enforces it, the client only mirrors it to hide controls.
 */
import { parseDocName } from './docNames'

export const ROLES = ['negotiator', 'observer', 'reviewer'] as const
export type Role = (typeof ROLES)[number]

export type DocAccess = 'write' | 'read' | 'none'

/** The part of a token the rights table looks at. */
export interface Grant {
  negotiationId: string
  role: Role
  /** set for negotiators only */
  party?: string | null
}

/**
 * What a grant may do with one document. A doc of another negotiation, an
 * unknown doc kind or a caucus of another delegation is `none` — the caller
 * answers all of those with the same 4403, so nothing leaks about existence.
 */
export function docAccess(grant: Grant, docName: string): DocAccess {
  const doc = parseDocName(docName)
  if (!doc || doc.negotiationId !== grant.negotiationId) return 'none'
  switch (doc.kind) {
    case 'board':
      return grant.role === 'negotiator' ? 'write' : 'read'
    case 'ledger':
      return 'read'
    // A sealed caucus has its delegation's caucus rights exactly (CONTRACT.md "Sealed caucus").
    case 'caucus':
    case 'sealed':
      return grant.role === 'negotiator' && grant.party === doc.party ? 'write' : 'none'
    case 'comments':
      // Written by the server only (the comment:* commands), so every comment's author is the token's.
      if (doc.party === null) return 'read'
      return grant.role === 'negotiator' && grant.party === doc.party ? 'read' : 'none'
  }
}

/** Commands over socket.io (term:*, checkpoint:create) are negotiators' only. */
export const mayCommand = (grant: Grant): boolean => grant.role === 'negotiator' && !!grant.party

/** The history API, `version` events and exports: negotiators and reviewers. */
export const mayReadHistory = (grant: Grant): boolean => grant.role === 'negotiator' || grant.role === 'reviewer'

/** Watchers' awareness is not relayed to the board (they appear in `presence`). */
export const relaysAwareness = (grant: Grant): boolean => grant.role === 'negotiator'
