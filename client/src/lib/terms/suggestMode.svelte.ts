/**
 * Suggest mode, remembered per person and negotiation (as a word processor
 * remembers Track Changes per document): whoever switched it on finds it on
 * when they come back. Stored in the browser only; a storage that refuses
 * (private windows, quotas) just forgets.
 */
import type { AuthorshipView, SuggestionView } from '../editor/codemirror'
import type { PartyStyle } from '../design/colors'
import { tryStorage } from '../api/storage'

/** Tracked changes in this term (the shared board only): the mode, how they are drawn, who decides. */
export interface SuggestOptions {
  /** Suggest mode is on */
  on: boolean
  set(on: boolean): void
  view: SuggestionView
  party: (id: string) => PartyStyle | undefined
  myParty: string | null
  mayDecide: boolean
  busy: string | null
  decide(id: string, accept: boolean): void
}

/** "Who wrote what": on or off, how to tint, and what to read again when the ledger learns more authors. */
export interface AuthorshipOptions {
  on: boolean
  set(on: boolean): void
  view: AuthorshipView
  /** the delegations, for the legend */
  parties: PartyStyle[]
  /** changes when the ledger's `authors` grew */
  version: number
}

/** "Who wrote what" holds from term to term while the page is open. */
export const authorshipShown = $state({ on: false })

export class SuggestMode {
  on = $state(false)
  private readonly key: string

  constructor(negotiationId: string, party: string | null, user: string) {
    this.key = `parley:suggest:${negotiationId}:${party ?? ''}:${user}`
    this.on = tryStorage(() => localStorage.getItem(this.key)) === '1'
  }

  set(on: boolean): void {
    this.on = on
    // not remembered when storage is off; the mode still holds for this page
    tryStorage(() => (on ? localStorage.setItem(this.key, '1') : localStorage.removeItem(this.key)))
  }
}
