/**
 * The ledger's `authors` map through the real server (CONTRACT.md
 * "Suggestions and authorship"): the server names every Yjs client id a
 * negotiator introduces on the board, with that negotiator's party and user;
 * nobody can write a name (the ledger is server-written, a client id is its
 * first writer's); the names make no version and move no term; and they are
 * in the store, so a restart keeps them.
 */
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { allStatuses, authorsOf, board as boardOf, ledger as ledgerOf, termsInOrder } from '../../shared/docLayout'
import { ledgerDocName } from '../../shared/docNames'
import type { Version } from '../../shared/schemas'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { startServer, type TestServer } from '../helpers/server'
import { rawAdmitted, synced, updateFrom, updateMessage, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'

let server: TestServer
let neg: CreatedNegotiation
const open: Array<YClient | ControlClient> = []
const track = <T extends YClient | ControlClient>(c: T) => (open.push(c), c)

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Who wrote what',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [
      { title: 'Deadline', body: 'Requests are answered within 30 days.' },
      { title: 'Costs', body: 'Each party bears its own costs.' },
    ],
  })
})

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server.close()
  rmSync(server.dataDir, { recursive: true, force: true })
})

const boardClient = (token: string, name: string) => track(yClient(server.wsUrl, `${neg.id}/board`, { token, name }))
const body = (c: YClient, title: string) => {
  const id = termsInOrder(c.doc).find((t) => t.title === title)!.id
  return boardOf(c.doc).terms.get(id)!.get('body') as Y.Text
}
const versions = async (): Promise<Version[]> => {
  const res = await server.api(`/api/negotiations/${neg.id}/versions`, { token: neg.tokens.reviewer })
  expect(res.status).toBe(200)
  return ((await res.json()) as { versions: Version[] }).versions
}
const ledgerRoom = () => server.parley.registry.get(ledgerDocName(neg.id))
/** The ledger's log as stored: how many rows, and the newest seq. */
const ledgerRows = async () => (await server.parley.store.readUpdates(ledgerDocName(neg.id), 0)).length

