/**
 * The term state machine of CONTRACT.md ("Term states"), as pure functions.
 * The server's ledger writer applies these; the client uses them only to
 * decide which buttons make sense. Errors carry the codes of shared/errors.ts.
 */
import { digest } from 'lib0/hash/sha256'
import { ErrorCode, type ErrorCodeName } from './errors'

/**
 * What a new negotiation may hold (CreateNegotiationSchema checks it; the admin form and the Word import
 * fit to it). Here rather than in schemas.ts: the admin form is in the client's first bundle, which must
 * not load zod (its `new Function` probe breaks the Content-Security-Policy).
 */
export const NEGOTIATION_LIMITS = { title: 200, termTitle: 500, termBody: 20_000, terms: 200 } as const

export interface PartyInfo {
  id: string
  name: string
  color: string
  /**
   * The short label a delegation goes by where its name does not fit — chips, acceptance rows, history
   * lists, redlines (`US`, `RU`, `AE`): PARTY_CODE_PATTERN, unique within the negotiation. Every party the
   * server answers with has one (derived on read for negotiations created before codes existed:
   * shared/partyCodes.ts `withPartyCodes`); absent only in such stored records.
   */
  code?: string
}

/**
 * Delegation colours: distinct, readable as text on white and as fills (client/src/lib/design/colors.ts).
 * The admin form offers them; a party created without a colour gets the first one no other party has.
 */
export const PARTY_COLORS = ['#1f5fbf', '#b3261e', '#1b7f4b', '#8a4bb8', '#b35c00', '#00727a', '#a8326f', '#4d5b6a'] as const

/** A party code: 2 to 6 capital letters or digits. */
export const PARTY_CODE_PATTERN = /^[A-Z0-9]{2,6}$/

export const TERM_STATES = ['proposed', 'accepted', 'agreed', 'rejected', 'withdrawn', 'reopened'] as const
export type TermState = (typeof TERM_STATES)[number]

/** A term's entry in the ledger doc's `status` map, as plain data. */
export interface TermStatus {
  state: TermState
  /** the party whose update created the term; null for terms the negotiation was created with */
  proposedBy: string | null
  /** party → SHA-256 hex of the text it accepted */
  acceptedBy: Record<string, string>
  agreedText?: string
  agreedHash?: string
  updatedAt: number
  updatedBy: string
  /** open bracket groups in the term's title and body (shared/brackets.ts); absent: none */
  brackets?: number
  /** party → its acceptance subject to confirmation by a principal: it does not count towards agreement */
  adReferendum?: Record<string, AdReferendum>
  /**
   * The last decision that took the term out of play — a rejection, a withdrawal, a reopening — with who
   * made it and why; written with the move, cleared once a delegation accepts the term again.
   */
  decision?: TermDecision
}

/** Who rejected, withdrew or reopened a term, and why (TermStatus `decision`). */
export interface TermDecision {
  kind: 'reject' | 'reopen' | 'withdraw'
  /** null: Parley itself (an agreed text found changed after a crash, its editor unknown) */
  party: string | null
  user: string
  /** as the delegation gave it (term:reject, term:reopen) */
  reason?: string
  at: number
  /** `edit`: reopened by a change to the agreed text rather than by term:reopen */
  via?: 'edit'
}

/** An acceptance "ad referendum": subject to confirmation by `principal` (a capital, a cabinet), optionally by a date. */
export interface AdReferendum {
  principal: string
  /** the date (YYYY-MM-DD) by which the principal is to confirm */
  until?: string
  /** the text hash accepted */
  hash: string
  at: number
  user: string
}

export interface TermText {
  title: string
  body: string
}

const utf8 = new TextEncoder()

/** SHA-256 (hex) of `title + "\n" + body`: what a party accepts. */
export function termHash(text: TermText): string {
  const bytes = digest(utf8.encode(`${text.title}\n${text.body}`))
  let hex = ''
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return hex
}

export const agreedTextOf = (text: TermText) => `${text.title}\n${text.body}`

export class TermRuleError extends Error {
  constructor(
    readonly code: ErrorCodeName,
    message: string,
  ) {
    super(message)
    this.name = 'TermRuleError'
  }
}

