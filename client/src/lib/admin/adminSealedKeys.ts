/**
 * The admin's side of the sealed-caucus keys (CONTRACT.md "Sealed caucus"): the admin makes a
 * delegation's key in this browser (sealedKeys.ts newSealedKeyText), keeps it here under
 * `parley:admin-sealed-key:<negotiationId>:<party>`, and puts it in the fragment of that delegation's
 * negotiator links only. It never goes into a request: the server never sees it. A lost key is a lost
 * caucus, so the admin is offered the key as a file to keep.
 */
import { m } from '../../paraglide/messages'
import type { IssuedLink } from '../api/admin'
import { tryStorage } from '../api/storage'
import { downloadSealedKey, linkWithKey, newSealedKeyText, parseSealedKey } from '../sealed/sealedKeys'

const storageKey = (negotiationId: string, party: string) => `parley:admin-sealed-key:${negotiationId}:${party}`

/** Where storage is disabled (private mode, policy) the key lives as long as this page. */
const memory = new Map<string, string>()

/** The delegation's key kept in this browser, or null if it has none. */
export function adminSealedKey(negotiationId: string, party: string): string | null {
  const name = storageKey(negotiationId, party)
  // storage disabled: the page's memory only
  const key = tryStorage(() => localStorage.getItem(name)) ?? memory.get(name) ?? null
  return key ? parseSealedKey(key) : null
}

/** The keys this browser keeps for the negotiation's delegations, by party id. */
export function adminSealedKeys(negotiationId: string, parties: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const party of parties) {
    const key = adminSealedKey(negotiationId, party)
    if (key) out[party] = key
  }
  return out
}

/**
 * Seals the delegation's caucus: a fresh key made in this browser and kept here. A delegation that
 * has a key keeps it (a second key would shut the first one's caucus to the links that carry it).
 */
export function sealCaucus(negotiationId: string, party: string): string {
  const existing = adminSealedKey(negotiationId, party)
  if (existing) return existing
  const key = newSealedKeyText()
  const name = storageKey(negotiationId, party)
  memory.set(name, key)
  // storage disabled: kept in memory; the dialog says to download it
  tryStorage(() => localStorage.setItem(name, key))
  return key
}

/** The link as it should be handed out: a negotiator link of a sealed delegation carries its key. */
export function linkForHanding(link: IssuedLink, keys: Readonly<Record<string, string>>): { url: string; sealed: boolean } {
  const key = link.role === 'negotiator' && link.party ? keys[link.party] : undefined
  return key ? { url: linkWithKey(link.link, key), sealed: true } : { url: link.link, sealed: false }
}

/** Saves the key as a small text file saying what it is and what losing it means. */
export function downloadAdminSealedKey(opts: { negotiationId: string; party: string; partyName: string; key: string }): void {
  downloadSealedKey({ ...opts, explanation: m.admin_sealed_file_explanation({ party: opts.partyName }) })
}
