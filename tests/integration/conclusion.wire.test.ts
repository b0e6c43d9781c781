/**
 * A concluded negotiation on the wire (issue 17, item 7; CONTRACT.md "Concluding a negotiation":
 * every further write to the board is refused, permission-denied `concluded`). Concluded over the
 * control channel, then:
 *   [CW1] a negotiator's board connection, open since before the conclusion, is refused
 *         `concluded`; the observer never receives the refused update; neither log moves;
 *   [CW2] after MAX_REFUSED_WRITES refused writes the connection is closed with 4403 (not before);
 *   [CW3] the ledger takes no client write either (read-only, as always), commands are refused
 *         `concluded`, and nothing of it is stored or becomes a version;
 *   [CW4] a restarted server keeps it concluded: its board still refuses writes once reloaded;
 *   [CW5] two instances over Redis: a conclusion made on instance A makes instance B's board refuse
 *         writes too — a connection B already had open and a fresh one (skipped with one line when
 *         PostgreSQL or Redis is absent, unless PARLEY_REQUIRE_SERVICES=1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { board, readConclusion, termOrder, termText } from '../../shared/docLayout'
import { CloseCode, MAX_REFUSED_WRITES, PermissionDeniedReason } from '../../shared/protocol'
import type { CreatedNegotiation, Version } from '../../shared/schemas'
import { rawAdmitted, synced, updateMessage, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { startServer, type TestServer } from '../helpers/server'
import { startCluster, SYNC_MS, waitFor as waitLong, type Cluster } from '../helpers/cluster'
import { postgresForTests, redisForTests } from '../helpers/services'

const NEGOTIATION = {
  title: 'Extradition of ransomware operators',
  parties: [
    { id: 'us', name: 'United States' },
    { id: 'ru', name: 'Russian Federation' },
  ],
  terms: [
    { title: 'Response deadline', body: 'Requests are answered within 45 days.' },
    { title: 'Scope', body: 'Ransomware operators named in a request.' },
  ],
}
const CONCLUDED = PermissionDeniedReason.concluded

type Client = YClient | ControlClient
const closeAll = (clients: Client[]) => {
  for (const c of clients.splice(0)) 'destroy' in c ? c.destroy() : c.close()
}

async function ok(c: ControlClient, event: string, payload: unknown = {}) {
  const ack = await c.command(event, payload)
  expect(ack, `${event} ${JSON.stringify(payload)}`).toMatchObject({ ok: true })
  return ack
}

/**
 * Plays a negotiation to its conclusion over the control channel at `url`: both delegations
 * accept every term, then the package, then initial it. Answers the concluded package hash.
 */
async function conclude(url: string, neg: CreatedNegotiation, termIds: string[], open: Client[]): Promise<string> {
  const us = controlClient(url, neg.tokens.negotiator.us!, 'Ann (US)')
  const ru = controlClient(url, neg.tokens.negotiator.ru!, 'Boris (RU)')
  open.push(us, ru)
  await Promise.all([connected(us), connected(ru)])
  for (const termId of termIds) {
    await ok(us, 'term:accept', { termId })
    await ok(ru, 'term:accept', { termId })
  }
  const { hash } = (await ok(us, 'package:accept')) as unknown as { hash: string }
  await ok(ru, 'package:accept', { hash })
  expect(await ok(us, 'negotiation:initial')).toEqual({ ok: true, concluded: null })
  expect(await ok(ru, 'negotiation:initial')).toMatchObject({ ok: true, concluded: { hash } })
  return hash
}

/** Appends to a term's body on a client's copy (one update, sent by its provider). */
const append = (c: YClient, termId: string, s: string) => {
  const body = board(c.doc).terms.get(termId)!.get('body') as Y.Text
  body.insert(body.length, s)
}

