/**
 * What one person is looking at: which board (shared or caucus), canvas or
 * term sheet, which term is open, whom they follow. Pure UI state; the
 * documents live in the connection module.
 */
import { toastMs } from './toastTiming'
import { createContext } from 'svelte'
import type { NegotiationSession, Surface } from '../connection/negotiationSession.svelte'
import { Viewport } from '../board/viewport.svelte'
import { parseReplayParams, replaySearch, type ReplayParams } from '../history/replayUrl'
import type { Discussion } from '../comments/discussion.svelte'
import type { CatchUp } from '../comments/catchUp.svelte'

export type View = 'canvas' | 'sheet'
export type Panel =
  | { kind: 'term'; id: string }
  | { kind: 'history' }
  /** every thread, filterable */
  | { kind: 'comments' }
  /** what changed since this person was last here */
  | { kind: 'catchup' }
  /** the way to conclusion: what is open, the package, accepting and initialling it, the record */
  | { kind: 'conclude' }
  /** the sealed caucus's history, kept in this browser */
  | { kind: 'sealed-history' }
  | null

export interface Toast {
  id: number
  tone: 'info' | 'error' | 'success'
  text: string
}

let toastId = 0

/** The phone layout's width, as the CSS has it (`@media (max-width: 640px)`). */
export const PHONE = '(max-width: 640px)'

export class Workspace {
  surfaceKind = $state<'board' | 'caucus'>('board')
  view = $state<View>('canvas')
  panel = $state<Panel>(null)
  /** awareness client id of the person whose viewport this view follows */
  following = $state<number | null>(null)
  toasts = $state<Toast[]>([])
  /** the replay that is open (history readers only), as first asked for; the replay view owns it from there */
  replay = $state.raw<ReplayParams | null>(null)
  readonly viewports = { board: new Viewport(), caucus: new Viewport() }
  /** the thread (threadKey) the term panel shows first when it opens */
  focusThread = $state<string | null>(null)

  constructor(
    readonly session: NegotiationSession,
    /** comment threads */
    readonly discussion: Discussion,
    /** what changed since the last visit (history readers only) */
    readonly catchUp: CatchUp | null,
  ) {
    // On a phone the term sheet is the first view: cards on a canvas are for a larger screen (the board is a tap away).
    if (typeof matchMedia === 'function' && matchMedia(PHONE).matches) this.view = 'sheet'
    // A link to a version (`?v=12&from=9`) opens the replay there; for observers it means nothing.
    const asked = parseReplayParams(location.search)
    if (asked && session.canReadHistory) this.replay = asked
    else if (asked)
      history.replaceState(history.state, '', location.pathname + replaySearch(location.search, null) + location.hash)
  }

  get surface(): Surface {
    return this.surfaceKind === 'caucus' && this.session.caucus ? this.session.caucus : this.session.board
  }

  get viewport(): Viewport {
    return this.viewports[this.surfaceKind]
  }

  switchSurface(kind: 'board' | 'caucus'): void {
    if (kind === 'caucus' && !this.session.caucus) return
    if (this.surfaceKind === kind) return
    this.surface.peers.setFocus(null)
    this.replay = null
    this.surfaceKind = kind
    this.panel = null
    this.following = null
  }

  openReplay(params: Partial<ReplayParams> = {}): void {
    if (!this.session.canReadHistory) return
    this.switchSurface('board')
    this.panel = null
    this.following = null
    this.replay = { v: params.v ?? null, from: params.from ?? null, term: params.term ?? null, parties: params.parties ?? [] }
  }

  closeReplay(): void {
    this.replay = null
  }

  /** Opens a term's panel, at one of its threads if asked; the term no longer counts as changed since the last visit. */
  openTerm(id: string, thread: string | null = null): void {
    if (thread && this.surfaceKind !== 'board') this.switchSurface('board')
    this.focusThread = thread
    this.panel = { kind: 'term', id }
    if (this.surfaceKind === 'board') this.catchUp?.markTermSeen(id)
  }

  closePanel(): void {
    this.panel = null
  }

  /** A notice for a moment; long ones (a rejection's reason) stay long enough to be read. */
  toast(text: string, tone: Toast['tone'] = 'info'): void {
    const t = { id: ++toastId, tone, text }
    this.toasts = [...this.toasts, t].slice(-4)
    setTimeout(() => this.dismiss(t.id), toastMs(text, tone))
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id)
  }
}

export const [getWorkspace, setWorkspace] = createContext<Workspace>()
