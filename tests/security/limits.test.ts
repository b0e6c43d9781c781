/**
 * Issue #7, item 4 (limits) — bursts over the rate limit (4429), a slow
 * reader whose send buffer fills (cut off), thousands of connections from one
 * address (4429 past the cap), floods on socket.io, floods of Yjs structs
 * (4429 past the per-token budget). None may crash, hang or
 * starve the server: a canary negotiation on another address (127.0.0.2)
 * measures its latency throughout, and the numbers are printed.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import * as net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { io, type Socket } from 'socket.io-client'
import * as ws from 'ws'
import { CloseCode, MessageType } from '../../shared/protocol'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { connected, controlClient } from '../helpers/control'
import {
  waitFor,
  yClient,
  awarenessMessage,
  rawClient,
  rawAdmitted,
  synced,
  updateFrom,
  updateMessage,
  type YClient,
  type RawClient,
} from '../helpers/clients'
import { Canary, LatencyProbe, expectSaneLatency } from '../helpers/canary'
import { Cleanup } from '../helpers/cleanup'
import { LogReader, verifyLog } from '../helpers/storeLog'
import { createNegotiation, WITH_OPENING_TERM, expectAlive, startServer, type ServerProcess } from '../helpers/server'

// Floods take a while to send and to drain on two cores.
vi.setConfig({ testTimeout: 90_000 })

/** Per-address cap of this suite's server (the default, 1000). */
const CAP = 1000
const MAX_BUFFERED = 256 * 1024
/**
 * Messages per second per connection. The limiter counts what the server gets round to handling,
 * so on a busy machine the default 500/s can outrun a flood; a low limit makes the cut-off certain.
 */
const RATE = 100
const STRUCT_RATE = 2000

let server: ServerProcess
let neg: CreatedNegotiation
let canary: Canary
let log: LogReader
const cleanup = new Cleanup()
const board = () => `${neg.id}/board`

beforeAll(async () => {
  server = await startServer({
    spawn: true,
    env: {
      PARLEY_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
      PARLEY_MAX_CONNECTIONS_PER_ADDRESS: String(CAP),
      PARLEY_RATE_MESSAGES: String(RATE),
      // likewise for Yjs structs per token: the budget refills slower than even a loaded machine applies them
      PARLEY_RATE_STRUCTS: String(STRUCT_RATE),
    },
  })
  cleanup.add(server, (s) => s.kill())
  neg = await createNegotiation(server, WITH_OPENING_TERM)
  canary = cleanup.add(await Canary.open(server), (c) => c.close())
  log = cleanup.add(new LogReader(server.dataDir), (l) => l.close())
}, 60_000)

afterAll(async () => {
  await cleanup.run()
})

/** Clients of one test, closed when it ends (they count against the per-address cap). */
const local = new Cleanup()
afterEach(async () => {
  await local.run()
})

/** Everything the watcher holds came from the log, and the log holds nothing more. */
async function watcherMatchesLog(watcher: YClient): Promise<void> {
  await waitFor(
    () => Y.encodeStateVector(verifyLog(board(), log.rows(board()))).join() === Y.encodeStateVector(watcher.doc).join(),
    {
      timeout: 10_000,
      what: 'the watcher to hold exactly what the log holds',
    },
  )
}

