/**
 * What a term's status means on screen: the state's label, and for each
 * delegation whether it accepted this exact text, an earlier text, or not yet.
 * The hash rule is shared/negotiation.ts's `termHash` (what the server checks).
 */
import { termHash, type TermDecision, type TermState, type TermStatus, type TermText } from '../../../../shared/negotiation'
import type { PartyStyle } from '../design/colors'
import type { IconName } from '../design/icons'
import type { AdReferendumView } from './adReferendum.svelte'
import { m } from '../../paraglide/messages'

/** Getters: each read asks the message in the current language (a template redraws on a switch). */
export const STATE_LABEL: Readonly<Record<TermState, string>> = {
  get proposed() {
    return m.terms_state_proposed()
  },
  get accepted() {
    return m.terms_state_accepted()
  },
  get agreed() {
    return m.terms_state_agreed()
  },
  get rejected() {
    return m.terms_state_rejected()
  },
  get withdrawn() {
    return m.terms_state_withdrawn()
  },
  get reopened() {
    return m.terms_state_reopened()
  },
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

const ACCEPTANCE_LABEL: Record<AcceptanceState, (p: { party: string }) => string> = {
  current: m.terms_acceptance_current,
  stale: m.terms_acceptance_stale,
  'ad-referendum': m.terms_acceptance_adref,
  rejected: m.terms_acceptance_rejected,
  withdrew: m.terms_acceptance_withdrew,
  reopened: m.terms_acceptance_reopened,
  none: m.terms_acceptance_none,
}

/** "United States accepted this text": a delegation's acceptance as one sentence, for screen readers. */
export const acceptanceLabel = (state: AcceptanceState, party: string): string => ACCEPTANCE_LABEL[state]({ party })

const ACCEPTANCE_MESSAGE: Record<AcceptanceState, () => string> = {
  current: m.terms_acceptance_text_current,
  stale: m.terms_acceptance_text_stale,
  'ad-referendum': m.terms_acceptance_text_adref,
  rejected: m.terms_acceptance_text_rejected,
  withdrew: m.terms_acceptance_text_withdrew,
  reopened: m.terms_acceptance_text_reopened,
  none: m.terms_acceptance_text_none,
}

/** The same, as the term panel says it beside each delegation's chip. */
export const acceptanceText = (state: AcceptanceState): string => ACCEPTANCE_MESSAGE[state]()

export const ACCEPTANCE_ICON: Record<AcceptanceState, IconName> = {
  current: 'check',
  stale: 'reopen',
  'ad-referendum': 'clockCircle',
  rejected: 'reject',
  withdrew: 'withdraw',
  reopened: 'reopen',
  none: 'circle',
}

const DECISION_VERB: Record<TermDecision['kind'], () => string> = {
  reject: m.terms_decision_rejected,
  withdraw: m.terms_decision_withdrawn,
  reopen: m.terms_decision_reopened,
}
const DECISION_VERB_BY: Record<TermDecision['kind'], (p: { who: string }) => string> = {
  reject: m.terms_decision_rejected_by,
  withdraw: m.terms_decision_withdrawn_by,
  reopen: m.terms_decision_reopened_by,
}

/**
 * A decision as one sentence: "Rejected by RU: Too broad", "Reopened by RU (the agreed text was edited)".
 * `who` names the delegation (its code on a card, its name in a sentence that has room); without a party
 * it was Parley's own doing.
 */
export function decisionText(d: TermDecision, who: (party: string) => string): string {
  const verb = d.party ? DECISION_VERB_BY[d.kind]({ who: who(d.party) }) : DECISION_VERB[d.kind]()
  const how = d.via === 'edit' && d.party ? m.terms_decision_via_edit() : ''
  return d.reason ? m.terms_with_reason({ text: verb + how, reason: d.reason }) : verb + how
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