describe('[AU1] the ledger names the writer of every client id on the board', () => {
  let carter: YClient
  let volkova: YClient
  let named: Map<number, { party: string | null; user: string }>

  it('each negotiator’s client id maps to their party and user, written by the server once', async () => {
    const us = track(controlClient(server.url, neg.tokens.negotiator.us!, 'J. Carter'))
    const ru = track(controlClient(server.url, neg.tokens.negotiator.ru!, 'A. Volkova'))
    await Promise.all([connected(us), connected(ru)])
    carter = boardClient(neg.tokens.negotiator.us!, 'J. Carter')
    volkova = boardClient(neg.tokens.negotiator.ru!, 'A. Volkova')
    await Promise.all([synced(carter), synced(volkova)])
    // 'Deadline' agreed before anyone types: its status and hash must not move below.
    const deadline = termsInOrder(carter.doc).find((t) => t.title === 'Deadline')!.id
    expect(await us.command('term:accept', { termId: deadline })).toEqual({ ok: true })
    expect(await ru.command('term:accept', { termId: deadline })).toEqual({ ok: true })
    const ledger = track(yClient(server.wsUrl, `${neg.id}/ledger`, { token: neg.tokens.observer, name: 'Press' }))
    await synced(ledger)
    await waitFor(() => allStatuses(ledger.doc).get(deadline)?.state === 'agreed', { what: 'the agreement' })
    const statusesBefore = allStatuses(ledger.doc)
    const versionsBefore = await versions()
    expect(authorsOf(ledger.doc).size).toBe(0)

    // An observer's keystroke is refused (read-only): it names nobody.
    const press = boardClient(neg.tokens.observer, 'Press')
    await synced(press)
    body(press, 'Costs').insert(0, 'X')
    await waitFor(() => press.denied.includes('read-only'), { what: 'the refusal' })

    body(carter, 'Costs').insert(0, 'Unless agreed otherwise, ')
    await waitFor(() => authorsOf(ledger.doc).has(carter.doc.clientID), { what: 'Carter named' })
    body(volkova, 'Costs').insert(body(volkova, 'Costs').length, ' Fees are shared.')
    await waitFor(() => authorsOf(ledger.doc).has(volkova.doc.clientID), { what: 'Volkova named' })
    named = authorsOf(ledger.doc)
    expect(Object.fromEntries(named)).toEqual({
      [carter.doc.clientID]: { party: 'us', user: 'J. Carter' },
      [volkova.doc.clientID]: { party: 'ru', user: 'A. Volkova' },
    })
    // The server's own client ids (it wrote the opening terms and the moves) are nobody's delegation.
    expect([...named.keys()].sort()).toEqual([carter.doc.clientID, volkova.doc.clientID].sort())

    // No term moved: the agreed term keeps its state and hash, the other its status.
    expect(allStatuses(ledger.doc)).toEqual(statusesBefore)
    // The names are no version: the history holds the two edits and nothing else.
    await waitFor(async () => (await versions()).length >= versionsBefore.length + 2, { what: 'the edit versions' })
    const after = await versions()
    expect(after.slice(0, versionsBefore.length)).toEqual(versionsBefore)
    expect(after.slice(versionsBefore.length).map((v) => [v.kind, v.party, v.user])).toEqual([
      ['edit', 'us', 'J. Carter'],
      ['edit', 'ru', 'A. Volkova'],
    ])
  })

  it('later keystrokes under a named client id write nothing to the ledger', async () => {
    const room = await ledgerRoom()
    await waitFor(() => !room.pendingWork, { what: 'the ledger settled' })
    const rows = await ledgerRows()
    const seq = room.committedSeq
    for (let i = 0; i < 20; i++) body(carter, 'Costs').insert(0, '§')
    body(volkova, 'Costs').insert(0, '¶')
    const boardRoom = await server.parley.registry.get(`${neg.id}/board`)
    await waitFor(
      () => {
        const text = termsInOrder(boardRoom.doc).find((t) => t.title === 'Costs')!.body
        return text.split('§').length === 21 && text.includes('¶')
      },
      { what: 'the keystrokes on the server' },
    )
    // The board committed them (they are in its doc): any authors write would have been queued by now.
    await waitFor(() => !room.pendingWork, { what: 'the ledger settled' })
    expect(room.committedSeq).toBe(seq)
    expect(await ledgerRows()).toBe(rows)
  })

  it('nobody can write a name: the ledger refuses clients, and a client id is its first writer’s', async () => {
    // A negotiator writing `authors` on the ledger: refused (read-only), nothing stored.
    const rows = await ledgerRows()
    const ledgerState = Y.encodeStateAsUpdate((await ledgerRoom()).doc)
    const forger = await rawAdmitted(server.wsUrl, `${neg.id}/ledger`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' })
    forger.send(
      updateMessage(
        updateFrom(
          (d) => {
            ledgerOf(d).authors.set(String(volkova.doc.clientID), { party: 'us', user: 'J. Carter' })
            ledgerOf(d).authors.set('12345', { party: 'ru', user: 'A. Volkova' })
          },
          { base: ledgerState },
        ),
      ),
    )
    await waitFor(() => forger.denied().includes('read-only'), { what: 'the ledger’s refusal' })
    forger.ws.close()
    expect(Object.fromEntries(authorsOf((await ledgerRoom()).doc))).toEqual(Object.fromEntries(named))

    // A US negotiator typing under Volkova's client id: refused (forged-client-id), her name stays.
    const boardRoom = await server.parley.registry.get(`${neg.id}/board`)
    const victim = new Y.Doc()
    Y.applyUpdate(victim, Y.encodeStateAsUpdate(boardRoom.doc))
    victim.clientID = volkova.doc.clientID
    const updates: Uint8Array[] = []
    victim.on('update', (u: Uint8Array) => updates.push(u))
    const costs = termsInOrder(victim).find((t) => t.title === 'Costs')!.id
    ;(boardOf(victim).terms.get(costs)!.get('body') as Y.Text).insert(0, 'Forged. ')
    const mallory = await rawAdmitted(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.us!, name: 'Mallory' })
    mallory.send(updateMessage(updates[0]!))
    await waitFor(() => mallory.denied().includes('forged-client-id'), { what: 'the board’s refusal' })
    mallory.ws.close()
    victim.destroy()
    expect(Object.fromEntries(authorsOf((await ledgerRoom()).doc))).toEqual(Object.fromEntries(named))
    expect(await ledgerRows()).toBe(rows)
  })

  it('a restart keeps the names (they are in the store) and the history', async () => {
    const versionsBefore = await versions()
    for (const c of open.splice(0)) 'destroy' in c ? c.destroy() : c.close()
    await server.close()
    server = await startServer({ dataDir: server.dataDir })
    const ledger = track(yClient(server.wsUrl, `${neg.id}/ledger`, { token: neg.tokens.reviewer, name: 'Reviewer' }))
    await synced(ledger)
    expect(Object.fromEntries(authorsOf(ledger.doc))).toEqual(Object.fromEntries(named))
    expect(await versions()).toEqual(versionsBefore)
  })
})