describe('[L1] bursts over the rate limit get 4429', () => {
  it('messages, bytes, and messages before admission; accepted writes are stored before anyone sees them, the rest nowhere', async () => {
    const watcher = local.add(yClient(server.wsUrl, board(), { token: neg.tokens.observer, name: 'w' }), (c: YClient) =>
      c.destroy(),
    )
    await synced(watcher)
    const probe = new LatencyProbe(canary)

    // 3000 small updates at once (burst is 2 × RATE): cut off with 4429 part way
    const doc = new Y.Doc()
    doc.clientID = 888_001
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    for (let i = 0; i < 3000; i++) doc.getArray('order').push([`burst-${i}`])
    const r1 = local.add(await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'burst' }), (r) =>
      r.ws.terminate(),
    )
    for (const u of updates) r1.send(updateMessage(u))
    expect(await r1.closeCode()).toBe(CloseCode.rateLimited)

    // 40 messages of ~1 MiB (valid awareness, 16 states of 60 K characters): over the byte budget
    // (4 MiB/s, burst 8 MiB) long before the message budget
    const big = awarenessMessage(
      Array.from({ length: 16 }, (_, i) => ({ clientId: 880_000 + i, clock: 1, state: { pad: 'p'.repeat(60_000) } })),
    )
    const r2 = local.add(await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.observer, name: 'bytes' }), (r) =>
      r.ws.terminate(),
    )
    for (let i = 0; i < 40; i++) r2.send(big)
    expect(await r2.closeCode()).toBe(CloseCode.rateLimited)

    // a flood from the first frame: held (then read no further) until admission answers, then
    // over the message budget: 4429. Three times the burst: the bucket refills while the held
    // messages are read in chunks, so exactly one burst's worth may pass on a busy machine.
    const r3 = local.add(rawClient(server.wsUrl, board(), { token: neg.tokens.observer, name: 'early' }), (r) => r.ws.terminate())
    r3.ws.once('open', () => {
      for (let i = 0; i < 3000; i++) r3.send(new Uint8Array([MessageType.queryAwareness]))
    })
    // (a close sent while the socket was still paused used to linger here until ws's 30 s timeout)
    expect(await r3.closeCode()).toBe(CloseCode.rateLimited)

    // the stock client typing far faster than allowed
    const typist = yClient(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'typist' })
    await synced(typist)
    for (let i = 0; i < 2500; i++) typist.doc.getArray('order').push([`typed-${i}`])
    await waitFor(() => typist.closes.some((c) => c.code === CloseCode.rateLimited), { timeout: 15_000 })
    typist.destroy()

    expectSaneLatency('rate-limit bursts', await probe.stop())
    await watcherMatchesLog(watcher)
    const seen = watcher.doc.getArray('order').toArray() as string[]
    expect(seen.filter((x) => x.startsWith('burst-')).length).toBeLessThan(3000)
    expect(seen.filter((x) => x.startsWith('typed-')).length).toBeLessThan(2500)
    await expectAlive(server)
    expect(await canary.check()).toBeLessThan(2000)
  })
})

/** ws's frame encoder (untyped in @types/ws): builds masked client frames. */
const WsSender = (
  ws as unknown as {
    Sender: {
      frame(data: Buffer, opts: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[]
    }
  }
).Sender
const OPCODE_BINARY = 2
const OPCODE_CLOSE = 8
const clientFrame = (data: Uint8Array, opcode = OPCODE_BINARY) =>
  Buffer.concat(WsSender.frame(Buffer.from(data), { fin: true, opcode, mask: true, readOnly: false, rsv1: false }))

/**
 * The upgrade request and `frames` in one TCP write, as a client with queued
 * messages sends them: they reach the server before it can have admitted the
 * connection. Resolves once the server has answered the upgrade, with the
 * socket and whatever websocket bytes came with the answer.
 */
async function upgradeWithFrames(
  wsUrl: string,
  path: string,
  frames: Uint8Array[],
): Promise<{ socket: net.Socket; received: Buffer[] }> {
  const url = new URL(`${wsUrl}/${path}`)
  const socket = net.connect(Number(url.port), url.hostname)
  await once(socket, 'connect')
  const request =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  socket.write(Buffer.concat([Buffer.from(request), ...frames.map((f) => clientFrame(f))]))
  const [head] = (await once(socket, 'data')) as [Buffer]
  expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 101/)
  const received = [head.subarray(head.indexOf('\r\n\r\n') + 4)]
  socket.on('data', (b: Buffer) => received.push(b))
  return { socket, received }
}

