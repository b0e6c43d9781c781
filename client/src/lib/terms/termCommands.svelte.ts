/**
 * The commands of one open term: which one is running, which waits for its
 * second step (and the reason typed for it), and why the last was refused.
 * One object, because the lock banner and the action sections of the panel
 * show one flow: a reopen asked for in the banner is confirmed there, and
 * Escape cancels whichever step is open.
 *
 * A step replaces the buttons that opened it, so when it closes (cancelled,
 * Escape, or done) the focus would fall to the page: it goes back to the
 * button that opened the step, or to the panel. A toast saying this
 * delegation accepted the text goes as soon as the text is another.
 */
import { tick } from 'svelte'
import type { CommandResult } from '../connection/controlChannel.svelte'
import type { Workspace } from '../workspace/workspace.svelte'
import { hashOf } from './termStatus'
import { m } from '../../paraglide/messages'
import { baseLocale, getLocale } from '../../paraglide/runtime'

export type StepKind = 'reject' | 'withdraw' | 'reopen' | 'delete-draft' | 'ad-referendum'

/** Refusals said in the panel's words where the server's would leave the person guessing what to do. */
export const REFUSAL_TEXT: Readonly<Record<string, () => string>> = {
  bracketed: m.terms_refusal_bracketed,
  concluded: m.terms_refusal_concluded,
}

/**
 * The server explains a refusal in English, with details the code alone does not carry: in English
 * its words are shown; in another language, the code's meaning in that language.
 */
const REFUSAL_MEANING: Readonly<Record<string, () => string>> = {
  'bad-request': m.terms_refusal_generic_bad_request,
  unauthorized: m.terms_refusal_generic_unauthorized,
  forbidden: m.terms_refusal_generic_forbidden,
  'not-found': m.terms_refusal_generic_not_found,
  'rate-limited': m.terms_refusal_generic_rate_limited,
  'store-unavailable': m.terms_refusal_generic_store_unavailable,
  internal: m.terms_refusal_generic_internal,
  'unknown-term': m.terms_refusal_generic_unknown_term,
  'wrong-role': m.terms_refusal_generic_wrong_role,
  'wrong-party': m.terms_refusal_generic_wrong_party,
  'term-closed': m.terms_refusal_generic_term_closed,
  'term-open': m.terms_refusal_generic_term_open,
  'pending-suggestions': m.terms_refusal_generic_pending_suggestions,
  'nothing-to-confirm': m.terms_refusal_generic_nothing_to_confirm,
  'text-changed': m.terms_refusal_generic_text_changed,
  'package-open': m.terms_refusal_generic_package_open,
}

/** What to show for a refused command. */
export const refusalText = (r: Extract<CommandResult, { ok: false }>): string =>
  REFUSAL_TEXT[r.error.code]?.() ??
  (getLocale() === baseLocale ? undefined : REFUSAL_MEANING[r.error.code]?.()) ??
  r.error.message

export class TermCommands {
  /** the command waiting for the server's answer */
  busy = $state<string | null>(null)
  refusal = $state<string | null>(null)
  /** which command `refusal` answered (a refused choice is shown by the brackets, the rest by the actions) */
  refused = $state<string | null>(null)
  reason = $state('')
  #confirm = $state<StepKind | null>(null)
  /** the data-testid of the button that opened the step, to give the focus back to */
  #opener: string | null = null

