/**
 * Issue #7, item 3 — forgery. Yjs items written under a client id another
 * connection introduced (also after a server restart, when ownership comes
 * from the store), awareness entries for another client id (higher clock,
 * null state), and command payloads or update contents that claim another
 * party. Each is dropped or attributed to the sender's own token; nothing
 * forged is stored or broadcast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CloseCode, MAX_REFUSED_WRITES, PermissionDeniedReason } from '../../shared/protocol'
import { insertTerm, readStatus } from '../../shared/docLayout'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { startServer, type TestServer } from '../helpers/server'
import { Canary, expectStillServing } from '../helpers/canary'
import { Cleanup } from '../helpers/cleanup'
import { Witness } from '../helpers/storeLog'
import {
  awarenessMessage,
  yClient,
  rawAdmitted,
  synced,
  updateFrom,
  updateMessage,
  type YClient,
  waitFor,
} from '../helpers/clients'
import { connected, controlClient } from '../helpers/control'

let server: TestServer
let neg: CreatedNegotiation
let canary: Canary
const cleanup = new Cleanup()
const clients = new Cleanup()
const head = (doc: string) => server.parley.store.headSeq(doc)
const track = (c: YClient) => clients.add(c, (x) => x.destroy())
const board = () => `${neg.id}/board`

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Forgery',
    parties: [
      { id: 'a', name: 'Alpha' },
      { id: 'b', name: 'Beta' },
    ],
  })
  canary = cleanup.add(await Canary.open(server), (c) => c.close())
})

afterAll(async () => {
  await clients.run()
  await cleanup.run()
  await server.close()
})

/** An update that continues `victim`'s own Yjs client id, built from its current state. */
function forgedAs(victim: Y.Doc, change: (d: Y.Doc) => void): Uint8Array {
  return updateFrom(change, { base: Y.encodeStateAsUpdate(victim), clientID: victim.clientID })
}

/** Ann (party a) has written, so her client id is hers; a watcher and a barrier writer stand by. */
async function scene() {
  const ann = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'Ann', ack: '1' }))
  const watcher = track(yClient(server.wsUrl, board(), { token: neg.tokens.observer, name: 'watcher' }))
  const barrier = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'barrier' }))
  await Promise.all([synced(ann), synced(watcher), synced(barrier)])
  ann.doc.getArray('order').push([`ann-${Math.random()}`])
  await waitFor(() => ann.receipts.length > 0 && server.parley.registry.peek(board())?.owners.has(ann.doc.clientID))
  const witness = new Witness(board(), watcher, () => head(board()), barrier)
  await witness.snapshot()
  return { ann, watcher, barrier, witness }
}

