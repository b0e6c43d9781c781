/**
 * Keeps the ledger's `authors` map (CONTRACT.md "Suggestions and authorship"):
 * each Yjs client id a connection introduced on the board, with that
 * connection's party and user, so any reader can colour every character of the
 * board by the delegation that wrote it.
 *
 * The room says which ids a committed batch introduced (RoomListener
 * onClaimsCommitted): only once the board commit is durable, so an update the
 * store refused names nobody, and only for connections — the server's own
 * writes are not a delegation's. A keystroke under a known id introduces
 * nothing and costs one size check here; a commit that introduced ids costs
 * one ledger write for all of them. An entry is never rewritten: the room refuses
 * an id to anyone but its first writer, so the first name is the only one.
 *
 * The write carries no move meta: the history makes no version of it and no
 * term's status or hash changes (fold.ts: ledger rows without a move make
 * none). It is a row of the ledger's log like any other, in its hash chain.
 *
 * The claims are stored with the board's batch, the names in the ledger write
 * that follows it. One that fails (the store) is tried again with the board's
 * next commit — the store answers again by then — without a timer that would
 * keep knocking on a store that is down. A crash between the two writes, or
 * an unload before the retry, loses the names of those ids (the board's rows
 * still carry their writers' party and user).
 */
import { addAuthors, authorKey, ledger, type AuthorEntry } from '../../shared/docLayout'
import type { Author } from '../store/types'
import type { Room } from '../sync/room'

const SERVER_AUTHOR: Author = { user: 'Parley', party: null, role: 'server', conn: 'server' }

/** Has the board room's committed claims named in its ledger room's `authors`. */
export function watchAuthors(boardRoom: Room, ledgerRoom: Room): void {
  /** names whose write failed, for the board's next commit */
  let unsaved = new Map<number, AuthorEntry>()
  const write = (entries: Map<number, AuthorEntry>) => {
    void writeAuthors(ledgerRoom, entries)?.catch(() => {
      // The ledger commit failed and its doc was rebuilt without them (the room logged why).
      for (const [id, e] of entries) if (!unsaved.has(id)) unsaved.set(id, e)
    })
  }
  const takeUnsaved = () => {
    const entries = unsaved
    unsaved = new Map()
    return entries
  }
  boardRoom.addListener({
    onCommitted: () => {
      if (unsaved.size > 0) write(takeUnsaved())
    },
    onClaimsCommitted: (_room, claims) => {
      const entries = takeUnsaved()
      for (const c of claims) if (!entries.has(c.clientId)) entries.set(c.clientId, { party: c.party, user: c.user })
      write(entries)
    },
  })
}

/** One ledger write naming every id of `entries` that `authors` lacks; null when it lacks none (or the room is gone). */
function writeAuthors(ledgerRoom: Room, entries: ReadonlyMap<number, AuthorEntry>): Promise<number> | null {
  // An unloaded room is destroyed with its doc: nobody writes to it again.
  if (ledgerRoom.doc.isDestroyed) return null
  const authors = ledger(ledgerRoom.doc).authors
  const missing = [...entries].filter(([id]) => !authors.has(authorKey(id)))
  if (missing.length === 0) return null
  return ledgerRoom.serverWrite(SERVER_AUTHOR, (doc) => addAuthors(doc, missing))
}
