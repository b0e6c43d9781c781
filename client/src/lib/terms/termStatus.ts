/**
 * What a term's status means on screen: the state's label, and for each
 * delegation whether it accepted this exact text, an earlier text, or not yet.
 * The hash rule is shared/negotiation.ts's `termHash` (what the server checks).
 */
import { termHash, type TermDecision, type TermState, type TermStatus, type TermText } from '../../../../shared/negotiation'
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

/**
 * `ad-referendum`: accepted subject to a principal's confirmation — recorded, not yet binding.
 * `rejected`, `withdrew`, `reopened`: the delegation's decision is the last word on the term (TermStatus
 * `decision`), said in its row rather than "Not yet".
 */
export type AcceptanceState = 'current' | 'stale' | 'ad-referendum' | 'rejected' | 'withdrew' | 'reopened' | 'none'

export interface Acceptance {
  party: PartyStyle
  state: AcceptanceState
  /** with `ad-referendum`: subject to whom, by when */
  adReferendum?: AdReferendumView
  /** with `rejected`, `withdrew`, `reopened`: the decision, with its reason */
  decision?: TermDecision
}

const DECIDED: Record<TermDecision['kind'], AcceptanceState> = { reject: 'rejected', withdraw: 'withdrew', reopen: 'reopened' }

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
    } else if (h === undefined && status?.decision && status.decision.party === party.id) {
      out.push({ party, state: DECIDED[status.decision.kind], decision: status.decision })
    } else out.push({ party, state: h === undefined ? 'none' : h === current ? 'current' : 'stale' })
  }
  return out
}

export const ACCEPTANCE_LABEL: Record<AcceptanceState, string> = {
  current: 'accepted this text',
  stale: 'accepted an earlier text',
  'ad-referendum': 'accepted ad referendum, not yet confirmed',
  rejected: 'rejected the term',
  withdrew: 'withdrew the term',
  reopened: 'reopened the term',
  none: 'has not accepted',
}

/** The same, as the term panel says it beside each delegation's chip. */
export const ACCEPTANCE_TEXT: Record<AcceptanceState, string> = {
  current: 'Accepted this text',
  stale: 'Accepted an earlier text',
  'ad-referendum': 'Accepted ad referendum',
  rejected: 'Rejected it',
  withdrew: 'Withdrew it',
  reopened: 'Reopened it',
  none: 'Not yet',
}

export const ACCEPTANCE_ICON: Record<AcceptanceState, IconName> = {
  current: 'check',
  stale: 'reopen',
  'ad-referendum': 'clockCircle',
  rejected: 'reject',
  withdrew: 'withdraw',
  reopened: 'reopen',
  none: 'circle',
}

const DECISION_VERB: Record<TermDecision['kind'], string> = { reject: 'Rejected', withdraw: 'Withdrawn', reopen: 'Reopened' }

/**
 * A decision as one sentence: "Rejected by RU: Too broad", "Reopened by RU (the agreed text was edited)".
 * `who` names the delegation (its code on a card, its name in a sentence that has room); without a party
 * it was Parley's own doing.
 */
export function decisionText(d: TermDecision, who: (party: string) => string): string {
  const by = d.party ? ` by ${who(d.party)}` : ''
  const how = d.via === 'edit' && d.party ? ' (the agreed text was edited)' : ''
  return `${DECISION_VERB[d.kind]}${by}${how}${d.reason ? `: ${d.reason}` : ''}`
}

/** The decision shown on a term: only while it is the term's state (a later accept or agreement clears it). */
export function shownDecision(status: TermStatus | undefined): TermDecision | undefined {
  const d = status?.decision
  if (!d) return undefined
  const state = { reject: 'rejected', withdraw: 'withdrawn', reopen: 'reopened' }[d.kind]
  return status!.state === state ? d : undefined
}

/** Terms that cannot be typed into until someone reopens them. */
export const isLocked = (s: TermStatus | undefined) => s?.state === 'agreed' || s?.state === 'withdrawn'
