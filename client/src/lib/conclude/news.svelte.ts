/**
 * Tells the person, as it happens, what changes the package under them: its acceptances voided by an
 * edit or a reopen, and the conclusion. Only what happens while the page is open: what the ledger held
 * when it first arrived is the baseline, not news.
 */
import { untrack } from 'svelte'
import type { NegotiationSession } from '../connection/negotiationSession.svelte'
import { voidedText, whenAt } from './conclusion'
import { m } from '../../paraglide/messages'

export class ConclusionNews {
  constructor(
    private readonly session: NegotiationSession,
    private readonly say: (text: string, tone: 'info' | 'success') => void,
  ) {}

  /** Starts watching; returns the stop. */
  start(): () => void {
    let seenVoid: number | null | undefined
    let seenConcluded = false
    return $effect.root(() => {
      $effect(() => {
        if (!this.session.ledger.channel.loaded) return
        const c = this.session.ledger.conclusion
        untrack(() => {
          const voidAt = c.voided?.at ?? null
          if (seenVoid === undefined) {
            seenVoid = voidAt
            seenConcluded = c.concluded !== null
            return
          }
          if (c.voided && voidAt !== seenVoid && !c.concluded) {
            const name = (id: string) => this.session.party(id)?.name ?? id
            this.say(m.conclude_news_voided({ why: voidedText(c.voided, name), when: whenAt(c.voided.at) }), 'info')
          }
          seenVoid = voidAt
          if (c.concluded && !seenConcluded) this.say(m.conclude_news_concluded(), 'success')
          seenConcluded = c.concluded !== null
        })
      })
    })
  }
}
