/**
 * The signed record of a concluded negotiation (`GET …/record`, shared/record.ts), built from the
 * store alone: the board and the ledger as their logs stand at the chain heads it names, so the
 * text, the hashes and the heads always describe one and the same state (a room in memory may be
 * ahead of the store by a commit in flight).
 *
 * Before it signs, it checks what it is about to sign: every listed term's text on the board must
 * hash to the hash the ledger agreed, and those hashes must make the concluded package hash. A
 * mismatch would mean the store holds a conclusion the board does not bear out: an internal error,
 * never a signature.
 */
import { currentInitials, packageHashOfAgreed, packageTermIds } from '../../shared/conclusion'
import { allStatuses, readConclusion, termOrder, termText } from '../../shared/docLayout'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { ErrorCode } from '../../shared/errors'
import { termHash } from '../../shared/negotiation'
import { signedBytes, type ChainPoint, type SignedRecord, type UnsignedRecord } from '../../shared/record'
import { ParleyError } from '../errors'
import { docAt } from '../history/reconstruct'
import type { NegotiationRecord, Store } from '../store/types'
import type { SigningKey } from './signingKey'

/** The chain heads a record is built at (and a cached one is still good for). */
export interface RecordHeads {
  board: ChainPoint
  ledger: ChainPoint
}

export const headsOf = async (store: Store, negotiationId: string): Promise<RecordHeads> => {
  const [board, ledger] = await Promise.all([
    store.chainHead(boardDocName(negotiationId)),
    store.chainHead(ledgerDocName(negotiationId)),
  ])
  return { board: { seq: board.seq, hash: board.hash }, ledger: { seq: ledger.seq, hash: ledger.hash } }
}

export const notConcluded = () =>
  new ParleyError(ErrorCode.notConcluded.name, 'this negotiation is not concluded: there is no record to sign yet')

const iso = (ms: number) => new Date(ms).toISOString()

/** The record of `negotiation` at `heads`, signed with `key`. 404 not-concluded before conclusion. */
export async function buildRecord(
  store: Store,
  negotiation: NegotiationRecord,
  heads: RecordHeads,
  key: SigningKey,
): Promise<SignedRecord> {
  const id = negotiation.id
  const ledger = await docAt(store, ledgerDocName(id), heads.ledger.seq)
  const board = await docAt(store, boardDocName(id), heads.board.seq)
  try {
    const { concluded, initials } = readConclusion(ledger)
    if (!concluded) throw notConcluded()
    const statuses = allStatuses(ledger)
    const terms = packageTermIds(termOrder(board), statuses).map((termId) => {
      const text = termText(board, termId)!
      const hash = termHash(text)
      const agreed = statuses.get(termId)!.agreedHash
      if (hash !== agreed)
        throw new Error(`record of ${id}: term ${termId} on the board hashes to ${hash}, the ledger agreed ${agreed}`)
      return { id: termId, title: text.title, body: text.body, hash }
    })
    const packageHash = terms.length > 0 ? packageHashOfAgreed(terms.map((t) => t.hash)) : null
    if (packageHash !== concluded.hash)
      throw new Error(`record of ${id}: the agreed terms make package ${packageHash}, the ledger concluded ${concluded.hash}`)
    const current = currentInitials(initials, concluded.hash)
    const record: UnsignedRecord = {
      negotiationId: id,
      title: negotiation.title,
      parties: negotiation.parties.map((p) => ({ id: p.id, name: p.name })),
      packageHash,
      terms,
      initials: negotiation.parties.map((p) => {
        const i = current[p.id]
        if (!i) throw new Error(`record of ${id}: concluded, but ${p.id} has no initial of package ${concluded.hash}`)
        return { party: p.id, user: i.user, at: iso(i.at) }
      }),
      chain: heads,
      concludedAt: iso(concluded.at),
      kid: key.kid,
    }
    return { ...record, signature: key.sign(signedBytes(record)) }
  } finally {
    ledger.destroy()
    board.destroy()
  }
}
