/**
 * The commands of one open term: which one is running, which waits for its
 * second step (and the reason typed for it), and why the last was refused.
 * One object, because the lock banner and the action sections of the panel
 * show one flow: a reopen asked for in the banner is confirmed there, and
 * Escape cancels whichever step is open.
 */
import type { CommandResult } from '../connection/controlChannel.svelte'
import type { Workspace } from '../workspace/workspace.svelte'

export type StepKind = 'reject' | 'withdraw' | 'reopen' | 'delete-draft'

export class TermCommands {
  /** the command waiting for the server's answer */
  busy = $state<string | null>(null)
  refusal = $state<string | null>(null)
  confirm = $state<StepKind | null>(null)
  reason = $state('')

  constructor(
    private readonly ws: Workspace,
    private readonly termId: () => string,
  ) {}

  accept(): Promise<void> {
    return this.run('accept', () => this.ws.session.accept(this.termId()), 'You accepted this text.')
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
    const r = await fn()
    this.busy = null
    if (r.ok) {
      this.confirm = null
      this.reason = ''
      this.ws.toast(done, 'success')
    } else {
      this.refusal = r.error.message
    }
  }
}
