/**
 * What the sync layer knows about the other end of a connection. The auth
 * layer fills it in from the token; the sync layer never parses tokens and
 * knows nothing about negotiations.
 */
import type { Role } from '../../shared/roles'

export type Access = 'read' | 'write'

export interface Peer {
  /** display name recorded in the history */
  user: string
  party: string | null
  role: Role
  /**
   * Identity that owns the Yjs client ids this peer introduces. A reconnect
   * of the same session (same token and name) may keep writing under them;
   * anyone else may not.
   */
  ownerKey: string
  /** negotiators' cursors are relayed; watchers' are not */
  relayAwareness: boolean
  /**
   * the peer's updates are charged against its token's struct budget
   * (PARLEY_RATE_STRUCTS): writers' are; a watcher's writes are refused
   * before they cost anything
   */
  structBudgeted: boolean
  /**
   * Written over the `user` field of every awareness state this peer sends
   * before it is relayed (name, party, role, colour from the token); null
   * or absent relays `user` as sent (token-less development mode).
   */
  awarenessUser?: Readonly<Record<string, unknown>> | null
  /** token id and expiry, for the sweep that closes revoked and expired sessions */
  tokenId: string | null
  expiresAt: number | null
  /** the negotiation the token names, for closing its connections when it is deleted */
  scope: string | null
}
