/**
 * A deterministic negotiation history for the cold-load and history
 * scenarios: two delegations take turns (runs of a few to ~100 edits) on a
 * board of up to 60 terms — typing (mostly at the end, sometimes inside),
 * deleting, retitling, moving cards. Each edit is one Yjs update, as a
 * keystroke is; both docs see every update at once, as clients that sync
 * through a server do.
 */
import * as Y from 'yjs'

export interface HistoryEdit {
  writer: 0 | 1
  update: Uint8Array
}

/** mulberry32: a small seeded PRNG, so every run and every target gets the same history. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
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
  let writer: 0 | 1 = 0
  let runLeft = 0
  let word = ''
  doc.on('update', (u: Uint8Array) => edits.push({ writer, update: u }))
  while (edits.length < count) {
    if (runLeft <= 0) {
      writer = writer === 0 ? 1 : 0
      runLeft = 1 + Math.floor(rand() * rand() * 200)
    }
    runLeft--
    doc.clientID = clientIds[writer]
    const termsMap = doc.getMap<Y.Map<unknown>>('terms')
    doc.transact(() => {
      const r = rand()
      if (terms.length < 3 || (r < 0.004 && terms.length < 60)) {
        const id = `t${terms.length}`
        const term = new Y.Map<unknown>()
        term.set('title', new Y.Text(`Article ${terms.length + 1}`))
        term.set('body', new Y.Text(''))
        term.set('x', 40 + (terms.length % 6) * 260)
        term.set('y', 40 + Math.floor(terms.length / 6) * 200)
        termsMap.set(id, term)
        doc.getArray('order').push([id])
        terms.push(id)
        return
      }
      // Mostly the most recent terms, sometimes any.
      const pick =
        rand() < 0.8 ? terms.length - 1 - Math.floor(rand() * Math.min(5, terms.length)) : Math.floor(rand() * terms.length)
      const term = termsMap.get(terms[pick]!)!
      const body = term.get('body') as Y.Text
      const title = term.get('title') as Y.Text
      if (r < 0.78) {
        if (!word) word = WORDS[Math.floor(rand() * WORDS.length)]! + ' '
        const n = Math.min(word.length, 1 + Math.floor(rand() * 3))
        const at = rand() < 0.85 ? body.length : Math.floor(rand() * (body.length + 1))
        body.insert(at, word.slice(0, n))
        word = word.slice(n)
      } else if (r < 0.93) {
        if (body.length > 10) {
          const len = 1 + Math.floor(rand() * 4)
          body.delete(Math.floor(rand() * (body.length - len)), len)
        } else body.insert(body.length, 'x')
      } else if (r < 0.97) {
        title.insert(title.length, rand() < 0.5 ? 's' : ' (rev.)')
      } else {
        term.set('x', Math.round(rand() * 1600))
        term.set('y', Math.round(rand() * 1200))
      }
    })
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
