/**
 * Soak (issue #7, item 7): 200 clients over 20 negotiations for 10 minutes
 * against one Parley process (SQLite store, real tokens), with the stock
 * y-websocket client and socket.io — the shape of a busy day, not a spike.
 *
 * Per negotiation: 4 negotiators of two delegations typing into their notes
 * and terms (about 2 keystrokes per second each, in bursts, the oldest text cut
 * as it grows), dragging a card now and then, sending a command every 20–40 s;
 * 6 watchers (observers and reviewers) following the board and the ledger.
 * Every client also holds a socket.io session.
 *
 * Reported: server RSS at the start of the measured window and at its end
 * (and its peak, and a line every 30 s), the live heap after a forced GC at
 * both ends (the server runs with the inspector open for that; --snapshots
 * also writes heap snapshots, which pause the server for seconds), edits made and delivered, errors
 * (unexpected closes, refusals, failed commands, server ERROR lines), and the
 * latency from a negotiator's edit to a watcher of the same board (p50, p99,
 * max). At the end every copy of every board must be equal.
 *
 *   npm run bench:soak                          # 10 minutes
 *   npm run bench:soak -- --duration=60         # or SOAK_DURATION=60 (seconds)
 *   npm run bench:soak -- --negotiations=20 --clients=10 --rate=2
 *
 * Writes bench/results/soak-<time>.json. Not part of `npm test`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { io, type Socket } from 'socket.io-client'
import { board as boardOf, insertTerm } from '../shared/docLayout'
import { ADMIN_TOKEN, ROOT, startServer } from './lib/servers'
import WebSocketClient from 'ws'
import { memory, loadAverage } from './lib/proc'
import { percentile } from './lib/stats'

const flags = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([a-z-]+)(?:=(.*))?$/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2] ?? '1']),
)
const num = (flag: string, env: string, dflt: number) => Number(flags.get(flag) ?? process.env[env] ?? dflt)
const DURATION_S = num('duration', 'SOAK_DURATION', 600)
const NEGOTIATIONS = num('negotiations', 'SOAK_NEGOTIATIONS', 20)
const CLIENTS = num('clients', 'SOAK_CLIENTS_PER_NEGOTIATION', 10)
const WRITERS = Math.min(CLIENTS, num('writers', 'SOAK_WRITERS_PER_NEGOTIATION', 4))
const RATE = num('rate', 'SOAK_EDITS_PER_SECOND', 2)
const WARMUP_S = num('warmup', 'SOAK_WARMUP', 15)
const REPORT_EVERY_S = 30
/** --snapshots: also write server heap snapshots at the start and end of the window (bench/results/) */
const SNAPSHOTS = flags.has('snapshots') || process.env.SOAK_SNAPSHOTS === '1'

interface Created {
  id: string
  tokens: { negotiator: Record<string, string>; observer: string; reviewer: string }
}

interface SoakClient {
  negotiation: number
  role: 'negotiator' | 'observer' | 'reviewer'
  name: string
  doc: Y.Doc
  provider: WebsocketProvider
  ledger: WebsocketProvider
  ctl: Socket
}

const errors: string[] = []
const error = (what: string) => {
  if (errors.length < 1000) errors.push(`${new Date().toISOString()} ${what}`)
}
/** latency samples (ms) of the measured window */
let samples: number[] = []
let windowSamples: number[] = []
let measuring = false
let editsMade = 0
let editsDelivered = 0
/** (negotiation, note, n) → time its writer's n-th keystroke was made */
const sentAt = new Map<string, number>()