export type TermMove =
  | { kind: 'propose'; party: string | null }
  | { kind: 'accept'; party: string; text: TermText; adReferendum?: { principal: string; until?: string; user: string } }
  /** the party's principal confirmed its ad-referendum acceptance (of the text as it stands now) */
  | { kind: 'confirm'; party: string; text: TermText }
  | ({ kind: 'reject'; party: string } & DecisionDetail)
  | ({ kind: 'withdraw'; party: string } & DecisionDetail)
  | ({ kind: 'reopen'; party: string } & DecisionDetail)
  /** the term's title or body changed on the board (`party` '': not known) */
  | ({ kind: 'edit'; party: string; text: TermText } & DecisionDetail)

/** Who made a move that takes a term out of play, and why: recorded as the status's `decision`. */
interface DecisionDetail {
  user?: string
  reason?: string
}

/** What a move did, for the history: `agree` when an accept completed the set. */
export type MoveOutcome = 'propose' | 'accept' | 'agree' | 'reject' | 'withdraw' | 'reopen' | 'confirm' | 'none'

export interface Transition {
  status: TermStatus
  outcome: MoveOutcome
}

const CLOSED: readonly TermState[] = ['agreed', 'rejected', 'withdrawn']

/**
 * Applies one move to a term's status. `status` is undefined for a term the
 * ledger has not seen. `parties` are the negotiation's party ids: agreement
 * needs every one of them on the same text hash.
 */
export function applyMove(status: TermStatus | undefined, move: TermMove, parties: readonly string[], now: number): Transition {
  if (move.kind === 'propose') {
    if (status) return { status, outcome: 'none' }
    return {
      status: { state: 'proposed', proposedBy: move.party, acceptedBy: {}, updatedAt: now, updatedBy: move.party ?? '' },
      outcome: 'propose',
    }
  }
  if (!status) throw new TermRuleError(ErrorCode.unknownTerm.name, 'no such term')
  const { decision: _decided, ...rest } = status
  // A decision stands until someone accepts the term again; moves that decide write their own.
  const base: TermStatus = { ...rest, acceptedBy: { ...status.acceptedBy }, updatedAt: now, updatedBy: move.party }

  switch (move.kind) {
    case 'accept': {
      if (status.state === 'withdrawn')
        throw new TermRuleError(ErrorCode.termClosed.name, 'the term was withdrawn; reopen it first')
      if (status.state === 'agreed') throw new TermRuleError(ErrorCode.termClosed.name, 'the term is already agreed')
      const hash = termHash(move.text)
      const adRef = { ...status.adReferendum }
      delete adRef[move.party]
      if (move.adReferendum) {
        // Subject to its principal: recorded, but the party is not bound until it confirms.
        delete base.acceptedBy[move.party]
        const { principal, until, user } = move.adReferendum
        adRef[move.party] = { principal, ...(until ? { until } : {}), hash, at: now, user }
        return { status: { ...withAdReferendum(base, adRef), state: 'accepted' }, outcome: 'accept' }
      }
      base.acceptedBy[move.party] = hash
      return completed(withAdReferendum(base, adRef), hash, move.text, parties, 'accept')
    }
    case 'confirm': {
      const pending = status.adReferendum?.[move.party]
      if (!pending)
        throw new TermRuleError(ErrorCode.nothingToConfirm.name, 'your delegation has no acceptance ad referendum of this term')
      if (status.state === 'withdrawn' || status.state === 'agreed' || status.state === 'rejected')
        throw new TermRuleError(ErrorCode.termClosed.name, `the term is ${status.state}`)
      const hash = termHash(move.text)
      if (hash !== pending.hash)
        throw new TermRuleError(ErrorCode.textChanged.name, 'the text changed since it was accepted ad referendum: accept it again')
      const adRef = { ...status.adReferendum }
      delete adRef[move.party]
      base.acceptedBy[move.party] = hash
      return completed(withAdReferendum(base, adRef), hash, move.text, parties, 'confirm')
    }
    case 'reject': {
      if (status.state === 'withdrawn') throw new TermRuleError(ErrorCode.termClosed.name, 'the term was withdrawn')
      if (status.state === 'agreed') throw new TermRuleError(ErrorCode.termClosed.name, 'the term is agreed; reopen it first')
      return { status: withAdReferendum({ ...base, state: 'rejected', acceptedBy: {}, decision: decided(move, now) }, {}), outcome: 'reject' }
    }
    case 'withdraw': {
      if (status.proposedBy !== move.party) {
        throw new TermRuleError(ErrorCode.wrongParty.name, 'only the proposing delegation may withdraw a term')
      }
      if (status.state === 'withdrawn') throw new TermRuleError(ErrorCode.termClosed.name, 'the term is already withdrawn')
      if (status.state === 'agreed') throw new TermRuleError(ErrorCode.termClosed.name, 'the term is agreed; reopen it first')
      return {
        status: withAdReferendum({ ...base, state: 'withdrawn', acceptedBy: {}, decision: decided(move, now) }, {}),
        outcome: 'withdraw',
      }
    }
    case 'reopen': {
      if (!CLOSED.includes(status.state)) {
        throw new TermRuleError(ErrorCode.termOpen.name, `the term is ${status.state}, not agreed, rejected or withdrawn`)
      }
      return {
        status: withAdReferendum(withoutAgreement({ ...base, state: 'reopened', acceptedBy: {}, decision: decided(move, now) }), {}),
        outcome: 'reopen',
      }
    }
    case 'edit': {
      // Only an agreed term changes state on edit: its agreement no longer holds.
      if (status.state !== 'agreed' || termHash(move.text) === status.agreedHash) return { status, outcome: 'none' }
      return {
        status: withoutAgreement({ ...base, state: 'reopened', acceptedBy: {}, decision: decided(move, now, 'edit') }),
        outcome: 'reopen',
      }
    }
  }
}

