/**
 * Capability tokens: HS256 JWTs (jose) signed with PARLEY_SECRET that name
 * one negotiation and one role (and a party for negotiators). Parley's claims
 * are `neg`, `role`, `party`, `name`; `jti` identifies a token for revocation.
 */
import { randomUUID, createHash, timingSafeEqual } from 'node:crypto'
import { SignJWT, jwtVerify, errors } from 'jose'
import { z } from 'zod'
import { ROLES, type Role } from '../../shared/roles'
import { ID_PATTERN } from '../../shared/docNames'

const ClaimsSchema = z.object({
  neg: z.string().regex(ID_PATTERN),
  role: z.enum(ROLES),
  party: z.string().regex(ID_PATTERN).optional(),
  name: z.string().max(64).optional(),
  jti: z.string().min(1).max(64),
  exp: z.number().optional(),
})

export interface Claims {
  negotiationId: string
  role: Role
  party: string | null
  name: string | null
  jti: string
  /** ms since the epoch, or null for no expiry */
  expiresAt: number | null
}

export interface MintRequest {
  negotiationId: string
  role: Role
  party?: string | null
  name?: string
  /** seconds */
  expiresIn?: number
}

export class TokenService {
  private readonly key: Uint8Array

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret)
  }

  async mint(req: MintRequest): Promise<{ token: string; claims: Claims }> {
    const jti = randomUUID()
    const payload: Record<string, unknown> = { neg: req.negotiationId, role: req.role }
    if (req.party) payload.party = req.party
    if (req.name) payload.name = req.name
    let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setJti(jti).setIssuedAt()
    const expiresAt = req.expiresIn ? Date.now() + req.expiresIn * 1000 : null
    if (expiresAt) jwt = jwt.setExpirationTime(Math.floor(expiresAt / 1000))
    const token = await jwt.sign(this.key)
    return {
      token,
      claims: {
        negotiationId: req.negotiationId,
        role: req.role,
        party: req.party ?? null,
        name: req.name ?? null,
        jti,
        expiresAt: expiresAt ? Math.floor(expiresAt / 1000) * 1000 : null,
      },
    }
  }

  /** The token's claims, or null for anything not a valid, unexpired Parley token. */
  async verify(token: string): Promise<Claims | null> {
    if (token.length > 4096) return null
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] })
      const c = ClaimsSchema.safeParse(payload)
      if (!c.success) return null
      if (c.data.role === 'negotiator' && !c.data.party) return null
      return {
        negotiationId: c.data.neg,
        role: c.data.role,
        party: c.data.role === 'negotiator' ? c.data.party! : null,
        name: c.data.name ?? null,
        jti: c.data.jti,
        expiresAt: c.data.exp ? c.data.exp * 1000 : null,
      }
    } catch (err) {
      if (err instanceof errors.JOSEError) return null
      throw err
    }
  }
}

/** Constant-time comparison of a presented admin token with the real one. */
export function adminTokenMatches(presented: string | undefined, actual: string): boolean {
  if (!presented) return false
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(actual).digest()
  return timingSafeEqual(a, b)
}