/** Sets the client's awareness and waits until `other` sees it: every message sent before it was handled. */
async function barrier(writer: YClient, other: YClient, n: number, timeout = 5000) {
  writer.provider.awareness.setLocalStateField('barrier', n)
  await waitFor(
    () => (other.provider.awareness.getStates().get(writer.doc.clientID) as { barrier?: number } | undefined)?.barrier === n,
    {
      timeout,
      what: `barrier ${n}`,
    },
  )
}

describe('a concluded negotiation, one instance', () => {
  let server: TestServer
  let neg: CreatedNegotiation
  let termIds: string[]
  let hash: string
  const open: Client[] = []
  const track = <T extends Client>(c: T): T => (open.push(c), c)
  const boardClient = (token: string, name: string) => track(yClient(server.wsUrl, boardDocName(neg.id), { token, name }))
  const heads = async () => ({
    board: await server.parley.store.headSeq(boardDocName(neg.id)),
    ledger: await server.parley.store.headSeq(ledgerDocName(neg.id)),
  })
  const versions = async (): Promise<Version[]> => {
    const res = await server.api(`/api/negotiations/${neg.id}/versions?limit=5000`, { token: neg.tokens.reviewer })
    return ((await res.json()) as { versions: Version[] }).versions
  }

  // Open since before the conclusion: the negotiator who was typing when the other side initialled.
  let writer: YClient
  let observer: YClient
  /** updates the observer's board received after the conclusion */
  const seenByObserver: Uint8Array[] = []

  beforeAll(async () => {
    server = await startServer()
    neg = await server.createNegotiation(NEGOTIATION)
    writer = boardClient(neg.tokens.negotiator.us!, 'Ann (US)')
    observer = boardClient(neg.tokens.observer, 'Press')
    await Promise.all([synced(writer), synced(observer)])
    termIds = termOrder(observer.doc)
    hash = await conclude(server.url, neg, termIds, open)
    const ledger = track(yClient(server.wsUrl, ledgerDocName(neg.id), { token: neg.tokens.observer, name: 'Press' }))
    await synced(ledger)
    await waitFor(() => readConclusion(ledger.doc).concluded?.hash === hash, { what: 'the conclusion on the ledger' })
    observer.doc.on('update', (u: Uint8Array) => seenByObserver.push(u))
  })

  afterAll(async () => {
    closeAll(open)
    await server?.close()
  })

  it('[CW1] a board connection open since before the conclusion is refused `concluded`; the observer receives nothing; no log moves', async () => {
    const before = { heads: await heads(), versions: (await versions()).length, text: termText(observer.doc, termIds[0]!) }
    append(writer, termIds[0]!, ' Or 60.')
    await waitFor(() => writer.denied.includes(CONCLUDED), { what: 'the refusal' })
    // Everything the writer sent before its awareness was handled before it: the refusal, not a broadcast.
    await barrier(writer, observer, 1)
    expect(seenByObserver).toEqual([])
    expect(termText(observer.doc, termIds[0]!)).toEqual(before.text)
    expect(Y.decodeStateVector(Y.encodeStateVector(observer.doc)).has(writer.doc.clientID)).toBe(false)
    expect(await heads()).toEqual(before.heads)
    expect((await versions()).length).toBe(before.versions)
    expect(writer.denied.every((r) => r === CONCLUDED)).toBe(true)
  })

  it(`[CW2] after ${MAX_REFUSED_WRITES} refused writes the connection is closed with 4403, not before`, async () => {
    const before = await heads()
    const raw = await rawAdmitted(server.wsUrl, boardDocName(neg.id), { token: neg.tokens.negotiator.ru!, name: 'Boris (RU)' })
    // A copy of the board as it stands, whose edits follow on from it.
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(observer.doc))
    const updates: Uint8Array[] = []
    copy.on('update', (u: Uint8Array) => updates.push(u))
    const body = board(copy).terms.get(termIds[1]!)!.get('body') as Y.Text
    for (let i = 0; i < MAX_REFUSED_WRITES; i++) body.insert(body.length, ` ${i}`)
    expect(updates).toHaveLength(MAX_REFUSED_WRITES)

    for (const u of updates.slice(0, -1)) raw.send(updateMessage(u))
    await waitFor(() => raw.denied().length === MAX_REFUSED_WRITES - 1, { what: `${MAX_REFUSED_WRITES - 1} refusals` })
    expect(raw.denied().every((r) => r === CONCLUDED)).toBe(true)
    expect(await raw.closeCode(300)).toBe('open')
    raw.send(updateMessage(updates.at(-1)!))
    expect(await raw.closeCode()).toBe(CloseCode.forbidden)
    expect(raw.denied()).toEqual(Array(MAX_REFUSED_WRITES).fill(CONCLUDED))

    // The stock client, refused as often, is closed the same way.
    for (let i = writer.denied.length; i < MAX_REFUSED_WRITES; i++) append(writer, termIds[1]!, '.')
    await waitFor(() => writer.closes.some((c) => c.code === CloseCode.forbidden), { what: 'the stock client closed with 4403' })
    expect(seenByObserver).toEqual([])
    expect(await heads()).toEqual(before)
  })

  it('[CW3] the ledger takes no client write, and every command is refused `concluded`; nothing is stored', async () => {
    const before = { heads: await heads(), versions: (await versions()).length }
    const raw = await rawAdmitted(server.wsUrl, ledgerDocName(neg.id), { token: neg.tokens.negotiator.us!, name: 'Ann (US)' })
    const forged = new Y.Doc()
    const updates: Uint8Array[] = []
    forged.on('update', (u: Uint8Array) => updates.push(u))
    forged.getMap('meta').set('concluded', null)
    raw.send(updateMessage(updates[0]!))
    // The ledger never took a client's write: refused as it always was, read-only.
    await waitFor(() => raw.denied().length === 1, { what: 'the ledger’s refusal' })
    expect(raw.denied()).toEqual([PermissionDeniedReason.readOnly])
    raw.ws.close()

    const ru = track(controlClient(server.url, neg.tokens.negotiator.ru!, 'Boris (RU)'))
    await connected(ru)
    for (const [event, payload] of [
      ['term:accept', { termId: termIds[0] }],
      ['term:reject', { termId: termIds[0] }],
      ['term:reopen', { termId: termIds[0] }],
      ['term:confirm', { termId: termIds[0] }],
      ['term:choose', { termId: termIds[0], group: 0, option: 0 }],
      ['package:accept', { hash }],
      ['negotiation:initial', {}],
      ['checkpoint:create', { name: 'After the end' }],
    ] as const) {
      expect(await ru.command(event, payload), event).toMatchObject({ ok: false, error: { code: 'concluded' } })
    }
    expect(await heads()).toEqual(before.heads)
    expect((await versions()).length).toBe(before.versions)
  })

  it('[CW4] a restarted server keeps the negotiation concluded: the reloaded board still refuses writes', async () => {
    const before = { heads: await heads(), versions: await versions(), text: termText(observer.doc, termIds[0]!) }
    closeAll(open)
    await server.close()
    server = await startServer({ dataDir: server.dataDir })
    const ledger = track(yClient(server.wsUrl, ledgerDocName(neg.id), { token: neg.tokens.reviewer, name: 'Reviewer' }))
    const press = boardClient(neg.tokens.observer, 'Press')
    const ru = boardClient(neg.tokens.negotiator.ru!, 'Boris (RU)')
    await Promise.all([synced(ledger), synced(press), synced(ru)])
    expect(readConclusion(ledger.doc).concluded?.hash).toBe(hash)
    const seen: Uint8Array[] = []
    press.doc.on('update', (u: Uint8Array) => seen.push(u))
    append(ru, termIds[0]!, ' Unless extended.')
    await waitFor(() => ru.denied.includes(CONCLUDED), { what: 'the refusal after the restart' })
    await barrier(ru, press, 2)
    expect(seen).toEqual([])
    expect(termText(press.doc, termIds[0]!)).toEqual(before.text)
    expect(await heads()).toEqual(before.heads)
    expect(await versions()).toEqual(before.versions)
    const c = track(controlClient(server.url, neg.tokens.negotiator.us!, 'Ann (US)'))
    await connected(c)
    expect(await c.command('term:reopen', { termId: termIds[1] })).toMatchObject({ ok: false, error: { code: 'concluded' } })
  })
})

