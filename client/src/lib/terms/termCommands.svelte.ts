/**
 * The commands of one open term: which one is running, which waits for its
 * second step (and the reason typed for it), and why the last was refused.
 * One object, because the lock banner and the action sections of the panel
 * show one flow: a reopen asked for in the banner is confirmed there, and
 * Escape cancels whichever step is open.
 */
import type { CommandResult } from '../connection/controlChannel.svelte'
import type { Workspace } from '../workspace/workspace.svelte'

export type StepKind = 'reject' | 'withdraw' | 'reopen' | 'delete-draft' | 'ad-referendum'

/** Refusals said in the panel's words where the server's would leave the person guessing what to do. */
export const REFUSAL_TEXT: Readonly<Record<string, string>> = {
  bracketed: 'This term still holds text in brackets. Choose an option for each bracketed group first (under “Open brackets”).',
  concluded: 'The negotiation is concluded: its text is final and no command changes it any more.',
}

/** What to show for a refused command. */
export const refusalText = (r: Extract<CommandResult, { ok: false }>): string => REFUSAL_TEXT[r.error.code] ?? r.error.message

export class TermCommands {
  /** the command waiting for the server's answer */
  busy = $state<string | null>(null)
  refusal = $state<string | null>(null)
  /** which command `refusal` answered (a refused choice is shown by the brackets, the rest by the actions) */
  refused = $state<string | null>(null)
  confirm = $state<StepKind | null>(null)
  reason = $state('')

  constructor(
    private readonly ws: Workspace,
    private readonly termId: () => string,
  ) {}

  accept(): Promise<void> {
    return this.run('accept', () => this.ws.session.accept(this.termId()), 'You accepted this text.')
  }

  /** Accepts subject to the principal's confirmation (`until`: YYYY-MM-DD, optional). */
  acceptAdReferendum(principal: string, until: string | undefined): Promise<void> {
    return this.run(
      'accept-ad-referendum',
      () => this.ws.session.acceptAdReferendum(this.termId(), { principal, ...(until ? { until } : {}) }),
      `You accepted this text ad referendum, subject to ${principal}.`,
    )
  }

  /** The principal confirmed: the acceptance ad referendum becomes binding. */
  confirmAdReferendum(): Promise<void> {
    return this.run('confirm', () => this.ws.session.confirmAdReferendum(this.termId()), 'Confirmed: your acceptance is binding.')
  }

  /** Settles a bracketed group on one option (`group` counts the title's groups first). */
  choose(group: number, option: number): Promise<void> {
    return this.run('choose', () => this.ws.session.choose(this.termId(), group, option), 'Option chosen: the brackets are gone.')
  }

  reject(): Promise<void> {
    return this.run('reject', () => this.ws.session.reject(this.termId(), this.reasonGiven()), 'Rejected.')
  }

  withdraw(): Promise<void> {
    return this.run('withdraw', () => this.ws.session.withdraw(this.termId()), 'Withdrawn.')
  }

  reopen(): Promise<void> {
    return this.run(
      'reopen',
      () => this.ws.session.reopen(this.termId(), this.reasonGiven()),
      'Reopened: the text can be edited again.',
    )
  }

  /** Accepts or rejects one suggestion in the term's text (the server writes the result). */
  decideSuggestion(id: string, accept: boolean): Promise<void> {
    return this.run(
      accept ? 'suggestion-accept' : 'suggestion-reject',
      () => this.ws.session.decideSuggestion(this.termId(), id, accept),
      accept ? 'Suggestion accepted.' : 'Suggestion rejected.',
    )
  }

  private reasonGiven(): string | undefined {
    return this.reason.trim() || undefined
  }

  private async run(kind: string, fn: () => Promise<CommandResult>, done: string): Promise<void> {
    this.busy = kind
    this.refusal = null
    this.refused = null
    const r = await fn()
    this.busy = null
    if (r.ok) {
      this.confirm = null
      this.reason = ''
      this.ws.toast(done, 'success')
    } else {
      this.refusal = refusalText(r)
      this.refused = kind
    }
  }
}
