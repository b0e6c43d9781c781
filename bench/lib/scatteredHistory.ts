/**
 * The store's worst case of issue 12: two delegations typing in turns —
 * keystroke by keystroke — into two long terms, each keystroke at a random
 * place (one in ten a backspace). No two neighbouring characters come from
 * the same run of typing, so Yjs can merge nothing: the doc's state grows
 * about as fast as its log, and so do its checkpoints. Same shape as
 * bench/lib/history.ts (one update per keystroke, the writer's client id).
 */
import * as Y from 'yjs'
import { prng } from '../../tests/helpers/prng'
import type { HistoryEdit } from './history'

const TEXT = 'The requested party shall surrender the person sought within thirty days of the request. '

export function generateScatteredHistory(count: number, seed = 42): { edits: HistoryEdit[]; final: Y.Doc } {
  const rand = prng(seed)
  const doc = new Y.Doc()
  const clientIds = [1000 + seed, 2000 + seed] as const
  const edits: HistoryEdit[] = []
  let writer: 0 | 1 = 0
  doc.on('update', (u: Uint8Array) => edits.push({ writer, update: u }))
  doc.clientID = clientIds[0]
  const terms = doc.getMap<Y.Map<unknown>>('terms')
  doc.transact(() => {
    for (const id of ['t0', 't1']) {
      const term = new Y.Map<unknown>()
      term.set('title', new Y.Text(id === 't0' ? 'Deadline' : 'Costs'))
      term.set('body', new Y.Text(''))
      term.set('x', id === 't0' ? 40 : 300)
      term.set('y', 40)
      terms.set(id, term)
      doc.getArray('order').push([id])
    }
  })
  const bodies = ['t0', 't1'].map((id) => terms.get(id)!.get('body') as Y.Text)
  let i = 0
  while (edits.length < count) {
    writer = writer === 0 ? 1 : 0
    doc.clientID = clientIds[writer]
    const body = bodies[rand() < 0.5 ? 0 : 1]!
    if (body.length > 0 && rand() < 0.1) body.delete(Math.floor(rand() * body.length), 1)
    else body.insert(Math.floor(rand() * (body.length + 1)), TEXT[i++ % TEXT.length]!)
  }
  return { edits: edits.slice(0, count), final: doc }
}
