/**
 * A term grown by two delegations typing in turns at random places, for
 * scenario (h): the updates that put the term on the board and grow its body
 * to `length` characters, in turns of TURN keystrokes (one in ten a
 * backspace), each turn under the client id of the delegation that typed it.
 * Typed at random places, no two neighbouring characters come from one run of
 * typing, so Yjs merges nothing: the body is about one item per character, as
 * a long clause written and rewritten by two delegations is — not one pasted
 * run. Same shape as bench/lib/scatteredHistory.ts, in turns.
 *
 * The turns are handed out merged into chunks of at most CHUNK keystrokes, to
 * be synced to a server by one client in a few updates: the term is the
 * subject, not the way it got there (one update per keystroke would make the
 * fill cost what the bench measures, 60 000 times over). Each chunk's
 * `structs` bounds what Parley charges it (structs and delete ranges).
 *
 * Generated in one doc whose client id switches with the turn: two replicas
 * exchanging updates would do the same work slower, as every remote update
 * drops Y.Text's search markers and the next insert walks from the start.
 */
import * as Y from 'yjs'
import { prng } from '../../tests/helpers/prng'

export interface TypingFill {
  termId: string
  /** the client ids the two delegations grew the term under (not those they type under later) */
  clients: [number, number]
  /** in order: the term's creation and its turns, merged; `structs`: at most this many structs and delete ranges */
  chunks: Array<{ update: Uint8Array; structs: number }>
  /** the body's length */
  length: number
  /** items in the body's list (deleted ones included) */
  items: number
}

const TURN = 100
const CHUNK = 10_000
const TEXT = 'The requested party shall surrender the person sought within thirty days of the request. '

export function growTerm(termId: string, length: number, seed: number): TypingFill {
  const rand = prng(seed)
  const clients: [number, number] = [1_000_000 + seed, 2_000_000 + seed]
  const doc = new Y.Doc()
  const chunks: TypingFill['chunks'] = []
  let pending: Uint8Array[] = []
  let structs = 0
  const flush = () => {
    if (pending.length > 0) chunks.push({ update: Y.mergeUpdates(pending), structs })
    pending = []
    structs = 0
  }
  doc.on('update', (u: Uint8Array) => pending.push(u))
  doc.clientID = clients[0]
  const body = new Y.Text('')
  doc.transact(() => {
    const term = new Y.Map<unknown>()
    term.set('title', new Y.Text('Annex'))
    term.set('body', body)
    term.set('x', 40)
    term.set('y', 40)
    doc.getMap('terms').set(termId, term)
    doc.getArray('order').push([termId])
  })
  structs = 6
  let typed = 0
  for (let turn = 0; body.length < length; turn++) {
    if (structs + TURN > CHUNK) flush()
    doc.clientID = clients[turn % 2 === 0 ? 0 : 1]
    doc.transact(() => {
      for (let k = 0; k < TURN && body.length < length; k++) {
        if (body.length > 0 && rand() < 0.1) body.delete(Math.floor(rand() * body.length), 1)
        else body.insert(Math.floor(rand() * (body.length + 1)), TEXT[typed++ % TEXT.length]!)
        structs++
      }
    })
  }
  flush()
  let items = 0
  for (let item = body._start; item !== null; item = item.right) items++
  const result = { termId, clients, chunks, length: body.length, items }
  doc.destroy()
  return result
}
