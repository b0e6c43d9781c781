/**
 * Where a delegation's sealed-caucus key lives in a browser (CONTRACT.md
 * "Sealed caucus"): made here (newSealedKeyText), carried only in invite
 * links' fragment (`#token=…&key=…`, which browsers never send), and kept in
 * this browser's storage for that negotiation and delegation. It never goes
 * into a request, a log or the server's store.
 *
 * A link's key is taken from the fragment before the token is (session.ts
 * clears the fragment), and parked for this tab until the session knows which
 * delegation the link is for; then it is kept under `(negotiation, party)`.
 */
import { decodeSealedKey, encodeSealedKey, newSealedKeyBytes } from '../../../../shared/sealedCrypto'
import { saveFile } from '../api/download'
import { tryStorage } from '../api/storage'

const keyOf = (negotiationId: string, party: string) => `parley:sealed-key:${negotiationId}:${party}`
const fromLinkKey = (negotiationId: string) => `parley:sealed-key-from-link:${negotiationId}`

/** A fresh delegation key, as links carry it (base64url of 32 random bytes). */
export function newSealedKeyText(): string {
  return encodeSealedKey(newSealedKeyBytes())
}

/** The key as a link or a person gave it (a bare key, or any text with `key=<key>` in it); null if it is none. */
export function parseSealedKey(text: string): string | null {
  const trimmed = text.trim()
  const inLink = /(?:^|[#&?])key=([A-Za-z0-9_-]{43}=?)(?:$|&)/.exec(trimmed)?.[1]
  const candidate = inLink ?? trimmed
  const raw = decodeSealedKey(candidate)
  return raw ? encodeSealedKey(raw) : null
}

/** Parks the link's `key` for this tab (call before takeToken clears the fragment). */
export function takeKeyFromLink(negotiationId: string): void {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('key')
  const key = fromLink ? parseSealedKey(fromLink) : null
  if (key) tryStorage(() => sessionStorage.setItem(fromLinkKey(negotiationId), key))
}

/**
 * This delegation's key in this browser: the one the link just brought (kept from now on, it replaces
 * an older one), else the one kept before. Null: this browser has none.
 */
export function sealedKeyFor(negotiationId: string, party: string): string | null {
  const parked = tryStorage(() => sessionStorage.getItem(fromLinkKey(negotiationId)))
  if (parked) {
    tryStorage(() => sessionStorage.removeItem(fromLinkKey(negotiationId)))
    keepSealedKey(negotiationId, party, parked)
    return parked
  }
  return tryStorage(() => localStorage.getItem(keyOf(negotiationId, party)))
}

export function keepSealedKey(negotiationId: string, party: string, key: string): void {
  tryStorage(() => localStorage.setItem(keyOf(negotiationId, party), key))
}

/** The link lost its access, or the person asked: the key leaves this browser. */
export function forgetSealedKey(negotiationId: string, party: string): void {
  tryStorage(() => localStorage.removeItem(keyOf(negotiationId, party)))
}

/** An invite link with the key in its fragment (after the token). */
export function linkWithKey(link: string, key: string): string {
  const url = new URL(link, location.href)
  const hash = new URLSearchParams(url.hash.slice(1))
  hash.set('key', key)
  url.hash = hash.toString()
  return url.toString()
}

/** The key as a small text file to keep somewhere safe: what it is, whose, and what losing it means. */
function keyFile(opts: { negotiation: string; party: string; key: string; explanation: string }): Blob {
  const text = [opts.explanation, '', `negotiation: ${opts.negotiation}`, `delegation: ${opts.party}`, `key: ${opts.key}`, ''].join('\n')
  return new Blob([text], { type: 'text/plain;charset=utf-8' })
}

const sealedKeyFilename = (negotiationId: string, party: string): string => `${negotiationId}-${party}-sealed-key.txt`

/** Saves the key as that file (named by the negotiation's and the delegation's ids). */
export function downloadSealedKey(opts: { negotiationId: string; party: string; key: string; explanation: string }): void {
  saveFile({
    blob: keyFile({ negotiation: opts.negotiationId, party: opts.party, key: opts.key, explanation: opts.explanation }),
    filename: sealedKeyFilename(opts.negotiationId, opts.party),
  })
}
