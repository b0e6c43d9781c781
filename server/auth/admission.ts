/**
 * Who may open which document over the y-websocket endpoint: the token is
 * checked before any doc is loaded; the answer is a Peer with read or write
 * access, or the close code of CONTRACT.md (4401 token, 4403 doc, 4404 gone).
 */
import type { IncomingMessage } from 'node:http'
import { CloseCode, tokenFromSubprotocols } from '../../shared/protocol'
import { docAccess, relaysAwareness } from '../../shared/roles'
import { parseDocName } from '../../shared/docNames'
import type { AdmitResult, Admission } from '../sync/endpoint'
import type { Peer } from '../sync/peer'
import type { Revocations } from './revocations'
import type { Claims, TokenService } from './tokens'
import { displayName } from './displayName'
import type { PartyInfo } from '../../shared/negotiation'

export interface NegotiationLookup {
  /** the negotiation's parties (for the colour stamped into awareness), or null when it is gone */
  get(id: string): Promise<{ parties: PartyInfo[] } | null>
}

export class TokenAdmission implements Admission {
  constructor(
    private readonly tokens: TokenService,
    private readonly revocations: Revocations,
    private readonly negotiations: NegotiationLookup,
    private readonly devOpen: boolean,
  ) {}

  /** Verifies a token for any channel: claims, or null when missing, bad, expired or revoked. */
  async claimsOf(token: string | null | undefined): Promise<Claims | null> {
    if (!token) return null
    const claims = await this.tokens.verify(token)
    if (!claims || this.revocations.has(claims.jti)) return null
    return claims
  }

  async admit(req: IncomingMessage, docName: string, query: URLSearchParams): Promise<AdmitResult> {
    const token = query.get('token') ?? tokenFromSubprotocols(headerValue(req.headers['sec-websocket-protocol']))
    if (!token && this.devOpen) return this.admitDevOpen(docName, query)
    const claims = await this.claimsOf(token)
    if (!claims) return { ok: false, code: CloseCode.unauthorized }
    const access = docAccess({ negotiationId: claims.negotiationId, role: claims.role, party: claims.party }, docName)
    if (access === 'none') return { ok: false, code: CloseCode.forbidden }
    const record = await this.negotiations.get(claims.negotiationId)
    if (!record) return { ok: false, code: CloseCode.negotiationGone }
    return { ok: true, access, peer: peerFromClaims(claims, query.get('name'), record.parties) }
  }

  /** PARLEY_DEV_OPEN=1: token-less connections for local experiments; the ledger stays server-only. */
  private admitDevOpen(docName: string, query: URLSearchParams): AdmitResult {
    const user = displayName(query.get('name'))
    const ref = parseDocName(docName)
    const peer: Peer = {
      user,
      party: null,
      role: 'negotiator',
      ownerKey: `dev:${user}`,
      relayAwareness: true,
      structBudgeted: true,
      tokenId: null,
      expiresAt: null,
      scope: ref?.negotiationId ?? null,
    }
    return { ok: true, access: ref?.kind === 'ledger' ? 'read' : 'write', peer }
  }
}

/** Neutral grey of the client's design tokens, for watchers and unknown parties. */
const NEUTRAL_COLOR = '#667080'

export function peerFromClaims(claims: Claims, nameParam: string | null, parties: PartyInfo[] = []): Peer {
  const user = displayName(claims.name ?? nameParam)
  const color = parties.find((p) => p.id === claims.party)?.color ?? NEUTRAL_COLOR
  return {
    user,
    party: claims.party,
    role: claims.role,
    ownerKey: `${claims.jti}:${user}`,
    relayAwareness: relaysAwareness({ negotiationId: claims.negotiationId, role: claims.role, party: claims.party }),
    structBudgeted: claims.role === 'negotiator',
    // `colorLight` is the selection tint y-codemirror.next draws (the client's selectionOf: the colour at 20 %).
    awarenessUser: { name: user, party: claims.party, role: claims.role, color, colorLight: `${color}33` },
    tokenId: claims.jti,
    expiresAt: claims.expiresAt,
    scope: claims.negotiationId,
  }
}

const headerValue = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h.join(',') : h)