async function main(): Promise<void> {
  // every provider registers a process 'exit' listener
  process.setMaxListeners(0)
  console.log(
    `soak: ${NEGOTIATIONS} negotiations × ${CLIENTS} clients (${WRITERS} writing ~${RATE}/s each) for ${DURATION_S} s after ${WARMUP_S} s warm-up`,
  )
  // With the inspector open, the live heap is read after a forced GC: RSS alone cannot tell a leak
  // from a heap V8 has not bothered to shrink.
  const server = await startServer('parley', { env: { PARLEY_LOG_LEVEL: 'warn' }, inspect: true })
  const inspector = await Inspector.attach(server.inspectPort!)
  const wsUrl = server.url.replace(/^http/, 'ws') + '/yjs'
  const clients: SoakClient[] = []
  const stops: Array<() => void> = []
  try {
    for (let n = 0; n < NEGOTIATIONS; n++) {
      const res = await fetch(`${server.url}/api/negotiations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          title: `Soak ${n}`,
          parties: [
            { id: 'a', name: 'Alpha' },
            { id: 'b', name: 'Beta' },
          ],
          terms: [{ title: 'Opening', body: 'As drafted.' }],
        }),
      })
      if (res.status !== 201) throw new Error(`create negotiation: ${res.status} ${await res.text()}`)
      const neg = (await res.json()) as Created
      for (let i = 0; i < CLIENTS; i++) {
        const role = i < WRITERS ? 'negotiator' : i % 2 ? 'observer' : 'reviewer'
        const token = role === 'negotiator' ? neg.tokens.negotiator[i % 2 ? 'b' : 'a']! : neg.tokens[role]
        clients.push(connect(n, neg.id, role, `n${n}-${role}-${i}`, token, server.url, wsUrl, i === WRITERS))
      }
    }
    await until(() => clients.every((c) => c.provider.synced && c.ledger.synced && c.ctl.connected), 60_000, 'all clients synced')
    console.log(`${clients.length} clients connected and synced`)

    // Negotiators type. Each writer owns a note (latency probe: `y` is its edit number) and a term.
    const writers = clients.filter((c) => c.role === 'negotiator')
    for (const w of writers) {
      w.doc.transact(() => {
        const note = new Y.Map<unknown>()
        note.set('text', new Y.Text())
        note.set('x', 0)
        note.set('color', '#ffd54f')
        boardOf(w.doc).notes.set(`note-${w.name}`, note)
        insertTerm(w.doc, `term-${w.name}`, { title: `Term of ${w.name}`, body: '' })
      })
    }
    for (const w of writers) stops.push(typeContinuously(w))
    for (const w of writers) stops.push(commandNowAndThen(w, clients))

    await sleep(WARMUP_S * 1000)
    measuring = true
    samples = []
    /** the server's memory and heap, the load and the edit counters, now */
    const reading = async () => ({
      at: Date.now(),
      mem: memory(server.pid),
      heap: await inspector.heapAfterGc(),
      load: loadAverage(),
      made: editsMade,
      delivered: editsDelivered,
    })
    const start = await reading()
    if (SNAPSHOTS) await inspector.snapshot(join(ROOT, 'bench', 'results', 'soak-start.heapsnapshot'))
    let peak = start.mem.rss
    console.log(`measuring: server RSS ${mib(start.mem.rss)}, live heap ${mib(start.heap)} (after GC) at start`)
    const timeline: Array<{ t: number; rssMiB: number; p99: number; edits: number }> = []
    for (let t = REPORT_EVERY_S; t <= DURATION_S; t += REPORT_EVERY_S) {
      await sleep(Math.min(REPORT_EVERY_S, DURATION_S - t + REPORT_EVERY_S) * 1000)
      const m = memory(server.pid)
      peak = Math.max(peak, m.rss)
      const p99 = percentile(windowSamples, 99)
      timeline.push({ t, rssMiB: m.rss / 2 ** 20, p99, edits: windowSamples.length })
      console.log(
        `  ${String(t).padStart(4)} s  RSS ${mib(m.rss)}  p99 ${p99.toFixed(0)} ms  ${windowSamples.length} edits delivered  errors ${errors.length}`,
      )
      windowSamples = []
    }
    if (DURATION_S % REPORT_EVERY_S) await sleep((DURATION_S % REPORT_EVERY_S) * 1000)
    measuring = false
    const end = await reading()
    if (SNAPSHOTS) await inspector.snapshot(join(ROOT, 'bench', 'results', 'soak-end.heapsnapshot'))
    peak = Math.max(peak, end.mem.peakRss)

    for (const stop of stops) stop()
    // every copy of every board agrees once the last edits are through
    const byNegotiation = new Map<number, SoakClient[]>()
    for (const c of clients) byNegotiation.set(c.negotiation, [...(byNegotiation.get(c.negotiation) ?? []), c])
    const converged = await until(
      () =>
        [...byNegotiation.values()].every((cs) =>
          cs.every((c) => Y.encodeStateVector(c.doc).join() === Y.encodeStateVector(cs[0]!.doc).join()),
        ),
      60_000,
      'every board to converge',
    ).then(
      () => true,
      () => false,
    )
    if (!converged) error('boards did not converge within 60 s of the last edit')

    const result = {
      when: new Date().toISOString(),
      config: {
        negotiations: NEGOTIATIONS,
        clientsPerNegotiation: CLIENTS,
        writersPerNegotiation: WRITERS,
        editsPerSecondPerWriter: RATE,
        durationS: DURATION_S,
      },
      machine: { loadAverageStart: start.load, loadAverageEnd: end.load },
      rssMiB: { start: start.mem.rss / 2 ** 20, end: end.mem.rss / 2 ** 20, peak: peak / 2 ** 20 },
      liveHeapMiB: { start: start.heap / 2 ** 20, end: end.heap / 2 ** 20 },
      edits: { made: end.made - start.made, timed: samples.length },
      latencyMs: { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples) },
      converged,
      errors,
      timeline,
    }
    console.log('')
    console.log(
      `server RSS     start ${result.rssMiB.start.toFixed(1)} MiB, end ${result.rssMiB.end.toFixed(1)} MiB, peak ${result.rssMiB.peak.toFixed(1)} MiB`,
    )
    console.log(
      `live heap      start ${result.liveHeapMiB.start.toFixed(1)} MiB, end ${result.liveHeapMiB.end.toFixed(1)} MiB (after a forced GC)`,
    )
    console.log(`edits          ${result.edits.made} made, ${result.edits.timed} note keystrokes timed at a watcher`)
    console.log(
      `latency        p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms, max ${result.latencyMs.max.toFixed(1)} ms`,
    )
    console.log(`converged      ${converged}`)
    console.log(`errors         ${errors.length}${errors.length ? `\n  ${errors.slice(0, 20).join('\n  ')}` : ''}`)
    console.log(`load average   ${start.load.join(' ')} → ${end.load.join(' ')}`)
    const dir = join(ROOT, 'bench', 'results')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `soak-${result.when.replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, JSON.stringify(result, null, 2))
    console.log(`written to ${file}`)
    process.exitCode = errors.length === 0 && converged ? 0 : 1
  } finally {
    for (const stop of stops) stop()
    for (const c of clients) {
      c.ctl.close()
      c.provider.destroy()
      c.ledger.destroy()
      // a provider leaves its awareness (and the awareness's interval timer) to the doc's destroy
      c.ledger.doc.destroy()
      c.doc.destroy()
    }
    inspector.close()
    await server.stop()
  }
}

/** Just enough of the inspector protocol: a forced GC, the heap then, a heap snapshot. */
class Inspector {
  private nextId = 1
  private pending = new Map<number, (result: unknown) => void>()
  private chunks: string[] = []

  private constructor(private readonly ws: WebSocketClient) {}

  static async attach(port: number): Promise<Inspector> {
    const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>
    const ws = new WebSocketClient(target!.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 })
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)))
    const i = new Inspector(ws)
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; method?: string; params?: { chunk: string } }
      if (msg.id !== undefined) i.pending.get(msg.id)?.(msg.result)
      else if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') i.chunks.push(msg.params!.chunk)
    })
    return i
  }

  private call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Live heap bytes right after a full garbage collection. */
  async heapAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage')
    const r = (await this.call('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true })) as {
      result: { value: number }
    }
    return r.result.value
  }

  async snapshot(file: string): Promise<void> {
    this.chunks = []
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
    writeFileSync(file, this.chunks.join(''))
    this.chunks = []
    console.log(`heap snapshot: ${file}`)
  }

  close(): void {
    this.ws.close()
  }
}

