/**
 * The headers every HTTP answer carries: pages, static assets, the API,
 * health and metrics, socket.io's polling transport.
 *
 * The Content-Security-Policy is what the built client needs and no more:
 * its scripts and stylesheets are files of this origin (Vite emits no inline
 * script); styles may be inline because Svelte writes `style` attributes and
 * CodeMirror falls back to a <style> element where constructable stylesheets
 * are missing; websockets and fetches go to this origin only ('self' covers
 * ws: and wss: to the same host in CSP Level 3, which every current browser
 * implements — the policy names no host taken from the request). The HTML
 * export, served inline from this origin, is covered too: whatever a
 * delegation typed into it could never run a script.
 *
 * Invite links carry their token in the fragment, which no browser sends, but
 * the path names the negotiation: no Referer leaves a Parley page.
 */
import type { ServerResponse } from 'node:http'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  // frame-ancestors for browsers that predate it
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
}

/** Sets the security headers on a response before anyone writes its head. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
}
