/**
 * What a term's status means on screen: the state's label, and for each
 * delegation whether it accepted this exact text, an earlier text, or not yet.
 * The hash rule is shared/negotiation.ts's `termHash` (what the server checks).
 */
import { termHash, type TermState, type TermStatus, type TermText } from '../../../../shared/negotiation'
import type { PartyStyle } from '../design/colors'
import type { IconName } from '../design/icons'
import type { AdReferendumView } from './adReferendum.svelte'

export const STATE_LABEL: Record<TermState, string> = {
  proposed: 'Proposed',
  accepted: 'Partly accepted',
  agreed: 'Agreed',
  rejected: 'Rejected',
  withdrawn: 'Withdrawn',
  reopened: 'Reopened',
}

export const STATE_ICON: Record<TermState, IconName> = {
  proposed: 'clockCircle',
  accepted: 'checkCircle',
  agreed: 'lock',
  rejected: 'reject',
  withdrawn: 'withdraw',
  reopened: 'reopen',
}

/** `ad-referendum`: accepted subject to a principal's confirmation — recorded, not yet binding. */
export type AcceptanceState = 'current' | 'stale' | 'ad-referendum' | 'none'

export interface Acceptance {
  party: PartyStyle
  state: AcceptanceState
  /** with `ad-referendum`: subject to whom, by when */
  adReferendum?: AdReferendumView
}

const hashCache = new Map<string, string>()

/** termHash with a small cache: cards ask on every render. */
export function hashOf(text: TermText): string {
  const key = `${text.title}\n${text.body}`
  let h = hashCache.get(key)
  if (h === undefined) {
    h = termHash(text)
    if (hashCache.size > 500) hashCache.clear()
    hashCache.set(key, h)
  }
  return h
}

/**
 * Each delegation's acceptance of the text as it stands. `today` (YYYY-MM-DD) flags acceptances
 * ad referendum whose date passed unconfirmed (shared/negotiation.ts overdueAdReferendum's rule).
 */
export function acceptancesOf(
  status: TermStatus | undefined,
  text: TermText,
  parties: Iterable<PartyStyle>,
  today = '',
): Acceptance[] {
  const current = hashOf(text)
  const out: Acceptance[] = []
  for (const party of parties) {
    const h = status?.acceptedBy[party.id]
    const a = status?.adReferendum?.[party.id]
    if (h === undefined && a) {
      const { principal, until, user, at } = a
      const adReferendum: AdReferendumView = {
        principal,
        ...(until ? { until } : {}),
        user,
        at,
        current: a.hash === current,
        overdue: until !== undefined && today !== '' && until < today,
      }
      out.push({ party, state: 'ad-referendum', adReferendum })
    } else out.push({ party, state: h === undefined ? 'none' : h === current ? 'current' : 'stale' })
  }
  return out
}

export const ACCEPTANCE_LABEL: Record<AcceptanceState, string> = {
  current: 'accepted this text',
  stale: 'accepted an earlier text',
  'ad-referendum': 'accepted ad referendum, not yet confirmed',
  none: 'has not accepted',
}

/** The same, as the term panel says it beside each delegation's chip. */
export const ACCEPTANCE_TEXT: Record<AcceptanceState, string> = {
  current: 'Accepted this text',
  stale: 'Accepted an earlier text',
  'ad-referendum': 'Accepted ad referendum',
  none: 'Not yet',
}

export const ACCEPTANCE_ICON: Record<AcceptanceState, IconName> = {
  current: 'check',
  stale: 'reopen',
  'ad-referendum': 'clockCircle',
  none: 'circle',
}

/** Terms that cannot be typed into until someone reopens them. */
export const isLocked = (s: TermStatus | undefined) => s?.state === 'agreed' || s?.state === 'withdrawn'