function connect(
  negotiation: number,
  negotiationId: string,
  role: SoakClient['role'],
  name: string,
  token: string,
  url: string,
  wsUrl: string,
  /** this watcher times every writer's edits */
  timing: boolean,
): SoakClient {
  const doc = new Y.Doc()
  const opts = {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token, name },
  }
  const provider = new WebsocketProvider(wsUrl, `${negotiationId}/board`, doc, opts)
  const ledgerDoc = new Y.Doc()
  const ledger = new WebsocketProvider(wsUrl, `${negotiationId}/ledger`, ledgerDoc, opts)
  const ctl = io(url, { path: '/socket.io', auth: { token, name }, transports: ['websocket'] })
  const c: SoakClient = { negotiation, role, name, doc, provider, ledger, ctl }
  for (const p of [provider, ledger]) {
    p.on('connection-close', (e: { code: number; reason: string } | null) => {
      if (e) error(`${name} ${p.roomname}: closed ${e.code} ${e.reason}`)
    })
    const auth = p.messageHandlers[2]!
    p.messageHandlers[2] = (enc, dec, prov, emit, type) => {
      error(`${name} ${p.roomname}: permission denied`)
      auth(enc, dec, prov, emit, type)
    }
  }
  ctl.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') error(`${name}: socket.io disconnected (${reason})`)
  })
  if (timing) {
    // Every keystroke appends one character to its writer's note: the n-th character inserted into
    // a note (deletions aside) is that writer's n-th edit.
    const received = new Map<string, number>()
    doc.getMap('notes').observeDeep((events) => {
      for (const e of events) {
        if (!(e instanceof Y.YTextEvent)) continue
        const noteId = e.path[0] as string
        let n = received.get(noteId) ?? 0
        for (const d of e.delta) {
          if (typeof d.insert !== 'string') continue
          for (let k = 0; k < d.insert.length; k++) {
            const key = `${negotiation}/${noteId}/${++n}`
            const at = sentAt.get(key)
            if (at === undefined) continue
            sentAt.delete(key)
            const ms = performance.now() - at
            editsDelivered++
            if (measuring) {
              samples.push(ms)
              windowSamples.push(ms)
            }
          }
        }
        received.set(noteId, n)
      }
    })
  }
  return c
}