  /** the second step waiting (null: none); closing one gives the focus back to where it was asked for */
  get confirm(): StepKind | null {
    return this.#confirm
  }
  set confirm(step: StepKind | null) {
    const was = this.#confirm
    if (step === was) return
    if (step !== null && was === null) this.#opener = (document.activeElement as HTMLElement | null)?.dataset?.testid ?? null
    this.#confirm = step
    if (step === null) void this.refocus(this.#opener)
  }

  constructor(
    private readonly ws: Workspace,
    private readonly termId: () => string,
  ) {}

  accept(): Promise<void> {
    return this.run('accept', () => this.ws.session.accept(this.termId()), m.terms_done_accepted(), true)
  }

  /** Accepts subject to the principal's confirmation (`until`: YYYY-MM-DD, optional). */
  acceptAdReferendum(principal: string, until: string | undefined): Promise<void> {
    return this.run(
      'accept-ad-referendum',
      () => this.ws.session.acceptAdReferendum(this.termId(), { principal, ...(until ? { until } : {}) }),
      m.terms_done_adref({ principal }),
      true,
    )
  }

  /** The principal confirmed: the acceptance ad referendum becomes binding. */
  confirmAdReferendum(): Promise<void> {
    return this.run('confirm', () => this.ws.session.confirmAdReferendum(this.termId()), m.terms_done_confirmed(), true)
  }

  /** Settles a bracketed group on one option (`group` counts the title's groups first). */
  choose(group: number, option: number): Promise<void> {
    return this.run('choose', () => this.ws.session.choose(this.termId(), group, option), m.terms_done_chosen())
  }

  reject(): Promise<void> {
    return this.run('reject', () => this.ws.session.reject(this.termId(), this.reasonGiven()), m.terms_done_rejected())
  }

  withdraw(): Promise<void> {
    return this.run('withdraw', () => this.ws.session.withdraw(this.termId()), m.terms_done_withdrawn())
  }

  reopen(): Promise<void> {
    return this.run('reopen', () => this.ws.session.reopen(this.termId(), this.reasonGiven()), m.terms_done_reopened())
  }

  /** Accepts or rejects one suggestion in the term's text (the server writes the result). */
  decideSuggestion(id: string, accept: boolean): Promise<void> {
    return this.run(
      accept ? 'suggestion-accept' : 'suggestion-reject',
      () => this.ws.session.decideSuggestion(this.termId(), id, accept),
      accept ? m.terms_done_suggestion_accepted() : m.terms_done_suggestion_rejected(),
    )
  }

  private reasonGiven(): string | undefined {
    return this.reason.trim() || undefined
  }

  /**
   * `aboutText`: the toast says something of the text as it stands (it was accepted): it goes
   * when the text changes, told in its place.
   */
  private async run(kind: string, fn: () => Promise<CommandResult>, done: string, aboutText = false): Promise<void> {
    this.busy = kind
    this.refusal = null
    this.refused = null
    const termId = this.termId()
    const model = this.ws.session.board.model
    const before = model.term(termId)
    const r = await fn()
    this.busy = null
    if (r.ok) {
      this.confirm = null
      this.reason = ''
      this.ws.toast(done, 'success')
      // The toast just raised is the newest; the text it speaks of is the one the command was sent for.
      const id = this.ws.toasts.at(-1)?.id
      if (aboutText && before && id !== undefined) this.whileTextIs(id, termId, hashOf(before))
    } else {
      this.refusal = refusalText(r)
      this.refused = kind
    }
  }

  /** Dismisses toast `id` once term `termId`'s text is no longer the one hashed `accepted` (it lives on after the panel). */
  private whileTextIs(id: number, termId: string, accepted: string): void {
    const model = this.ws.session.board.model
    const stop = $effect.root(() => {
      $effect(() => {
        const showing = this.ws.toasts.some((t) => t.id === id)
        const term = model.term(termId)
        if (showing && term && hashOf(term) === accepted) return
        if (showing) {
          this.ws.dismiss(id)
          this.ws.toast(m.terms_text_changed_after_accept(), 'info')
        }
        queueMicrotask(stop)
      })
    })
  }

  /** After a step closed: the focus back on the button that opened it (still there), else on the panel, unless it went elsewhere. */
  private async refocus(opener: string | null): Promise<void> {
    await tick()
    const active = document.activeElement
    if (active && active !== document.body && active.isConnected) return
    const panel = document.querySelector<HTMLElement>(`[data-testid="term-panel"][data-term-id="${CSS.escape(this.termId())}"]`)
    if (!panel) return
    const button = opener ? panel.querySelector<HTMLElement>(`[data-testid="${CSS.escape(opener)}"]:not([disabled])`) : null
    ;(button ?? panel).focus({ preventScroll: true })
  }
}
