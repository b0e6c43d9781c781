/**
 * The ledger's `authors`: the accessors (shared/docLayout.ts) — entries are
 * added once and never rewritten, a reader skips what does not fit the layout
 * — and the writer (server/negotiation/authorsWriter.ts) around fake rooms.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addAuthors, authorsOf, ledger, LEDGER_ROOTS } from '../../shared/docLayout'
import { watchAuthors } from '../../server/negotiation/authorsWriter'
import type { ClaimedClientId, Room, RoomListener } from '../../server/sync/room'
import type { Author } from '../../server/store/types'

describe('[AU2] authors on the ledger', () => {
  it('adds only the ids it lacks: the first name of a client id stays', () => {
    const doc = new Y.Doc()
    expect(LEDGER_ROOTS).toContain('authors')
    expect(doc.transact(() => addAuthors(doc, [[7, { party: 'us', user: 'J. Carter' }]]))).toBe(1)
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    const added = doc.transact(() =>
      addAuthors(doc, [
        [7, { party: 'ru', user: 'A. Volkova' }],
        [8, { party: 'ru', user: 'A. Volkova' }],
        [9, { party: null, user: 'dev' }],
      ]),
    )
    expect(added).toBe(2)
    expect(Object.fromEntries(authorsOf(doc))).toEqual({
      7: { party: 'us', user: 'J. Carter' },
      8: { party: 'ru', user: 'A. Volkova' },
      9: { party: null, user: 'dev' },
    })
    // Nothing to add: no update at all (the server writes nothing).
    updates.length = 0
    doc.transact(() => addAuthors(doc, [[8, { party: 'us', user: 'Mallory' }]]))
    expect(updates).toEqual([])
  })

  it('skips keys that are no client id and values that are no {party, user}', () => {
    const doc = new Y.Doc()
    const a = ledger(doc).authors
    a.set('12', { party: 'us', user: 'ok' })
    a.set('012', { party: 'us', user: 'leading zero' })
    a.set('-1', { party: 'us', user: 'negative' })
    a.set('x', { party: 'us', user: 'not a number' })
    a.set('13', { party: 5, user: 'bad party' })
    a.set('14', { party: 'us' })
    a.set('15', 'a string')
    expect(Object.fromEntries(authorsOf(doc))).toEqual({ 12: { party: 'us', user: 'ok' } })
  })
})

/** A board room that only keeps its listeners, and a ledger room whose commits fail while `failing`. */
function rooms() {
  const listeners: RoomListener[] = []
  const board = { addListener: (l: RoomListener) => listeners.push(l) }
  const doc = new Y.Doc()
  const writes: number[] = []
  const ledgerRoom = {
    doc,
    failing: false,
    serverWrite(_author: Author, change: (d: Y.Doc) => void): Promise<number> | null {
      // A failed commit: the room rebuilds its doc without the write (here: the write is not made).
      if (this.failing) return Promise.reject(new Error('store down'))
      let changed = false
      const seen = () => (changed = true)
      doc.on('update', seen)
      Y.transact(doc, () => change(doc))
      doc.off('update', seen)
      if (!changed) return null
      writes.push(authorsOf(doc).size)
      return Promise.resolve(writes.length)
    },
  }
  watchAuthors(board as unknown as Room, ledgerRoom as unknown as Room)
  const commit = (claims: ClaimedClientId[] = []) => {
    for (const l of listeners) l.onCommitted?.(board as unknown as Room, [])
    if (claims.length > 0) for (const l of listeners) l.onClaimsCommitted?.(board as unknown as Room, claims)
  }
  return { ledgerRoom, writes, commit, doc }
}
const settled = () => new Promise((r) => setTimeout(r, 0))

describe('[AU4] the authors writer', () => {
  it('names all the ids of one commit in one ledger write, never an id again, and nothing for a commit without new ids', async () => {
    const { writes, commit, doc } = rooms()
    commit([
      { clientId: 1, party: 'us', user: 'J. Carter' },
      { clientId: 2, party: 'ru', user: 'A. Volkova' },
    ])
    expect(writes).toEqual([2])
    commit()
    commit([{ clientId: 1, party: 'ru', user: 'Mallory' }])
    await settled()
    expect(writes).toEqual([2])
    expect(authorsOf(doc).get(1)).toEqual({ party: 'us', user: 'J. Carter' })
  })

  it('a write that failed is made with the board’s next commit; an unloaded ledger is left alone', async () => {
    const { ledgerRoom, writes, commit, doc } = rooms()
    ledgerRoom.failing = true
    commit([{ clientId: 7, party: 'us', user: 'J. Carter' }])
    await settled()
    expect(authorsOf(doc).size).toBe(0)
    ledgerRoom.failing = false
    commit()
    expect(Object.fromEntries(authorsOf(doc))).toEqual({ 7: { party: 'us', user: 'J. Carter' } })
    expect(writes).toEqual([1])
    doc.destroy()
    commit([{ clientId: 8, party: 'ru', user: 'A. Volkova' }])
    expect(writes).toEqual([1])
  })
})
