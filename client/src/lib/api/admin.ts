/**
 * The admin calls of CONTRACT.md ("HTTP API") and what the lobby keeps in
 * this browser: the admin token, and the invite links it issued (the server
 * stores tokens only as ids, so a link can be copied again only from here).
 */
import type { CreateNegotiationInput, MintTokenInput } from '../../../../shared/schemas'
import type { CreatedNegotiation } from '../../../../shared/schemas'
import type { NegotiationRecord } from '../../../../shared/schemas'
import type { Role } from '../../../../shared/roles'
import { tryStorage } from './storage'
import { apiFetch } from './http'

const ADMIN_KEY = 'parley:admin-token'
const LINKS_KEY = 'parley:admin-links'

export interface IssuedLink {
  jti: string
  role: Role
  party: string | null
  link: string
  name: string | null
  createdAt: number
  expiresAt: number | null
  revoked: boolean
}

export type LinkBook = Record<string, IssuedLink[]>

export const adminApi = {
  /** every negotiation, and (by negotiation id) the delegations whose sealed caucus holds rows */
  list: (token: string) =>
    apiFetch<{ negotiations: NegotiationRecord[]; sealedCaucuses?: Record<string, string[]> }>('/api/negotiations', { token }),
  create: (token: string, body: CreateNegotiationInput) => apiFetch<CreatedNegotiation>('/api/negotiations', { token, body }),
  mint: (token: string, negotiationId: string, body: MintTokenInput) =>
    apiFetch<{ token: string; link: string; jti: string }>(`/api/negotiations/${encodeURIComponent(negotiationId)}/tokens`, {
      token,
      body,
    }),
  revoke: (token: string, jti: string) => apiFetch<void>(`/api/tokens/${encodeURIComponent(jti)}`, { token, method: 'DELETE' }),
}

export function loadAdminToken(): string {
  return tryStorage(() => localStorage.getItem(ADMIN_KEY)) ?? ''
}

export function storeAdminToken(token: string | null): void {
  // storage off: the token lasts for this page only
  tryStorage(() => (token ? localStorage.setItem(ADMIN_KEY, token) : localStorage.removeItem(ADMIN_KEY)))
}

export function loadLinks(): LinkBook {
  try {
    const raw = JSON.parse(localStorage.getItem(LINKS_KEY) ?? '{}') as unknown
    return raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as LinkBook) : {}
  } catch {
    return {}
  }
}

export function storeLinks(book: LinkBook): void {
  tryStorage(() => localStorage.setItem(LINKS_KEY, JSON.stringify(book)))
}

/** Reads (does not verify) a token's `jti` and `exp`: the lobby needs them to revoke and to show expiry. */
export function peekToken(token: string): { jti: string | null; exp: number | null } {
  try {
    const part = token.split('.')[1] ?? ''
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    )
    const claims = JSON.parse(json) as { jti?: unknown; exp?: unknown }
    return {
      jti: typeof claims.jti === 'string' ? claims.jti : null,
      exp: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
    }
  } catch {
    return { jti: null, exp: null }
  }
}

export function linksFromCreation(created: CreatedNegotiation): IssuedLink[] {
  const now = Date.now()
  const entry = (role: Role, party: string | null, token: string, link: string): IssuedLink => {
    const { jti, exp } = peekToken(token)
    return {
      jti: jti ?? `${role}-${party ?? ''}-${now}`,
      role,
      party,
      link,
      name: null,
      createdAt: now,
      expiresAt: exp,
      revoked: false,
    }
  }
  return [
    ...created.parties.map((p) => entry('negotiator', p.id, created.tokens.negotiator[p.id]!, created.links.negotiator[p.id]!)),
    entry('observer', null, created.tokens.observer, created.links.observer),
    entry('reviewer', null, created.tokens.reviewer, created.links.reviewer),
  ]
}
