/**
 * A sealed caucus served by two instances on one PostgreSQL and one Redis
 * (issue 21): a sealed update sent to instance 0 reaches a connection of
 * instance 1 as a 201 with its seq, and writers on both instances at once
 * make one gap-free order that every connection sees in order, whichever
 * instance it is on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sealedDocName } from '../../shared/docNames'
import { importSealedKey, newSealedKeyBytes } from '../../shared/sealedCrypto'
import { postgresForTests, redisForTests } from '../helpers/services'
import { startCluster, waitFor, type Cluster } from '../helpers/cluster'
import { mintToken } from '../helpers/server'
import { sealedClient, type SealedClient } from '../helpers/sealedClient'
import type { CreatedNegotiation } from '../../server/negotiation/service'

const pgUrl = await postgresForTests('sealed caucus, cluster')
const redisUrl = await redisForTests('sealed caucus, cluster')

describe.skipIf(!pgUrl || !redisUrl)('a sealed caucus on two instances', () => {
  let cluster: Cluster
  let neg: CreatedNegotiation
  let key: CryptoKey
  let second: string
  const open: SealedClient[] = []
  const client = (i: number, token: string, name: string) => {
    const c = sealedClient(cluster.ws(i), sealedDocName(neg.id, 'a'), token, key, { name })
    open.push(c)
    return c
  }

  beforeAll(async () => {
    cluster = await startCluster({ size: 2, pgUrl: pgUrl!, redisUrl: redisUrl! })
    neg = await cluster.createNegotiation(cluster.http(0))
    key = await importSealedKey(newSealedKeyBytes())
    second = (
      await mintToken({ url: cluster.http(1), adminToken: cluster.instances[0]!.adminToken }, neg.id, {
        role: 'negotiator',
        party: 'a',
      })
    ).token
  })

  afterAll(async () => {
    for (const c of open) c.close()
    await cluster?.close()
  })

  it('[SK8] a 200 on instance 0 reaches instance 1 as a 201; writers on both make one gap-free order everywhere', async () => {
    const A = client(0, neg.tokens.negotiator.a!, 'A on 0')
    const B = client(1, second, 'B on 1')
    const B2 = client(1, neg.tokens.negotiator.a!, 'B2 on 1')
    await Promise.all([A.catchUp(0), B.catchUp(0), B2.catchUp(0)])

    const sent = await A.seal('across instances')
    await waitFor(() => B.relays.length === 1 && B2.relays.length === 1 && A.receipts.length === 1, {
      what: 'the 201 on instance 1',
    })
    expect(A.receipts).toEqual([1])
    expect(B.relays[0]!.seq).toBe(1)
    expect(Buffer.from(B.relays[0]!.ciphertext).equals(Buffer.from(sent.ciphertext))).toBe(true)
    expect(new TextDecoder().decode(await B.open(B.relays[0]!))).toBe('across instances')

    // both instances take writes at once
    const n = 40
    await Promise.all(Array.from({ length: n }, (_, i) => [A.seal(`A${i}`), B.seal(`B${i}`)]).flat())
    const last = 1 + 2 * n
    const all = Array.from({ length: last }, (_, i) => i + 1)
    await waitFor(() => [A, B, B2].every((c) => c.seqs.at(-1) === last && c.seqs.length === last), {
      what: 'every seq on every connection',
    })
    for (const c of [A, B, B2]) expect(c.seqs, c.docName).toEqual(all)
    expect(B2.receipts).toEqual([])
    expect(B2.relays.map((r) => r.seq)).toEqual(all)
    // what B2 relays opens to both writers' texts, each writer's in its own order
    const texts = await Promise.all(B2.relays.map((r) => B2.open(r).then((p) => new TextDecoder().decode(p))))
    expect(texts.filter((t) => t.startsWith('A') && t !== 'across instances')).toEqual(
      Array.from({ length: n }, (_, i) => `A${i}`),
    )
    expect(texts.filter((t) => t.startsWith('B'))).toEqual(Array.from({ length: n }, (_, i) => `B${i}`))

    // a newcomer on either instance catches up on all of it from the store
    const C = client(0, second, 'C on 0')
    const caught = await C.catchUp(0)
    expect(caught.head).toBe(last)
    expect(caught.rows.map((r) => r.seq)).toEqual(all)
    for (const c of [A, B, B2, C]) expect(c.unexpected).toEqual([])
  })
})
