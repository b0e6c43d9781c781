/**
 * Issue #7, item 2 — read-only roles and caucus isolation.
 *
 * Observers and reviewers send every kind of write the protocol has — an
 * update, sync step 2 with and without new content, awareness — and every
 * mutating socket.io command: each is refused as CONTRACT.md says
 * (permission-denied, 4403 after 20, `wrong-role`), the doc's state vector
 * does not move, nothing is stored or broadcast. Then delegation B tries
 * every path to delegation A's caucus: websocket doc-name tricks, the API,
 * the export, the history, commands naming caucus terms.
 *
 * In-process server (its store and logs are at hand), real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CloseCode, MAX_REFUSED_WRITES, MessageType, PermissionDeniedReason, SyncMessageType } from '../../shared/protocol'
import { COMMAND_NAMES } from '../../shared/schemas'
import { insertTerm } from '../../shared/docLayout'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { startServer, type TestServer } from '../helpers/server'
import { Canary, expectStillServing } from '../helpers/canary'
import { Cleanup } from '../helpers/cleanup'
import { Witness } from '../helpers/storeLog'
import {
  awarenessMessage,
  yClient,
  rawClient,
  rawAdmitted,
  step2Message,
  synced,
  syncMessage,
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
const head = (doc: string) => server.parley.store.headSeq(doc)
const serverSv = (doc: string) => Y.encodeStateVector(server.parley.registry.peek(doc)!.doc)
const track = (c: YClient) => cleanup.add(c, (x) => x.destroy())

beforeAll(async () => {
  server = await startServer()
  cleanup.add(server, (s) => s.close())
  neg = await server.createNegotiation({
    title: 'Read-only',
    parties: [
      { id: 'a', name: 'Alpha' },
      { id: 'b', name: 'Beta' },
    ],
    terms: [{ title: 'Extradition', body: 'Each party shall…' }],
  })
  canary = cleanup.add(await Canary.open(server), (c) => c.close())
})

afterAll(async () => {
  await cleanup.run()
})

const watchers = ['observer', 'reviewer'] as const

describe('[RO1] watchers’ writes on the websocket are refused, and change nothing', () => {
  for (const role of watchers) {
    for (const kind of ['board', 'ledger'] as const) {
      it(`${role} on the ${kind}: update and step 2 with new content are denied; step 2 without new content and awareness are inert; 20 refusals close 4403`, async () => {
        const doc = `${neg.id}/${kind}`
        const watcher = track(yClient(server.wsUrl, doc, { token: neg.tokens.negotiator.b!, name: 'witness' }))
        const barrier =
          kind === 'board' ? track(yClient(server.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'barrier' })) : undefined
        if (barrier) await synced(barrier)
        const witness = new Witness(doc, watcher, () => head(doc), barrier)
        await witness.snapshot()
        watcher.provider.awareness.setLocalStateField('user', { name: 'witness' })
        const svBefore = serverSv(doc)

        const r = await rawAdmitted(server.wsUrl, doc, { token: neg.tokens[role], name: role })
        const root = kind === 'board' ? 'order' : 'status'
        const fresh = (i: number) =>
          updateFrom((d) =>
            root === 'order' ? d.getArray('order').push([`${role}-${i}`]) : d.getMap('status').set(`${role}-${i}`, i),
          )
        // Step 2 with nothing new: the server's own state, and an empty update — not a write, not refused.
        const known = Y.encodeStateAsUpdate(server.parley.registry.peek(doc)!.doc)
        r.send(step2Message(known))
        r.send(step2Message(Y.encodeStateAsUpdate(new Y.Doc())))
        // Awareness: accepted on the wire, relayed to nobody.
        r.send(awarenessMessage([{ clientId: 4242, clock: 1, state: { user: { name: `${role} cursor` } } }]))
        await new Promise((res) => setTimeout(res, 100))
        expect(r.denied()).toEqual([])
        expect(await r.closeCode(50)).toBe('open')

        // New content, as an update and as step 2: denied each time, closed on the 20th.
        for (let i = 0; i < MAX_REFUSED_WRITES; i++) r.send(i % 2 ? step2Message(fresh(i)) : updateMessage(fresh(i)))
        expect(await r.closeCode()).toBe(CloseCode.forbidden)
        expect(r.denied()).toEqual(Array(MAX_REFUSED_WRITES).fill(PermissionDeniedReason.readOnly))

        expect(serverSv(doc)).toEqual(svBefore)
        await witness.expectUntouched()
        expect(watcher.provider.awareness.getStates().has(4242)).toBe(false)
        await expectStillServing(server, canary)
      })
    }
  }

  it('the stock client of an observer: local edits are refused, the server’s doc and everyone else’s stay as they were', async () => {
    const doc = `${neg.id}/board`
    const watcher = track(yClient(server.wsUrl, doc, { token: neg.tokens.negotiator.b!, name: 'w' }))
    const barrier = track(yClient(server.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'barrier' }))
    await synced(barrier)
    const witness = new Witness(doc, watcher, () => head(doc), barrier)
    await witness.snapshot()
    const obs = track(yClient(server.wsUrl, doc, { token: neg.tokens.observer, name: 'obs' }))
    await synced(obs)
    obs.doc.transact(() => insertTerm(obs.doc, 'obs-term', { title: 'Observer term', body: 'should not exist' }))
    await waitFor(() => obs.denied.length > 0)
    expect(obs.denied[0]).toBe(PermissionDeniedReason.readOnly)
    await witness.expectUntouched()
    expect(watcher.doc.getMap('terms').has('obs-term')).toBe(false)
  })
})

describe('[RO2] every mutating socket.io command from a watcher is refused with wrong-role, and writes nothing', () => {
  it('observer and reviewer: all commands, with valid and with hostile payloads', async () => {
    const ledger = `${neg.id}/ledger`
    const board = `${neg.id}/board`
    const ledgerDoc = track(yClient(server.wsUrl, ledger, { token: neg.tokens.observer, name: 'l' }))
    await synced(ledgerDoc)
    const termId = [...ledgerDoc.doc.getMap('status').keys()][0]!
    const negotiator = controlClient(server.url, neg.tokens.negotiator.a!, 'a')
    await connected(negotiator)
    const [ledgerHead, boardHead] = [await head(ledger), await head(board)]
    const versionsBefore = negotiator.versions.length
    const payloads: Record<string, unknown[]> = {
      'term:accept': [{ termId }, { termId, party: 'a' }, { termId, adReferendum: { principal: 'Capital' } }],
      'term:confirm': [{ termId }],
      'term:choose': [{ termId, group: 0, option: 0 }],
      'package:accept': [{}, { hash: '0'.repeat(64) }],
      'negotiation:initial': [{}],
      'term:reject': [{ termId, reason: 'no' }],
      'term:withdraw': [{ termId }],
      'term:reopen': [{ termId }],
      'checkpoint:create': [{ name: 'sneaky' }],
      'term:restore': [{ termId, n: 1 }],
      'comment:add': [
        { termId, scope: 'shared', body: 'a watcher speaks' },
        { termId, scope: 'delegation', body: 'x', party: 'a' },
      ],
      'comment:reply': [{ threadId: 'th-x', scope: 'shared', body: 'x' }],
      'comment:edit': [{ threadId: 'th-x', commentId: 'c-x', scope: 'shared', body: 'x' }],
      'comment:delete': [{ threadId: 'th-x', commentId: 'c-x', scope: 'shared' }],
      'comment:resolve': [{ threadId: 'th-x', scope: 'shared' }],
      'comment:reopen': [{ threadId: 'th-x', scope: 'shared' }],
      'suggestion:accept': [{ termId, id: 's-x' }],
      'suggestion:reject': [{ termId, id: 's-x' }],
    }
    expect(Object.keys(payloads).sort()).toEqual([...COMMAND_NAMES].sort())
    for (const role of watchers) {
      const ctl = controlClient(server.url, neg.tokens[role], role)
      await connected(ctl)
      try {
        for (const name of COMMAND_NAMES) {
          for (const p of [...payloads[name]!, null, 'x', { __proto__: { termId } }]) {
            // Within the token's command budget (20/s), so each answer is the role's refusal, not the budget's.
            await new Promise((r) => setTimeout(r, 60))
            const ack = await ctl.command(name, p)
            expect(ack, `${role} ${name} ${JSON.stringify(p)}`).toMatchObject({ ok: false, error: { code: 'wrong-role' } })
          }
        }
      } finally {
        ctl.close()
      }
    }
    expect(await head(ledger)).toBe(ledgerHead)
    expect(await head(board)).toBe(boardHead)
    expect(await head(`${neg.id}/comments`)).toBe(0)
    // Barrier: a real checkpoint by a negotiator is the next version anyone hears of.
    expect(await negotiator.command('checkpoint:create', { name: 'real' })).toEqual({ ok: true })
    await waitFor(() => negotiator.versions.length > versionsBefore)
    expect(negotiator.versions.slice(versionsBefore).map((v) => v.name)).toEqual(['real'])
    negotiator.close()
    await expectStillServing(server, canary)
  })
})

describe('[RO3] delegation B can never open, read or write delegation A’s caucus', () => {
  const SECRET = 'our red line is article 7'
  let caucusA: YClient
  let caucusTerm: string

  beforeAll(async () => {
    caucusA = track(yClient(server.wsUrl, `${neg.id}/caucus/a`, { token: neg.tokens.negotiator.a!, name: 'Ann', ack: '1' }))
    await synced(caucusA)
    caucusTerm = 'caucus-term-1'
    caucusA.doc.transact(() => insertTerm(caucusA.doc, caucusTerm, { title: 'Fallback', body: SECRET }))
    caucusA.provider.awareness.setLocalStateField('user', { name: 'Ann in caucus' })
    await waitFor(() => caucusA.receipts.length > 0)
  })

  /** Doc-name spellings that might reach A's caucus; each is refused or is B's own doc, never A's. */
  const spellings = (id: string) => [
    `${id}/caucus/a`,
    `${id}/caucus/a/`,
    `${id}/caucus/A`,
    `${id}%2Fcaucus%2Fa`,
    `${id}/caucus%2Fa`,
    `${id}/caucus/b/../a`,
    `${id}/caucus/b/%2e%2e/a`,
    `${id}//caucus/a`,
    `${id}/caucus//a`,
    `${id}/caucus/a%00`,
    `${id}/caucus/a%3Fx`,
    `${id}/caucus/%61`,
    `${id}/caucus/a%20`,
    `${id}/./caucus/a`,
    `${id}/board/../caucus/a`,
    `${id.toUpperCase()}/caucus/a`,
  ]

  for (const role of ['b', 'observer', 'reviewer'] as const) {
    it(`websocket: ${role} gets 4403 for every spelling of A’s caucus, and never A’s content`, async () => {
      const token = role === 'b' ? neg.tokens.negotiator.b! : neg.tokens[role]
      const caucusHead = await head(`${neg.id}/caucus/a`)
      for (const name of spellings(neg.id)) {
        const r = rawClient(server.wsUrl, name, { token, name: 'Mallory' })
        r.ws.once('open', () => {
          r.send(syncMessage(SyncMessageType.step1, Y.encodeStateVector(new Y.Doc())))
          r.send(updateMessage(updateFrom((d) => d.getArray('order').push(['planted']))))
        })
        const code = await r.closeCode(3000)
        const leaked = r.messages.some((m) => Buffer.from(m).includes(Buffer.from(SECRET)))
        expect(leaked, `${role} ${name}`).toBe(false)
        if (code === 'open') {
          // Only B's own caucus may open (a spelling that normalises to it) — and it holds nothing of A's.
          expect(role, name).toBe('b')
          r.ws.close()
        } else {
          expect(code, `${role} ${name}`).toBe(CloseCode.forbidden)
          expect(
            r.messages.filter((m) => m[0] === MessageType.sync),
            name,
          ).toEqual([])
        }
      }
      expect(await head(`${neg.id}/caucus/a`)).toBe(caucusHead)
      expect(caucusA.doc.getArray('order').toArray()).not.toContain('planted')
    })
  }

  it('API, history and export never contain A’s caucus, for B and for the reviewer', async () => {
    for (const token of [neg.tokens.negotiator.b!, neg.tokens.reviewer, neg.tokens.observer]) {
      const versions = await server.api(`/api/negotiations/${neg.id}/versions`, { token })
      const bodies = [await versions.text()]
      const list = versions.status === 200 ? ((JSON.parse(bodies[0]!) as { versions: Array<{ n: number }> }).versions ?? []) : []
      for (const v of list) bodies.push(await (await server.api(`/api/negotiations/${neg.id}/versions/${v.n}`, { token })).text())
      const last = list.at(-1)?.n ?? 1
      for (const path of [
        `/api/negotiations/${neg.id}`,
        `/api/negotiations/${neg.id}/diff?from=0&to=${last}`,
        `/api/negotiations/${neg.id}/export?format=json`,
        `/api/negotiations/${neg.id}/export?format=md`,
        `/api/negotiations/${neg.id}/export?format=html`,
        '/api/session',
      ])
        bodies.push(await (await server.api(path, { token })).text())
      for (const body of bodies) {
        expect(body).not.toContain(SECRET)
        expect(body).not.toContain(caucusTerm)
        expect(body).not.toContain('Fallback')
      }
    }
  })

  it('socket.io: commands naming a caucus term find no such term; restore cannot copy it to the board', async () => {
    const ctl = controlClient(server.url, neg.tokens.negotiator.b!, 'Bo')
    await connected(ctl)
    const board = `${neg.id}/board`
    const before = { board: await head(board), caucus: await head(`${neg.id}/caucus/a`) }
    try {
      for (const name of ['term:accept', 'term:reject', 'term:withdraw', 'term:reopen'])
        expect(await ctl.command(name, { termId: caucusTerm }), name).toMatchObject({
          ok: false,
          error: { code: 'unknown-term' },
        })
      const restore = await ctl.command('term:restore', { termId: caucusTerm, n: 1 })
      expect(restore.ok).toBe(false)
    } finally {
      ctl.close()
    }
    expect(await head(board)).toBe(before.board)
    expect(await head(`${neg.id}/caucus/a`)).toBe(before.caucus)
  })

  it('awareness in A’s caucus reaches no one outside it', async () => {
    const bBoard = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.b!, name: 'Bo' }))
    const bCaucus = track(yClient(server.wsUrl, `${neg.id}/caucus/b`, { token: neg.tokens.negotiator.b!, name: 'Bo' }))
    await Promise.all([synced(bBoard), synced(bCaucus)])
    caucusA.provider.awareness.setLocalStateField('cursor', { at: 3 })
    await new Promise((r) => setTimeout(r, 200))
    for (const c of [bBoard, bCaucus]) {
      expect(c.provider.awareness.getStates().has(caucusA.doc.clientID)).toBe(false)
      expect(JSON.stringify([...c.provider.awareness.getStates().values()])).not.toContain('Ann in caucus')
      expect(c.doc.getMap('terms').has(caucusTerm)).toBe(false)
    }
    await expectStillServing(server, canary)
  })
})

describe('[RO4] no token in any log line of the in-process server', () => {
  it('server.logs hold no capability token', () => {
    const tokens = [...Object.values(neg.tokens.negotiator), neg.tokens.observer, neg.tokens.reviewer]
    expect(server.logs.length).toBeGreaterThan(0)
    for (const line of server.logs) for (const t of tokens) expect(line).not.toContain(t.split('.')[2]!)
  })
})
