/** How the way to conclusion reads on screen: hashes shortened as people compare them, times as the record states them. */

/** The first 12 hex digits of a hash: enough to tell packages apart by eye (the whole one is a hover and a copy away). */
export const shortHash = (hash: string): string => hash.slice(0, 12)

import { formatDateTime } from '../i18n/format'

/** "15 Jan 2027, 14:32" for a time in ms. */
export const whenAt = (ms: number): string => formatDateTime(ms)

/** "15 January 2027" for a time in ms. */
export const dayOf = (ms: number): string => formatDateTime(ms, { dateStyle: 'long' })

/** Why acceptances were voided, naming who: "Ann (US) changed the board (United States)". */
export function voidedText(v: { reason: string; user: string; party: string | null }, partyName: (id: string) => string): string {
  const who = v.reason.includes(v.user) ? v.reason : `${v.user}: ${v.reason}`
  return `${who}${v.party ? ` (${partyName(v.party)})` : ''}`
}