describe('[L1b] a client that types while its admission and room load complete is held, not cut off', () => {
  it('150 updates in the same TCP write as the upgrade: all stored and relayed, the socket stays open', async () => {
    const cold = await createNegotiation(server, WITH_OPENING_TERM)
    const doc = `${cold.id}/board`
    const updates: Uint8Array[] = []
    const typist = new Y.Doc()
    typist.clientID = 888_010
    typist.on('update', (u: Uint8Array) => updates.push(u))
    for (let i = 0; i < 150; i++) typist.getArray('order').push([`early-${i}`])
    const token = encodeURIComponent(cold.tokens.negotiator.a!)
    const { socket } = await upgradeWithFrames(server.wsUrl, `${doc}?token=${token}&name=early`, updates.map(updateMessage))
    local.add(socket, (s) => s.destroy())
    let closedByServer = false
    socket.on('close', () => (closedByServer = true))
    const watcher = local.add(yClient(server.wsUrl, doc, { token: cold.tokens.observer, name: 'w' }), (c: YClient) => c.destroy())
    const early = () => (watcher.doc.getArray('order').toArray() as string[]).filter((x) => x.startsWith('early-'))
    await waitFor(() => early().length === 150 || closedByServer, { timeout: 15_000, what: 'all 150 early updates' })
    expect(closedByServer, 'the server closed the early typist').toBe(false)
    expect(early()).toEqual(Array.from({ length: 150 }, (_, i) => `early-${i}`))
    expect(log.rows(doc).length).toBeGreaterThanOrEqual(150)
  })

  it('refused after its messages were held: 4401, and the closing handshake completes at once (the socket reads again)', async () => {
    const updates = Array.from({ length: 150 }, (_, i) => updateFrom((d) => d.getArray('order').push([`x-${i}`])))
    const { socket, received } = await upgradeWithFrames(
      server.wsUrl,
      `${board()}?token=not-a-token&name=refused`,
      updates.map(updateMessage),
    )
    local.add(socket, (s) => s.destroy())
    const ended = once(socket, 'close')
    // the server's close frame: 0x88, length, then the code
    await waitFor(() => Buffer.concat(received)[0] === 0x88, { what: "the server's close frame" })
    const frame = Buffer.concat(received)
    expect(frame.readUInt16BE(2)).toBe(CloseCode.unauthorized)
    socket.write(clientFrame(frame.subarray(2, 4), OPCODE_CLOSE))
    // answered: the server ends the TCP connection now, not after ws's 30 s close timeout
    await Promise.race([
      ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('socket still open after 5 s')), 5000)),
    ])
  })
})

describe('[L2] a slow reader whose buffer fills is cut off; everyone else keeps up', () => {
  it('a reader that stops reading is dropped once MAX_BUFFERED bytes wait for it, and server memory stays bounded', async () => {
    // Writer and fast reader are raw sockets: the test process only moves bytes, so the canary
    // measures the server, not this process decoding 24 MiB of Yjs.
    const N = 250
    const doc = new Y.Doc()
    doc.clientID = 888_002
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    const chunk = 'z'.repeat(96 * 1024)
    for (let i = 0; i < N; i++)
      doc.transact(() => {
        const n = new Y.Map<unknown>()
        n.set('text', new Y.Text(chunk))
        doc.getMap('notes').set(`slow-${i}`, n)
      })
    const writer = local.add(
      await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'writer', ack: '1' }),
      (r) => r.ws.close(),
    )
    const fast = local.add(await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.observer, name: 'fast' }), (r) =>
      r.ws.close(),
    )
    const slow = local.add(await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.observer, name: 'slow' }), (r) =>
      r.ws.terminate(),
    )
    // Stop reading: the kernel buffers fill (several MiB on loopback), then the server's send buffer grows.
    ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const rssBefore = rss(server)
    const probe = new LatencyProbe(canary)
    const receipts = () => writer.messages.filter((m) => m[0] === MessageType.saveReceipt).length
    const fastBytes = () => fast.messages.reduce((n, m) => n + m.length, 0)
    for (let i = 0; i < N; i++) {
      writer.send(updateMessage(updates[i]!))
      // stay under the writer's own byte budget (4 MiB/s)
      if (i % 10 === 9) await waitFor(() => receipts() >= i - 5, { timeout: 30_000, interval: 5 })
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 250))
    }
    await waitFor(() => receipts() >= N, { timeout: 30_000, what: 'all writes saved' })
    await waitFor(() => fastBytes() >= N * chunk.length, { timeout: 30_000, what: 'the fast reader to get everything' })
    expectSaneLatency('slow reader', await probe.stop())
    // resume: the connection is gone (terminated: no close frame can pass a full buffer)
    ;(slow.ws as unknown as { _socket: { resume(): void } })._socket.resume()
    expect([CloseCode.slowConsumer, 1006]).toContain(await slow.closeCode(10_000))
    expect(await writer.closeCode(10)).toBe('open')
    expect(rss(server) - rssBefore).toBeLessThan(200 * 1024 * 1024)
    await expectAlive(server)
  })
})

