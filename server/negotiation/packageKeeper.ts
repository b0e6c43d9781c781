/**
 * Keeps the ledger's `meta.package` in step with the terms (CONTRACT.md
 * "Concluding a negotiation"): every ledger write that moves a term's status
 * calls `settlePackage` inside its own transaction, so the package appears,
 * changes hash (voiding every acceptance) or disappears in the same commit
 * as the move that caused it — never a moment later, never on its own.
 * It reads every term's status and the board's order: a command's cost, not
 * a keystroke's (status moves are commands, proposals and reopens).
 */
import type * as Y from 'yjs'
import { allStatuses, ledger, readConclusion, termOrder, writeConclusion } from '../../shared/docLayout'
import { currentInitials, packageHashOf, settledPackage, voidsAcceptances, type PackageState, type VoidCause } from '../../shared/conclusion'

/** Brings `meta.package` (and the initials that belong to it) up to date; writes only what changed. */
export function settlePackage(ledgerDoc: Y.Doc, boardDoc: Y.Doc, cause: VoidCause): void {
  const current = readConclusion(ledgerDoc)
  if (current.concluded) return
  const hash = packageHashOf(termOrder(boardDoc), allStatuses(ledgerDoc))
  const next = settledPackage(current.package, hash)
  if (next === current.package) return
  writeConclusion(ledgerDoc, {
    package: next,
    initials: currentInitials(current.initials, next?.hash),
    ...(voidsAcceptances(current.package, next) ? { voided: cause } : {}),
  })
}

/**
 * True when an edit of the board would void acceptances of the package: checked on every
 * keystroke, so it reads the one `meta.package` entry (O(1) while nobody accepted a package).
 */
export function editVoidsPackage(ledgerDoc: Y.Doc): boolean {
  const pkg = ledger(ledgerDoc).meta.get('package') as PackageState | undefined
  return !!pkg && typeof pkg === 'object' && Object.keys(pkg.acceptedBy ?? {}).length > 0
}

/** Voids every acceptance of the package (an edit changed the text the delegations bound themselves to). */
export function voidPackageAcceptances(ledgerDoc: Y.Doc, cause: VoidCause): void {
  const current = readConclusion(ledgerDoc)
  if (current.concluded || !current.package || Object.keys(current.package.acceptedBy).length === 0) return
  writeConclusion(ledgerDoc, { package: { hash: current.package.hash, acceptedBy: {} }, initials: {}, voided: cause })
}