/** Bursts of typing at about RATE edits per second: a few keystrokes, then a pause. */
function typeContinuously(w: SoakClient): () => void {
  let stopped = false
  let seq = 0
  const noteId = `note-${w.name}`
  const tick = () => {
    if (stopped) return
    const burst = 1 + Math.floor(Math.random() * 4)
    // A burst goes to one place, as people type: mostly the note (timed), sometimes the term's body.
    // (Alternating places keystroke by keystroke would keep Yjs from merging the runs.)
    const inBody = Math.random() < 0.15
    for (let i = 0; i < burst && w.provider.wsconnected; i++) {
      const note = boardOf(w.doc).notes.get(noteId) as Y.Map<unknown>
      const term = boardOf(w.doc).terms.get(`term-${w.name}`)
      const text = (inBody ? term?.get('body') : note.get('text')) as Y.Text
      w.doc.transact(() => {
        text.insert(text.length, String.fromCharCode(97 + Math.floor(Math.random() * 26)))
        // the oldest half cut when it grows long: typing, not a novel
        if (text.length > 400) text.delete(0, 200)
        // now and then the card is dragged
        if (Math.random() < 0.01) term?.set('x', Math.floor(Math.random() * 2000))
      })
      if (!inBody) sentAt.set(`${w.negotiation}/${noteId}/${++seq}`, performance.now())
      editsMade++
    }
    setTimeout(tick, (burst / RATE) * 1000 * (0.5 + Math.random()))
  }
  setTimeout(tick, Math.random() * 1000)
  return () => {
    stopped = true
  }
}

/** Now and then an acceptance, a rejection or a checkpoint, as negotiators do. */
function commandNowAndThen(w: SoakClient, all: SoakClient[]): () => void {
  const timer = setInterval(
    () => {
      if (!w.ctl.connected) return
      const peers = all.filter((c) => c.negotiation === w.negotiation && c.role === 'negotiator')
      const termId = `term-${peers[Math.floor(Math.random() * peers.length)]!.name}`
      const [event, payload] =
        Math.random() < 0.2
          ? ['checkpoint:create', { name: `cp ${Date.now()}` }]
          : [Math.random() < 0.7 ? 'term:accept' : 'term:reject', { termId }]
      w.ctl
        .timeout(30_000)
        .emitWithAck(event, payload)
        .then((ack: { ok: boolean; error?: { code: string } }) => {
          if (!ack.ok && !['term-closed', 'term-open', 'unknown-term', 'rate-limited'].includes(ack.error!.code))
            error(`${w.name} ${event}: ${JSON.stringify(ack)}`)
        })
        .catch((err: Error) => error(`${w.name} ${event}: ${err.message}`))
    },
    20_000 + Math.random() * 20_000,
  )
  return () => clearInterval(timer)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`

async function until(fn: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now()
  while (!fn()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