const pgUrl = await postgresForTests('conclusion over two instances')
const redisUrl = await redisForTests('conclusion over two instances')

describe.skipIf(!pgUrl || !redisUrl)('a concluded negotiation, two instances over Redis', () => {
  let cluster: Cluster
  const open: Client[] = []

  beforeAll(async () => {
    cluster = await startCluster({ size: 2, pgUrl: pgUrl!, redisUrl: redisUrl! })
  }, 180_000)

  afterAll(async () => {
    closeAll(open)
    await cluster?.close()
  })

  it('[CW5] a conclusion made on instance A makes instance B’s board refuse writes, on open and new connections', async () => {
    const neg = await cluster.createNegotiation(cluster.http(0), NEGOTIATION)
    const on = (i: number, doc: 'board' | 'ledger', token: string, name: string) => {
      const c = yClient(cluster.ws(i), `${neg.id}/${doc}`, { token, name })
      open.push(c)
      return c
    }
    // B has the board loaded, a negotiator typing on it and the press watching; A too has its watcher.
    const ruOnB = on(1, 'board', neg.tokens.negotiator.ru!, 'Boris (RU)')
    const pressOnB = on(1, 'board', neg.tokens.observer, 'Press B')
    const pressOnA = on(0, 'board', neg.tokens.observer, 'Press A')
    const ledgerOnB = on(1, 'ledger', neg.tokens.observer, 'Press B')
    await Promise.all([ruOnB, pressOnB, pressOnA, ledgerOnB].map((c) => synced(c, SYNC_MS)))
    const termIds = termOrder(pressOnA.doc)
    append(ruOnB, termIds[1]!, ' Before the end.')
    await waitLong(() => termText(pressOnA.doc, termIds[1]!)?.body.endsWith(' Before the end.'), { what: 'B’s edit on A' })

    const hash = await conclude(cluster.http(0), neg, termIds, open)
    // B's ledger learns of it over Redis; from then on B's board refuses.
    await waitLong(() => readConclusion(ledgerOnB.doc).concluded?.hash === hash, { what: 'the conclusion on B' })
    const seen: Uint8Array[] = []
    pressOnA.doc.on('update', (u: Uint8Array) => seen.push(u))
    pressOnB.doc.on('update', (u: Uint8Array) => seen.push(u))
    const text = termText(pressOnA.doc, termIds[0]!)
    append(ruOnB, termIds[0]!, ' Or never.')
    await waitLong(() => ruOnB.denied.includes(CONCLUDED), { what: 'B’s refusal' })
    const usOnB = on(1, 'board', neg.tokens.negotiator.us!, 'Ann (US)')
    await synced(usOnB, SYNC_MS)
    append(usOnB, termIds[1]!, ' After the end.')
    await waitLong(() => usOnB.denied.includes(CONCLUDED), { what: 'B’s refusal of a new connection' })
    await barrier(ruOnB, pressOnB, 1, SYNC_MS)
    await barrier(usOnB, pressOnB, 2, SYNC_MS)
    // A relays awareness of B's clients too: once A has it, A has anything B would have sent before.
    await barrier(usOnB, pressOnA, 3, SYNC_MS)
    expect(seen).toEqual([])
    expect(termText(pressOnB.doc, termIds[0]!)).toEqual(text)
    expect(termText(pressOnA.doc, termIds[0]!)).toEqual(text)
  }, 120_000)
})