/** The decision a reject, withdraw or reopen records (an empty reason is none). */
function decided(move: { kind: string; party: string } & DecisionDetail, now: number, via?: 'edit'): TermDecision {
  const kind = move.kind === 'edit' ? 'reopen' : (move.kind as TermDecision['kind'])
  const reason = move.reason?.trim()
  return {
    kind,
    party: move.party || null,
    user: move.user ?? '',
    ...(reason ? { reason } : {}),
    at: now,
    ...(via ? { via } : {}),
  }
}

/** An accept or confirm that may complete the set: agreed once every party accepted this very text. */
function completed(base: TermStatus, hash: string, text: TermText, parties: readonly string[], outcome: 'accept' | 'confirm'): Transition {
  const everyone = parties.length > 0 && parties.every((p) => base.acceptedBy[p] === hash)
  if (everyone) return { status: { ...base, state: 'agreed', agreedText: agreedTextOf(text), agreedHash: hash }, outcome: 'agree' }
  return { status: { ...base, state: 'accepted' }, outcome }
}

/** The status with these ad-referendum acceptances (the field left out when there are none). */
function withAdReferendum(s: TermStatus, adRef: Record<string, AdReferendum>): TermStatus {
  const { adReferendum: _a, ...rest } = s
  return Object.keys(adRef).length > 0 ? { ...rest, adReferendum: adRef } : rest
}

/** Acceptances ad referendum whose date has passed unconfirmed (`today`: YYYY-MM-DD): flagged on the card. */
export function overdueAdReferendum(status: TermStatus | undefined, today: string): string[] {
  return Object.entries(status?.adReferendum ?? {})
    .filter(([, a]) => a.until !== undefined && a.until < today)
    .map(([party]) => party)
}

function withoutAgreement(s: TermStatus): TermStatus {
  const { agreedText: _t, agreedHash: _h, ...rest } = s
  return rest
}

/** Which commands make sense now, for the client's buttons (the server decides). */
export function availableMoves(status: TermStatus | undefined, party: string | null): Set<TermMove['kind']> {
  const moves = new Set<TermMove['kind']>()
  if (!status || !party) return moves
  if (status.state !== 'withdrawn' && status.state !== 'agreed') moves.add('accept').add('reject')
  if (status.adReferendum?.[party] && status.state !== 'withdrawn' && status.state !== 'agreed') moves.add('confirm')
  if (status.proposedBy === party && status.state !== 'withdrawn' && status.state !== 'agreed') moves.add('withdraw')
  if (CLOSED.includes(status.state)) moves.add('reopen')
  return moves
}