describe('[L3] thousands of connections from one address', () => {
  it(`past ${CAP} open connections from 127.0.0.1 new ones get 4429 on /yjs and on socket.io; 127.0.0.2 is served throughout`, async () => {
    // Ideally only the canary's two connections (from 127.0.0.2) are open; whatever earlier tests left
    // from 127.0.0.1 still counts against the cap, so it is measured.
    await waitFor(async () => (await openConnections()) === 2, { timeout: 10_000 }).catch(() => {})
    const leftover = (await openConnections()) - 2
    const probe = new LatencyProbe(canary)
    const sockets: RawClient[] = []
    try {
      // 2000 without a token: each is refused (4401) and its slot released at once
      for (let batch = 0; batch < 4; batch++) {
        const wave = Array.from({ length: 500 }, () => rawClient(server.wsUrl, board(), {}))
        const codes = await Promise.all(wave.map((r) => r.closed.then((c) => c.code)))
        expect(new Set(codes)).toEqual(new Set([CloseCode.unauthorized]))
      }
      // 1500 with a valid token: the first CAP stay, the rest get 4429
      for (let batch = 0; batch < 6; batch++) {
        const wave = Array.from({ length: 250 }, () =>
          rawClient(server.wsUrl, board(), { token: neg.tokens.observer, name: 'many' }),
        )
        sockets.push(...wave)
        await Promise.all(wave.map((r) => Promise.race([r.opened.catch(() => {}), r.closed])))
      }
      const outcomes = await Promise.all(sockets.map((r) => r.closeCode(2000)))
      const open = outcomes.filter((o) => o === 'open').length
      const limited = outcomes.filter((o) => o === CloseCode.rateLimited).length
      // exactly the cap, less what was already open (more only if some of that closed meanwhile)
      expect(open).toBeGreaterThanOrEqual(CAP - leftover)
      expect(open).toBeLessThanOrEqual(CAP)
      expect(limited).toBe(sockets.length - open)
      const ctl = controlClient(server.url, neg.tokens.observer, 'one too many')
      await expect(connected(ctl)).rejects.toMatchObject({ data: { code: CloseCode.rateLimited } })
      ctl.close()
      // another address is not affected
      expect(await canary.check()).toBeLessThan(3000)
    } finally {
      for (const r of sockets) r.ws.terminate()
    }
    expectSaneLatency('connection flood', await probe.stop(), { p50: 500, max: 3000 })
    // slots are released: 127.0.0.1 may connect again
    await waitFor(
      async () => {
        const r = rawClient(server.wsUrl, board(), { token: neg.tokens.observer, name: 'again' })
        const c = await r.closeCode(300)
        r.ws.terminate()
        return c === 'open'
      },
      { timeout: 10_000, what: 'the cap to free up' },
    )
    await expectAlive(server)
  })
})

