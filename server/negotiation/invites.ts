/**
 * Invites: tokens minted for a negotiation's roles and parties, the links
 * that carry them (in the fragment, which browsers never send), and
 * revocation, which closes the token's sessions on every instance.
 */
import { ErrorCode } from '../../shared/errors'
import type { MintTokenInput, NegotiationRecord } from '../../shared/schemas'
import type { Store } from '../store/types'
import type { TokenService } from '../auth/tokens'
import type { Revocations } from '../auth/revocations'
import { ParleyError } from '../errors'

export class Invites {
  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly revocations: Revocations,
    private readonly baseUrl: () => string,
    private readonly negotiation: (id: string) => Promise<NegotiationRecord | null>,
    private readonly now: () => number,
  ) {}

  async mintToken(negotiationId: string, req: MintTokenInput): Promise<{ token: string; link: string; jti: string }> {
    const record = await this.negotiation(negotiationId)
    if (!record) throw new ParleyError(ErrorCode.notFound.name, 'no such negotiation')
    if (req.party && !record.parties.some((p) => p.id === req.party)) {
      throw new ParleyError(ErrorCode.badRequest.name, `no party "${req.party}" in this negotiation`)
    }
    const { token, claims } = await this.tokens.mint({ negotiationId, ...req })
    await this.store.recordToken({
      jti: claims.jti,
      negotiationId,
      role: claims.role,
      party: claims.party,
      createdAt: this.now(),
      expiresAt: claims.expiresAt,
    })
    return { token, jti: claims.jti, link: this.inviteLink(negotiationId, token) }
  }

  /** The token travels in the fragment, which browsers never send to a server or put in logs. */
  inviteLink(negotiationId: string, token: string): string {
    return `${this.baseUrl()}/n/${negotiationId}#token=${token}`
  }

  async revoke(jti: string): Promise<boolean> {
    const revoked = await this.store.revokeToken(jti, this.now())
    if (revoked) this.revocations.add(jti)
    return revoked
  }
}
