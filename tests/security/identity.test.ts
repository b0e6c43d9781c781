/**
 * Issue #11 — who a connection is, as the token says, on every channel:
 * [ID1] awareness identity is stamped from the token (item 2: a US caret may
 * not pose as the Russian delegation); [ID2] long display names are cut, not
 * refused, and the Bearer scheme is case-insensitive (item 10); [ID3] a
 * revoked token's writes stop at once on the instance that revoked it
 * (item 15); [ID4] the token may ride in the websocket handshake's
 * Sec-WebSocket-Protocol header instead of the URL (item 16).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { CloseCode, SUBPROTOCOL, tokenSubprotocols } from '../../shared/protocol'
import { MAX_DISPLAY_NAME } from '../../shared/displayName'
import { board, termsInOrder } from '../../shared/docLayout'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { startServer, type TestServer } from '../helpers/server'
import { Cleanup } from '../helpers/cleanup'
import { yClient, synced, type YClient, waitFor } from '../helpers/clients'
import { connected, controlClient } from '../helpers/control'

let server: TestServer
let neg: CreatedNegotiation
const clients = new Cleanup()
const track = (c: YClient) => clients.add(c, (x) => x.destroy())
const boardName = () => `${neg.id}/board`

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Identity',
    parties: [
      { id: 'us', name: 'United States', color: '#1f5fbf' },
      { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
    ],
    terms: [{ title: 'Scope', body: 'Each party extradites.' }],
  })
})

afterAll(async () => {
  await clients.run()
  await server.close()
})

type UserState = { name?: string; party?: string | null; role?: string; color?: string; colorLight?: string }
const userOf = (c: YClient, clientId: number) =>
  (c.provider.awareness.getStates().get(clientId) as { user?: UserState } | undefined)?.user

describe('[ID1] awareness identity comes from the token, whatever the client sets', () => {
  it('a US connection posing as the Russian head of delegation is shown as itself, to peers and to newcomers', async () => {
    const us = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.us!, name: 'Ann Carter' }))
    const ru = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.ru!, name: 'Anna Volkova' }))
    await Promise.all([synced(us), synced(ru)])
    us.provider.awareness.setLocalState({
      user: { name: 'Sergey Lavrov', party: 'ru', color: '#b3261e', colorLight: '#b3261e33', role: 'observer' },
      cursor: { anchor: 3, head: 5 },
      focus: 't-x',
    })
    const id = us.doc.clientID
    await waitFor(() => userOf(ru, id)?.name !== undefined, { what: 'the US awareness at the Russian client' })
    expect(userOf(ru, id)).toEqual({
      name: 'Ann Carter',
      party: 'us',
      role: 'negotiator',
      color: '#1f5fbf',
      colorLight: '#1f5fbf33',
    })
    // what is not identity passes through untouched
    expect((ru.provider.awareness.getStates().get(id) as { cursor: unknown }).cursor).toEqual({ anchor: 3, head: 5 })
    const late = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.ru!, name: 'Late' }))
    await synced(late)
    await waitFor(() => userOf(late, id) !== undefined, { what: 'the US awareness at a newcomer' })
    expect(userOf(late, id)?.name).toBe('Ann Carter')
    expect(userOf(late, id)?.party).toBe('us')
  })

  it('a state without a user gets one; a user that is not an object is replaced', async () => {
    const us = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.us!, name: 'Bo' }))
    const ru = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.ru!, name: 'Watcher' }))
    await Promise.all([synced(us), synced(ru)])
    us.provider.awareness.setLocalState({ user: 'Sergey Lavrov', viewport: null })
    await waitFor(() => userOf(ru, us.doc.clientID) !== undefined)
    expect(userOf(ru, us.doc.clientID)).toMatchObject({ name: 'Bo', party: 'us', role: 'negotiator' })
  })
})

describe('[ID2] names and the Bearer scheme', () => {
  it('a display name over 64 characters is cut, on the websocket and on socket.io, never refused', async () => {
    const long = 'Ambassador Extraordinary and Plenipotentiary of the United States '.repeat(3)
    const ctl = controlClient(server.url, neg.tokens.negotiator.us!, long)
    try {
      await connected(ctl)
      await waitFor(() => ctl.presence.length > 0)
      const names = ctl.presence.at(-1)!.online.map((o) => o.user)
      const cut = Array.from(long).slice(0, MAX_DISPLAY_NAME).join('').trim()
      expect(names).toContain(cut)
      const res = await ctl.command('checkpoint:create', { name: 'after the long name' })
      expect(res.ok).toBe(true)
    } finally {
      ctl.close()
    }
    const c = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.us!, name: long, ack: '1' }))
    await synced(c)
    ;((board(c.doc).terms.get(termsInOrder(c.doc)[0]!.id) as Y.Map<unknown>).get('body') as Y.Text).insert(0, 'x')
    await waitFor(() => c.receipts.length > 0)
    const rows = await server.parley.store.readUpdates(boardName(), 0)
    expect(Array.from(rows.at(-1)!.author.user).length).toBeLessThanOrEqual(MAX_DISPLAY_NAME)
  })

  it('a name of only control characters or surrogate halves is not a way in or a way to break the record', async () => {
    const ctl = controlClient(server.url, neg.tokens.negotiator.us!, '\u0000\u001b[2J\ud800')
    try {
      await connected(ctl)
    } finally {
      ctl.close()
    }
  })

  it('`Authorization: bearer` in any case is accepted; another scheme is not', async () => {
    const path = `/api/negotiations/${neg.id}`
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'BeArEr']) {
      const res = await server.api(path, { headers: { authorization: `${scheme} ${neg.tokens.reviewer}` } })
      expect(res.status, scheme).toBe(200)
    }
    const basic = await server.api(path, { headers: { authorization: `Basic ${neg.tokens.reviewer}` } })
    expect(basic.status).toBe(401)
    const admin = await server.api('/api/negotiations', { headers: { authorization: `bearer ${server.parley.adminToken}` } })
    expect(admin.status).toBe(200)
  })
})

describe('[ID3] a revoked token writes nothing more on the instance that revoked it', () => {
  it('its websockets and sockets close at once, before the sweep; what it types after the revocation is not stored', async () => {
    const minted = (await (
      await server.api(`/api/negotiations/${neg.id}/tokens`, {
        token: server.parley.adminToken,
        body: { role: 'negotiator', party: 'us' },
      })
    ).json()) as { token: string; jti: string }
    const typist = track(yClient(server.wsUrl, boardName(), { token: minted.token, name: 'Leaver', ack: '1' }))
    const ctl = controlClient(server.url, minted.token, 'Leaver')
    await Promise.all([synced(typist), connected(ctl)])
    const text = () => (board(typist.doc).terms.get(termsInOrder(typist.doc)[0]!.id) as Y.Map<unknown>).get('body') as Y.Text
    text().insert(0, 'before ')
    await waitFor(() => typist.receipts.length > 0)
    const disconnected = new Promise<number>((resolve) =>
      ctl.socket.on('session:closed', (m: { code: number }) => resolve(m.code)),
    )
    const head = await server.parley.store.headSeq(boardName())
    const res = await server.api(`/api/tokens/${minted.jti}`, { method: 'DELETE', token: server.parley.adminToken })
    expect(res.status).toBe(204)
    // Typed the moment the revocation was answered: before this fix the connection stayed open until
    // the next sweep (up to SWEEP_MS later) and this was stored.
    text().insert(0, 'after ')
    await waitFor(() => typist.closes.length > 0, { timeout: 3000, what: 'the websocket closed' })
    expect(typist.closes[0]!.code).toBe(CloseCode.unauthorized)
    expect(await disconnected).toBe(CloseCode.unauthorized)
    await new Promise((r) => setTimeout(r, 300))
    expect(await server.parley.store.headSeq(boardName()), 'nothing typed after the revocation is stored').toBe(head)
    ctl.close()
  })
})

describe('[ID4] the token in Sec-WebSocket-Protocol instead of the URL', () => {
  it('the stock provider with the token as a subprotocol syncs; the server answers `parley`, never the token', async () => {
    const doc = new Y.Doc()
    const selected: string[] = []
    class Recording extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols)
        this.once('open', () => selected.push(this.protocol))
      }
    }
    const provider = new WebsocketProvider(server.wsUrl, boardName(), doc, {
      WebSocketPolyfill: Recording as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      params: { name: 'Subprotocol user' },
      protocols: tokenSubprotocols(neg.tokens.negotiator.ru!),
    })
    try {
      await waitFor(() => provider.synced, { what: 'sync over the subprotocol token' })
      expect(provider.url).not.toContain('token')
      expect(selected).toEqual([SUBPROTOCOL])
      expect(termsInOrder(doc).length).toBeGreaterThan(0)
    } finally {
      provider.destroy()
      doc.destroy()
    }
  })

  it('a bad token as a subprotocol gets 4401 like a bad one in the URL; no token at all too', async () => {
    for (const protocols of [tokenSubprotocols('not-a-token'), [SUBPROTOCOL]]) {
      const ws = new WebSocket(`${server.wsUrl}/${boardName()}`, protocols)
      ws.on('error', () => {})
      const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)))
      expect(code, protocols.join()).toBe(CloseCode.unauthorized)
    }
  })

  it('the token never appears in the server’s log', async () => {
    expect(server.logs.join('\n')).not.toContain(neg.tokens.negotiator.ru!)
  })
})
