/**
 * Tells everyone on the board, as it happens, when another delegation takes a term out of play — rejects,
 * withdraws or reopens it (the ledger status's `decision`) — with the reason it gave. As
 * conclude/news.svelte.ts does for the package: what the ledger held when it first arrived is the
 * baseline, not news; the toasts' region (workspace/Toasts.svelte) is a polite live region, so screen
 * readers announce it without taking the focus.
 */
import { untrack } from 'svelte'
import type { TermDecision } from '../../../../shared/negotiation'
import type { NegotiationSession } from '../connection/negotiationSession.svelte'
import { m } from '../../paraglide/messages'

const BY: Record<TermDecision['kind'], (p: { party: string; term: string }) => string> = {
  reject: m.terms_news_rejected_by,
  withdraw: m.terms_news_withdrawn_by,
  reopen: m.terms_news_reopened_by,
}
const PASSIVE: Record<TermDecision['kind'], (p: { term: string }) => string> = {
  reject: m.terms_news_rejected,
  withdraw: m.terms_news_withdrawn,
  reopen: m.terms_news_reopened,
}

/** "Russian Federation rejected “Scope”: Too broad." — the delegation by name, the reason as given. */
export function decisionNewsText(d: TermDecision, title: string, partyName: (id: string) => string): string {
  const term = m.terms_quoted({ title: title || m.terms_untitled() })
  const head = !d.party
    ? PASSIVE[d.kind]({ term })
    : d.kind === 'reopen' && d.via === 'edit'
      ? m.terms_news_reopened_by_edit({ party: partyName(d.party), term })
      : BY[d.kind]({ party: partyName(d.party), term })
  const said = d.reason ? m.terms_with_reason({ text: head, reason: d.reason }) : head
  return `${said}${/[.!?…]$/.test(said) ? '' : '.'}`
}

/** One decision, told apart from the next one on the same term. */
const keyOf = (d: TermDecision) => `${d.kind}:${d.at}:${d.party ?? ''}:${d.user}`

export class DecisionNews {
  constructor(
    private readonly session: NegotiationSession,
    private readonly say: (text: string) => void,
  ) {}

  /** Starts watching; returns the stop. */
  start(): () => void {
    let seen: Map<string, string> | null = null
    return $effect.root(() => {
      $effect(() => {
        if (!this.session.ledger.channel.loaded) return
        const statuses = this.session.ledger.termStatuses()
        untrack(() => {
          const now = new Map<string, string>()
          for (const [id, s] of statuses) if (s.decision) now.set(id, keyOf(s.decision))
          const before = seen
          seen = now
          if (!before) return
          const mine = this.session.info.party
          for (const [id, key] of now) {
            const d = statuses.get(id)!.decision!
            // This delegation's own decisions were told where they were made.
            if (before.get(id) === key || (mine !== null && d.party === mine)) continue
            const title = this.session.board.model.term(id)?.title ?? ''
            this.say(decisionNewsText(d, title, (p) => this.session.party(p)?.name ?? p))
          }
        })
      })
    })
  }
}