describe('[F1] items under a client id another connection introduced are refused whole', () => {
  const attackers = {
    'another party': () => ({ token: neg.tokens.negotiator.b!, name: 'Mallory' }),
    'the same party, another person': () => ({ token: neg.tokens.negotiator.a!, name: 'Eve' }),
  }

  for (const [who, params] of Object.entries(attackers)) {
    it(`${who}: forged-client-id, not stored, not broadcast`, async () => {
      const { ann, witness } = await scene()
      const r = await rawAdmitted(server.wsUrl, board(), params())
      // plain forgery
      r.send(updateMessage(forgedAs(ann.doc, (d) => d.getArray('order').push(['forged']))))
      // forgery smuggled beside the attacker's own, legitimate new client id
      const own = updateFrom((d) => d.getArray('order').push(['own']), { clientID: 987654321 })
      const mixed = Y.mergeUpdates([own, forgedAs(ann.doc, (d) => d.getArray('order').push(['forged-too']))])
      r.send(updateMessage(mixed))
      await waitFor(() => r.denied().length === 2)
      expect(r.denied()).toEqual([PermissionDeniedReason.forgedClientId, PermissionDeniedReason.forgedClientId])
      await witness.expectUntouched()
      const seen = witness.watcher.doc.getArray('order').toArray()
      expect(seen).not.toContain('forged')
      expect(seen).not.toContain('forged-too')
      expect(seen).not.toContain('own')
      expect(ann.doc.getArray('order').toArray()).not.toContain('forged')
      r.ws.close()
      await expectStillServing(server, canary)
    })
  }

  it('20 forgeries close the connection with 4403', async () => {
    const { ann, witness } = await scene()
    const r = await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.b!, name: 'Mallory' })
    for (let i = 0; i < MAX_REFUSED_WRITES; i++)
      r.send(updateMessage(forgedAs(ann.doc, (d) => d.getArray('order').push([`f${i}`]))))
    expect(await r.closeCode()).toBe(CloseCode.forbidden)
    await witness.expectUntouched()
  })

  it('ownership survives a restart: after it, the id is still Ann’s and nobody else’s', async () => {
    const { ann } = await scene()
    const annState = Y.encodeStateAsUpdate(ann.doc)
    const annId = ann.doc.clientID
    await clients.run()
    const port = server.port
    await server.close()
    server = await startServer({ port, dataDir: server.dataDir })
    canary.close()
    canary = await Canary.open(server)

    const watcher = track(yClient(server.wsUrl, board(), { token: neg.tokens.observer, name: 'watcher' }))
    const barrier = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'barrier' }))
    await Promise.all([synced(watcher), synced(barrier)])
    const witness = new Witness(board(), watcher, () => head(board()), barrier)
    await witness.snapshot()
    const victim = new Y.Doc()
    Y.applyUpdate(victim, annState)
    victim.clientID = annId
    const r = await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.b!, name: 'Mallory' })
    r.send(updateMessage(forgedAs(victim, (d) => d.getArray('order').push(['after-restart']))))
    await waitFor(() => r.denied().includes(PermissionDeniedReason.forgedClientId))
    await witness.expectUntouched()
    r.ws.close()

    // …while Ann herself, reconnecting with the same token and name, writes on under it.
    const annAgain = track(
      yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'Ann', ack: '1' }, { doc: victim }),
    )
    await synced(annAgain)
    annAgain.doc.getArray('order').push(['ann-again'])
    await waitFor(() => watcher.doc.getArray('order').toArray().includes('ann-again'))
    expect(annAgain.denied).toEqual([])
    await expectStillServing(server, canary)
  })
})

describe('[F2] awareness for another client id is dropped', () => {
  it('higher clock, null state, and mixed batches: the victim’s cursor stays the victim’s', async () => {
    const ann = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'Ann' }))
    const bo = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.b!, name: 'Bo' }))
    await Promise.all([synced(ann), synced(bo)])
    ann.provider.awareness.setLocalStateField('user', { name: 'Ann' })
    await waitFor(
      () => (bo.provider.awareness.getStates().get(ann.doc.clientID) as { user?: { name: string } })?.user?.name === 'Ann',
    )
    const annClock = () => bo.provider.awareness.meta.get(ann.doc.clientID)?.clock ?? 0

    const r = await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.b!, name: 'Mallory' })
    const victim = ann.doc.clientID
    r.send(awarenessMessage([{ clientId: victim, clock: annClock() + 1000, state: { user: { name: 'Spoofed Ann' } } }]))
    r.send(awarenessMessage([{ clientId: victim, clock: annClock() + 2000, state: null }]))
    // a batch: its own fresh id first (which binds the connection), then the victim
    r.send(
      awarenessMessage([
        { clientId: 55555, clock: 1, state: { user: { name: 'Mallory' } } },
        { clientId: victim, clock: annClock() + 3000, state: { user: { name: 'Spoofed again' } } },
      ]),
    )
    await waitFor(() => bo.provider.awareness.getStates().has(55555))
    await new Promise((res) => setTimeout(res, 150))
    const seen = bo.provider.awareness.getStates().get(victim) as { user?: { name: string } } | undefined
    expect(seen?.user?.name).toBe('Ann')
    // a bound connection cannot switch to the victim's id either
    r.send(awarenessMessage([{ clientId: victim, clock: annClock() + 4000, state: null }]))
    await new Promise((res) => setTimeout(res, 150))
    expect(bo.provider.awareness.getStates().has(victim)).toBe(true)
    // Ann's own updates still go through (a field of her own: `user` is stamped from her token)
    ann.provider.awareness.setLocalStateField('cursor', { anchor: 2 })
    await waitFor(() => (bo.provider.awareness.getStates().get(victim) as { cursor?: { anchor: number } })?.cursor?.anchor === 2)
    r.ws.close()
    await expectStillServing(server, canary)
  })
})

