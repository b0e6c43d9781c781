/**
 * A deterministic negotiation history for the cold-load and history
 * scenarios: two delegations take turns (runs of one to ~200 keystrokes, one
 * term per run) on a board of up to 60 terms — typing at a cursor (mostly at
 * the end of a term, sometimes inside), backspacing, retitling, moving cards.
 * Each keystroke is one Yjs update; both delegations see every update at
 * once, as clients that sync through a server do.
 */
import * as Y from 'yjs'
import { prng } from '../../tests/helpers/prng'

export interface HistoryEdit {
  writer: 0 | 1
  update: Uint8Array
}

const WORDS =
  'party parties shall extradite request offence ransomware operator evidence within days notice court review consent territory'.split(
    ' ',
  )

export function generateHistory(count: number, seed = 42): { edits: HistoryEdit[]; final: Y.Doc } {
  const rand = prng(seed)
  // One doc whose client id switches with the writer: the same updates two
  // synced docs would produce, without applying each update twice.
  const doc = new Y.Doc()
  const clientIds = [1000 + seed, 2000 + seed] as const
  const edits: HistoryEdit[] = []
  const terms: string[] = []
  const termsMap = doc.getMap<Y.Map<unknown>>('terms')
  let writer: 0 | 1 = 0
  let runLeft = 0
  let word = ''
  // A run is one delegation at one term, typing at a cursor as a person does: mostly
  // characters at the cursor, some backspaces, now and then the cursor moves.
  let body: Y.Text | null = null
  let cursor = 0
  doc.on('update', (u: Uint8Array) => edits.push({ writer, update: u }))
  const newTerm = () => {
    const id = `t${terms.length}`
    const term = new Y.Map<unknown>()
    term.set('title', new Y.Text(`Article ${terms.length + 1}`))
    term.set('body', new Y.Text(''))
    term.set('x', 40 + (terms.length % 6) * 260)
    term.set('y', 40 + Math.floor(terms.length / 6) * 200)
    termsMap.set(id, term)
    doc.getArray('order').push([id])
    terms.push(id)
  }
  while (edits.length < count) {
    if (runLeft <= 0) {
      writer = writer === 0 ? 1 : 0
      runLeft = 1 + Math.floor(rand() * rand() * 200)
      doc.clientID = clientIds[writer]
      if (terms.length < 3 || (rand() < 0.03 && terms.length < 60)) {
        doc.transact(newTerm)
        runLeft--
      }
      // Mostly one of the most recent terms, sometimes any; at its end or, now and then, inside.
      const pick =
        rand() < 0.8 ? terms.length - 1 - Math.floor(rand() * Math.min(5, terms.length)) : Math.floor(rand() * terms.length)
      body = termsMap.get(terms[pick]!)!.get('body') as Y.Text
      cursor = rand() < 0.8 ? body.length : Math.floor(rand() * (body.length + 1))
      continue
    }
    runLeft--
    const r = rand()
    const text = body!
    doc.transact(() => {
      if (r < 0.86 || cursor === 0) {
        if (!word) word = WORDS[Math.floor(rand() * WORDS.length)]! + ' '
        const ch = word[0]!
        word = word.slice(1)
        text.insert(cursor++, ch)
      } else if (r < 0.97) {
        text.delete(--cursor, 1)
      } else if (r < 0.985) {
        const title = (text.parent as Y.Map<unknown>).get('title') as Y.Text
        title.insert(title.length, rand() < 0.5 ? 's' : ' (rev.)')
      } else {
        const term = text.parent as Y.Map<unknown>
        term.set('x', Math.round(rand() * 1600))
        term.set('y', Math.round(rand() * 1200))
      }
    })
    cursor = Math.min(cursor, text.length)
  }
  return { edits: edits.slice(0, count), final: doc }
}

/** What a board shows: each term's title and body, in order. Equal for two docs that converged. */
export function boardDigest(doc: Y.Doc): string {
  const terms = doc.getMap<Y.Map<unknown>>('terms')
  const order = doc.getArray<string>('order').toArray()
  return JSON.stringify(
    order.map((id) => [id, String(terms.get(id)?.get('title') ?? ''), String(terms.get(id)?.get('body') ?? '')]),
  )
}
