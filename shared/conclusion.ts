/**
 * How a negotiation ends (CONTRACT.md "Concluding a negotiation"), as pure
 * functions over plain data: nothing is agreed until everything is agreed
 * (the package), each delegation binds itself to the package's hash, then
 * initials, and when every delegation has initialled the negotiation is
 * concluded. The server applies these under the negotiation's command lock;
 * the client uses them to say what is possible and what is missing.
 */
import { digest } from 'lib0/hash/sha256'
import { ErrorCode } from './errors'
import { TermRuleError, type TermStatus } from './negotiation'

/** Ledger `meta.package`: the package's hash and who bound itself to which hash. */
export interface PackageState {
  hash: string
  /** party → the package hash it accepted */
  acceptedBy: Record<string, string>
}

/** Ledger `meta.packageVoided`: the last time package acceptances were voided, and by what (shown so nobody is surprised). */
export interface VoidCause {
  at: number
  party: string | null
  user: string
  reason: string
}

/** Ledger `meta.initials`: party → who initialled the package for it, and when (ms). */
export type Initials = Record<string, { user: string; at: number; hash: string }>

/** Ledger `meta.concluded`. */
export interface Concluded {
  at: number
  hash: string
}

const CLOSED_STATES: ReadonlySet<TermStatus['state']> = new Set(['agreed', 'withdrawn', 'rejected'])
const utf8 = new TextEncoder()

function sha256Hex(s: string): string {
  let hex = ''
  for (const b of digest(utf8.encode(s))) hex += b.toString(16).padStart(2, '0')
  return hex
}

/**
 * The package hash: SHA-256 of the agreed terms' hashes in board order, one per line (joined by
 * "\n"). Null while any term is still open (proposed, accepted, reopened) or none is agreed.
 * `order`: the board's term ids in board order; `statuses`: every term the ledger knows.
 */
export function packageHashOf(order: readonly string[], statuses: ReadonlyMap<string, TermStatus>): string | null {
  for (const s of statuses.values()) if (!CLOSED_STATES.has(s.state)) return null
  const hashes = order.flatMap((id) => {
    const s = statuses.get(id)
    return s?.state === 'agreed' && s.agreedHash ? [s.agreedHash] : []
  })
  return hashes.length === 0 ? null : packageHashOfAgreed(hashes)
}

/** The package hash of the agreed terms' hashes, already in board order (what a signed record's reader recomputes). */
export const packageHashOfAgreed = (hashes: readonly string[]): string => sha256Hex(hashes.join('\n'))

/** The agreed terms of the package, in board order (what the record lists). */
export const packageTermIds = (order: readonly string[], statuses: ReadonlyMap<string, TermStatus>): string[] =>
  order.filter((id) => statuses.get(id)?.state === 'agreed')

/**
 * The package as it is to stand once the terms stand as they do: unchanged while its hash is the
 * same, a fresh package with no acceptances when the hash changed, and none while a term is open.
 */
export function settledPackage(current: PackageState | null, hash: string | null): PackageState | null {
  if (hash === null) return null
  if (current?.hash === hash) return current
  return { hash, acceptedBy: {} }
}

/** True when going from `current` to `next` takes acceptances away (they are void: say why). */
export const voidsAcceptances = (current: PackageState | null, next: PackageState | null): boolean =>
  current !== null && Object.keys(current.acceptedBy).length > 0 && (next === null || next.hash !== current.hash || Object.keys(next.acceptedBy).length === 0)

/** `package:accept` by `party`, optionally of the hash it saw (`seen`). */
export function acceptPackage(current: PackageState | null, party: string, seen: string | undefined): PackageState {
  if (!current) throw new TermRuleError(ErrorCode.packageOpen.name, 'there is no package yet: every term must be agreed, withdrawn or rejected')
  if (seen !== undefined && seen !== current.hash)
    throw new TermRuleError(ErrorCode.textChanged.name, 'the package changed since you saw it: review it again')
  if (current.acceptedBy[party] === current.hash)
    throw new TermRuleError(ErrorCode.termClosed.name, 'your delegation already accepted this package')
  return { ...current, acceptedBy: { ...current.acceptedBy, [party]: current.hash } }
}

/** True when every party is bound to the package's current hash. */
export const packageAgreed = (pkg: PackageState | null, parties: readonly string[]): pkg is PackageState =>
  pkg !== null && parties.length > 0 && parties.every((p) => pkg.acceptedBy[p] === pkg.hash)

/**
 * `negotiation:initial` by `party`: only once every party accepted the same package. Answers the
 * initials after it and, when that was the last one, the conclusion.
 */
export function initialPackage(
  pkg: PackageState | null,
  initials: Initials,
  parties: readonly string[],
  party: string,
  by: { user: string; at: number },
): { initials: Initials; concluded: Concluded | null } {
  if (!packageAgreed(pkg, parties))
    throw new TermRuleError(ErrorCode.packageOpen.name, 'every delegation must accept the package before anyone initials it')
  if (initials[party]?.hash === pkg.hash) throw new TermRuleError(ErrorCode.termClosed.name, 'your delegation already initialled the package')
  const next: Initials = { ...currentInitials(initials, pkg.hash), [party]: { ...by, hash: pkg.hash } }
  const everyone = parties.every((p) => next[p]?.hash === pkg.hash)
  return { initials: next, concluded: everyone ? { at: by.at, hash: pkg.hash } : null }
}

/** The initials that are of this package hash (those of an earlier package no longer count). */
export function currentInitials(initials: Initials, hash: string | undefined): Initials {
  const out: Initials = {}
  for (const [p, i] of Object.entries(initials)) if (i.hash === hash) out[p] = i
  return out
}