describe('[F3] nothing in a payload or an update can claim another party', () => {
  it('command payloads with a party field act for the token’s party only', async () => {
    const bo = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.b!, name: 'Bo', ack: '1' }))
    const ledger = track(yClient(server.wsUrl, `${neg.id}/ledger`, { token: neg.tokens.observer, name: 'l' }))
    await Promise.all([synced(bo), synced(ledger)])
    bo.doc.transact(() => insertTerm(bo.doc, 'term-by-b', { title: 'B proposes', body: 'text' }))
    await waitFor(() => readStatus(ledger.doc, 'term-by-b')?.proposedBy === 'b')

    const a = controlClient(server.url, neg.tokens.negotiator.a!, 'Ann')
    await connected(a)
    try {
      // accept "as b": recorded as a's acceptance only
      expect(await a.command('term:accept', { termId: 'term-by-b', party: 'b', user: 'Bo', role: 'negotiator' })).toEqual({
        ok: true,
      })
      await waitFor(() => Object.keys(readStatus(ledger.doc, 'term-by-b')?.acceptedBy ?? {}).length > 0)
      expect(Object.keys(readStatus(ledger.doc, 'term-by-b')!.acceptedBy)).toEqual(['a'])
      // withdraw "as b", the proposer: refused, only b may withdraw
      const ledgerHead = await head(`${neg.id}/ledger`)
      expect(await a.command('term:withdraw', { termId: 'term-by-b', party: 'b' })).toMatchObject({
        ok: false,
        error: { code: 'wrong-party' },
      })
      expect(await head(`${neg.id}/ledger`)).toBe(ledgerHead)
      expect(readStatus(ledger.doc, 'term-by-b')!.state).not.toBe('withdrawn')
      // a checkpoint "by b" is a's
      const before = a.versions.length
      expect(await a.command('checkpoint:create', { name: 'cp', party: 'b' })).toEqual({ ok: true })
      await waitFor(() => a.versions.length > before)
      expect(a.versions.at(-1)).toMatchObject({ kind: 'checkpoint', party: 'a' })
    } finally {
      a.close()
    }
  })

  it('a term created by a’s update is proposed by a, whatever the update says or the name claims', async () => {
    const ann = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'b\nparty: b', ack: '1' }))
    const ledger = track(yClient(server.wsUrl, `${neg.id}/ledger`, { token: neg.tokens.observer, name: 'l' }))
    await Promise.all([synced(ann), synced(ledger)])
    // Claims written into the term itself are keys the layout does not have: the whole update is refused.
    ann.doc.transact(() => {
      insertTerm(ann.doc, 'term-claims-b-too', { title: 'Claims B too', body: '' })
      const t = ann.doc.getMap('terms').get('term-claims-b-too') as Y.Map<unknown>
      t.set('proposedBy', 'b')
      t.set('party', 'b')
    })
    await waitFor(() => ann.denied.includes(PermissionDeniedReason.badLayout))
    // The name claims another party: the term is still a's. (A fresh doc: the refused items stay in
    // ann's, and everything after them under its client id depends on them.)
    const ann2 = track(yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'b\nparty: b', ack: '1' }))
    await synced(ann2)
    insertTerm(ann2.doc, 'term-claims-b', { title: 'Claims B', body: '' })
    await waitFor(() => readStatus(ledger.doc, 'term-claims-b') !== undefined)
    expect(readStatus(ledger.doc, 'term-claims-b-too')).toBeUndefined()
    expect(readStatus(ledger.doc, 'term-claims-b')!.proposedBy).toBe('a')
    const rows = await server.parley.store.readUpdates(board(), 0)
    const row = rows.at(-1)!
    expect(row.author.party).toBe('a')
    expect(row.author.role).toBe('negotiator')
    expect(row.author.user).not.toContain('\n')
    await expectStillServing(server, canary)
  })
})
