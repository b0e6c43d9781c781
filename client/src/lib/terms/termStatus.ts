/**
 * What a term's status means on screen: the state's label, and for each
 * delegation whether it accepted this exact text, an earlier text, or not yet.
 * The hash rule is shared/negotiation.ts's `termHash` (what the server checks).
 */
import { termHash, type TermState, type TermStatus, type TermText } from '../../../../shared/negotiation'
import type { PartyStyle } from '../design/colors'
import type { IconName } from '../design/icons'

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

export type AcceptanceState = 'current' | 'stale' | 'none'

export interface Acceptance {
  party: PartyStyle
  state: AcceptanceState
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

export function acceptancesOf(status: TermStatus | undefined, text: TermText, parties: Iterable<PartyStyle>): Acceptance[] {
  const current = hashOf(text)
  const out: Acceptance[] = []
  for (const party of parties) {
    const h = status?.acceptedBy[party.id]
    out.push({ party, state: h === undefined ? 'none' : h === current ? 'current' : 'stale' })
  }
  return out
}

export const ACCEPTANCE_LABEL: Record<AcceptanceState, string> = {
  current: 'accepted this text',
  stale: 'accepted an earlier text',
  none: 'has not accepted',
}

/** The same, as the term panel says it beside each delegation's chip. */
export const ACCEPTANCE_TEXT: Record<AcceptanceState, string> = {
  current: 'Accepted this text',
  stale: 'Accepted an earlier text',
  none: 'Not yet',
}

export const ACCEPTANCE_ICON: Record<AcceptanceState, IconName> = {
  current: 'check',
  stale: 'reopen',
  none: 'circle',
}

/** Terms that cannot be typed into until someone reopens them. */
export const isLocked = (s: TermStatus | undefined) => s?.state === 'agreed' || s?.state === 'withdrawn'
