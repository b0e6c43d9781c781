/**
 * Invite links carry the capability token in the fragment
 * (`/n/<id>#token=<jwt>`), which browsers never send to a server. On arrival
 * the token moves into this tab's storage and the fragment is cleared from
 * the address bar, so a copied URL or a screenshot does not leak it.
 */
import type { SessionInfo } from '../../../../shared/schemas'
import { displayName } from '../../../../shared/displayName'
import { apiFetch } from './http'
import { tryStorage } from './storage'

const tokenKey = (negotiationId: string) => `parley:token:${negotiationId}`
const NAME_KEY = 'parley:display-name'

/**
 * The token for this negotiation: from the link's fragment first, else the
 * one this tab used before (a reload), else the last one this browser used.
 */
export function takeToken(negotiationId: string): string | null {
  const hash = new URLSearchParams(location.hash.slice(1))
  const fromLink = hash.get('token')
  if (fromLink) {
    remember(negotiationId, fromLink)
    history.replaceState(history.state, '', location.pathname + location.search)
    return fromLink
  }
  return tryStorage(() => sessionStorage.getItem(tokenKey(negotiationId))) ?? tryStorage(() => localStorage.getItem(tokenKey(negotiationId)))
}

function remember(negotiationId: string, token: string): void {
  // sessionStorage keeps two tabs with different roles apart across reloads;
  // localStorage lets the same person reopen /n/<id> later.
  tryStorage(() => sessionStorage.setItem(tokenKey(negotiationId), token))
  tryStorage(() => localStorage.setItem(tokenKey(negotiationId), token))
}

export function forgetToken(negotiationId: string): void {
  tryStorage(() => sessionStorage.removeItem(tokenKey(negotiationId)))
  tryStorage(() => localStorage.removeItem(tokenKey(negotiationId)))
}

export function fetchSession(token: string, signal?: AbortSignal): Promise<SessionInfo> {
  return apiFetch<SessionInfo>('/api/session', { token, signal })
}

export function savedName(): string {
  return tryStorage(() => localStorage.getItem(NAME_KEY))?.trim() ?? ''
}

export function saveName(name: string): void {
  tryStorage(() => localStorage.setItem(NAME_KEY, name.trim()))
}

/**
 * The name as the server will record it — its own rule, imported rather than
 * restated (a pure function) — or '' when nothing was typed.
 */
export function cleanName(raw: string): string {
  return raw.trim() === '' ? '' : displayName(raw)
}