describe('[L4] socket.io floods', () => {
  it('commands over the per-session rate get rate-limited acks; unknown and oversized events cut only their sender', async () => {
    const probe = new LatencyProbe(canary)
    const a = controlClient(server.url, neg.tokens.negotiator.a!, 'a')
    await connected(a)
    const acks = await Promise.all(Array.from({ length: 200 }, () => a.command('term:accept', { termId: 'nope' })))
    const codes = acks.map((x) => (x.ok ? 'ok' : x.error.code))
    expect(codes).toContain('rate-limited')
    expect(codes).toContain('unknown-term')

    // unknown events of 256 KiB each from one socket: cut off once over its inbound budget
    const flooder: Socket = io(server.url, {
      path: '/socket.io',
      auth: { token: neg.tokens.negotiator.b!, name: 'flood' },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    })
    await new Promise<void>(
      (resolve, reject) => (flooder.once('connect', () => resolve()), flooder.once('connect_error', reject)),
    )
    const junk = 'j'.repeat(256 * 1024)
    for (let i = 0; i < 400 && flooder.connected; i++) {
      flooder.emit('no:such:event', junk)
      if (i % 20 === 19) await new Promise((r) => setImmediate(r))
    }
    await waitFor(() => !flooder.connected, { timeout: 10_000, what: 'the flooder to be disconnected' })
    flooder.close()
    expectSaneLatency('socket.io floods', await probe.stop())
    expect(a.socket.connected).toBe(true)
    expect(await a.command('term:accept', { termId: 'nope' })).toMatchObject({ ok: false })
    a.close()
    await expectAlive(server)
  })
})

describe('[L5] struct-heavy updates: a per-token budget of Yjs structs (PARLEY_RATE_STRUCTS)', () => {
  it('a token that floods structs gets 4429 on every one of its connections; another token is not affected', async () => {
    const probe = new LatencyProbe(canary)
    /** an update adding `n` (empty) notes: n structs, some 20 bytes each, all within the board's layout */
    const heavy = (clientID: number, n = 20_000) =>
      updateMessage(
        updateFrom(
          (d) => {
            const notes = d.getMap('notes')
            for (let i = 0; i < n; i++) notes.set(`n${i.toString(36)}`, new Y.Map())
          },
          { clientID },
        ),
      )
    const head = log.headSeq(board())
    // burst: the larger of 2 × STRUCT_RATE and one maximal update (50 000 structs)
    const first = local.add(await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'heavy-1' }), (r) =>
      r.ws.terminate(),
    )
    first.send(heavy(770_001))
    first.send(heavy(770_002))
    first.send(heavy(770_003))
    expect(await first.closeCode()).toBe(CloseCode.rateLimited)
    // a fresh connection of the same token does not come with a fresh budget
    const second = local.add(
      await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.a!, name: 'heavy-2' }),
      (r) => r.ws.terminate(),
    )
    // 44 000 structs: within a fresh budget (50 000), far past what refilled since (STRUCT_RATE/s)
    second.send(heavy(770_004, 44_000))
    expect(await second.closeCode()).toBe(CloseCode.rateLimited)
    // another token has its own
    const other = local.add(await rawAdmitted(server.wsUrl, board(), { token: neg.tokens.negotiator.b!, name: 'heavy-3' }), (r) =>
      r.ws.terminate(),
    )
    other.send(heavy(770_005))
    await waitFor(() => log.headSeq(board()) === head + 3, {
      timeout: 20_000,
      what: 'the three updates within budget to be stored',
    })
    expect(await other.closeCode(200)).toBe('open')
    expectSaneLatency('struct floods', await probe.stop(), { p50: 300, max: 3000 })
    await expectAlive(server)
  })
})

/** Open y-websocket connections, from /metrics. */
async function openConnections(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  return Number(/^parley_connections (\d+)/m.exec(text)?.[1] ?? NaN)
}

function rss(p: ServerProcess): number {
  const status = readFileSync(`/proc/${p.proc.pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024
}
