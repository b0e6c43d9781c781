/**
 * Load generator for scenarios (a) and (b): R rooms, each with W writers
 * typing into their own term at a fixed rate and O observers following.
 * Runs in its own process (forked by the bench; config and result over IPC).
 *
 * One clock: writers and observers live in this process. A writer records
 * performance.now() for every Yjs clock it sends (one character = one clock);
 * an observer reads the (client, clock) ranges of each update it receives
 * (the server's update pre-scan, bench-side) and takes a latency sample for
 * every edit in it. Only edits sent inside the measurement window count;
 * edits that never arrive by the end of the drain are reported as missing.
 *
 * Awareness (optional): every client announces a state when it joins and
 * renews it every 15 s, as y-protocols' Awareness does; writers also move
 * their cursor with every keystroke, as an editor binding does. Clients of a
 * y-websocket server echo every awareness update that is new to them — the
 * stock WebsocketProvider does exactly that; HocuspocusProvider does not.
 */
import * as Y from 'yjs'
import { scanUpdate } from '../../server/sync/updateScan'
import { WindowProfiler } from '../lib/inspector'
import { cpuSeconds, memory, threadCpu, threadCpuDelta } from '../lib/proc'
import { Samples } from '../lib/stats'
import type { Protocol } from '../lib/servers'
import type { RoomSpec } from '../lib/rooms'
import { EMPTY_UPDATE, WireClient, encodeAwarenessEntries, openAll, readAwarenessClocks } from '../lib/wire'

export interface FanoutConfig {
  protocol: Protocol
  rooms: RoomSpec[]
  observersPerRoom: number
  /** edits per second per writer */
  editsPerSecond: number
  awareness: boolean
  warmupMs: number
  durationMs: number
  /** how long to wait after the window for late deliveries */
  drainMs: number
  serverPid: number
  /** CPU-profile the server over the window (its inspector port) into this file */
  profile?: { inspectPort: number; file: string }
}

export interface FanoutResult {
  p50: number
  p99: number
  /** true when more than 1 % of deliveries never arrived: p99 is then at least the value given */
  p99IsLowerBound: boolean
  max: number
  samples: number
  expected: number
  missing: number
  deliveriesPerSec: number
  serverCpuSeconds: number
  /** the window's server CPU by thread (main, libuv pool, V8 workers, SQLite's checkpoint worker …) */
  serverThreads: Record<string, { user: number; system: number }>
  cpuPer1000: number
  serverPeakRss: number
  generatorCpuSeconds: number
  windowSeconds: number
  unexpectedCloses: Record<string, number>
  denied: number
}

const SCAN_LIMITS = { maxStructs: 1e9, maxDeleteRanges: 1e9 }
const RENEW_MS = 15_000
const LOCAL = Symbol('local')
const TEXT = 'The parties agree to extradite persons charged with ransomware offences upon a request stating the charges. '

class Writer {
  readonly doc = new Y.Doc()
  /** performance.now() at send, indexed by Yjs clock */
  sendAt = new Float64Array(4096)
  client!: WireClient
  editsInWindow = 0
  private body!: Y.Text
  private pending: Uint8Array | null = null
  private typed = 0
  private awarenessClock = 0

  constructor(
    readonly index: number,
    private readonly cfg: FanoutConfig,
    private readonly window: { start: number; end: number },
  ) {
    this.doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) this.pending = this.pending ? Y.mergeUpdates([this.pending, u]) : u
    })
  }

  get clientId(): number {
    return this.doc.clientID
  }

  /** Creates this writer's term: a Y.Map with title and body texts, as the board layout says. */
  createTerm(): void {
    const termId = `t${this.index}-${this.doc.clientID.toString(36)}`
    this.send(() => {
      const term = new Y.Map<unknown>()
      this.body = new Y.Text('')
      term.set('title', new Y.Text(`Term ${this.index}`))
      term.set('body', this.body)
      term.set('x', 40 + this.index * 10)
      term.set('y', 40)
      this.doc.getMap('terms').set(termId, term)
      this.doc.getArray('order').push([termId])
    })
  }

  type(): void {
    const ch = TEXT[this.typed++ % TEXT.length]!
    this.send(() => this.body.insert(this.body.length, ch))
    if (this.cfg.awareness) this.announce()
  }

  announce(): void {
    const len = this.body ? this.body.length : 0
    const json = JSON.stringify({ user: { name: `Writer ${this.index}`, color: '#3355ff' }, cursor: { anchor: len, head: len } })
    this.client.sendAwareness(encodeAwarenessEntries([{ clientId: this.doc.clientID, clock: ++this.awarenessClock, json }]))
  }

  private send(change: () => void): void {
    const before = Y.getState(this.doc.store, this.doc.clientID)
    this.doc.transact(change, LOCAL)
    const after = Y.getState(this.doc.store, this.doc.clientID)
    if (after > this.sendAt.length) {
      const grown = new Float64Array(Math.max(after * 2, this.sendAt.length * 2))
      grown.set(this.sendAt)
      this.sendAt = grown
    }
    const now = performance.now()
    for (let c = before; c < after; c++) this.sendAt[c] = now
    if (now >= this.window.start && now < this.window.end) this.editsInWindow += after - before
    const update = this.pending!
    this.pending = null
    this.client.sendUpdate(update)
  }
}

/** Echo of awareness as the stock y-websocket provider does it: every entry with a newer clock goes back. */
class AwarenessEcho {
  private clocks = new Map<number, number>()

  constructor(private readonly client: () => WireClient) {}

  receive(payload: Uint8Array): void {
    let fresh = false
    readAwarenessClocks(payload, (id, clock) => {
      const known = this.clocks.get(id)
      if (known === undefined || clock > known) {
        this.clocks.set(id, clock)
        fresh = true
      }
    })
    if (fresh) this.client().sendAwareness(payload)
  }
}

async function run(cfg: FanoutConfig): Promise<FanoutResult> {
  // The window opens once everyone is connected and typing has warmed up; set below.
  const window = { start: Infinity, end: Infinity }
  const writersById = new Map<number, Writer>()
  const samples = new Samples(1 << 18)
  const closes: Record<string, number> = {}
  let denied = 0
  let running = true
  const echoes = cfg.awareness && cfg.protocol === 'yws'

  const onClose = (c: WireClient) =>
    void c.closed.then(({ code }) => {
      if (running) closes[code] = (closes[code] ?? 0) + 1
    })

  // Observers first, so the writers' first edits already fan out to everyone.
  const observerCount = cfg.rooms.length * cfg.observersPerRoom
  const observers = await openAll(observerCount, (i) => {
    const room = cfg.rooms[i % cfg.rooms.length]!
    const seen = new Map<number, number>()
    let client: WireClient
    const echo = echoes ? new AwarenessEcho(() => client) : null
    client = new WireClient({
      protocol: cfg.protocol,
      endpoint: room.observer,
      docName: room.docName,
      name: `Observer ${i}`,
      stateFor: () => EMPTY_UPDATE,
      handlers: {
        onUpdate(update, at) {
          const shape = scanUpdate(update, SCAN_LIMITS)
          for (const r of shape.clients) {
            const w = writersById.get(r.client)
            if (!w) continue
            const from = Math.max(r.from, seen.get(r.client) ?? 0)
            for (let c = from; c < r.to; c++) {
              const t = w.sendAt[c]!
              if (t >= window.start && t < window.end) samples.push(at - t)
            }
            if (r.to > from) seen.set(r.client, r.to)
          }
        },
        onAwareness: echo ? (payload) => echo.receive(payload) : undefined,
        onDenied: () => void denied++,
      },
    })
    onClose(client)
    return client
  })

  const writers: Writer[] = []
  await openAll(cfg.rooms.length * cfg.rooms[0]!.writers.length, (i) => {
    const room = cfg.rooms[Math.floor(i / cfg.rooms[0]!.writers.length)]!
    const k = i % room.writers.length
    const w = new Writer(k, cfg, window)
    writers.push(w)
    writersById.set(w.clientId, w)
    const echo = echoes ? new AwarenessEcho(() => w.client) : null
    w.client = new WireClient({
      protocol: cfg.protocol,
      endpoint: room.writers[k]!,
      docName: room.docName,
      name: `Writer ${k}`,
      stateFor: (sv) => Y.encodeStateAsUpdate(w.doc, sv),
      handlers: { onAwareness: echo ? (payload) => echo.receive(payload) : undefined, onDenied: () => void denied++ },
    })
    onClose(w.client)
    return w.client
  })

  // Awareness: everyone announces once connected and renews every 15 s (random phase).
  const timers: NodeJS.Timeout[] = []
  if (cfg.awareness) {
    observers.forEach((o, i) => {
      const clientId = (Math.random() * 0xffffffff) >>> 0
      let clock = 0
      const json = JSON.stringify({ user: { name: `Observer ${i}`, color: '#888888' } })
      const announce = () => o.sendAwareness(encodeAwarenessEntries([{ clientId, clock: ++clock, json }]))
      announce()
      timers.push(
        setTimeout(() => {
          announce()
          timers.push(setInterval(announce, RENEW_MS))
        }, Math.random() * RENEW_MS),
      )
    })
    for (const w of writers) w.announce()
  }

  for (const w of writers) w.createTerm()
  await sleep(300)

  // Typing: each writer at editsPerSecond, phases spread evenly over the interval.
  const interval = 1000 / cfg.editsPerSecond
  writers.forEach((w, i) => {
    timers.push(
      setTimeout(
        () => {
          w.type()
          timers.push(setInterval(() => w.type(), interval))
        },
        (i / writers.length) * interval,
      ),
    )
  })

  const profiler = cfg.profile ? await WindowProfiler.attach(cfg.profile.inspectPort) : null
  await sleep(cfg.warmupMs)
  await profiler?.start()
  const cpuStart = cpuSeconds(cfg.serverPid)
  const threadsStart = threadCpu(cfg.serverPid)
  const genStart = process.cpuUsage()
  window.start = performance.now()
  window.end = window.start + cfg.durationMs
  await sleep(cfg.durationMs)
  const cpuEnd = cpuSeconds(cfg.serverPid)
  const threads = threadCpuDelta(threadsStart, threadCpu(cfg.serverPid))
  const genUsage = process.cpuUsage(genStart)
  const mem = memory(cfg.serverPid)
  await profiler?.stopTo(cfg.profile!.file)
  for (const t of timers) clearTimeout(t)

  // Drain: wait for late deliveries, at most drainMs.
  const expected = () => writers.reduce((n, w) => n + w.editsInWindow, 0) * cfg.observersPerRoom
  const drainUntil = performance.now() + cfg.drainMs
  while (samples.length < expected() && performance.now() < drainUntil) await sleep(50)
  running = false

  const sorted = samples.sorted()
  const windowSeconds = cfg.durationMs / 1000
  const serverCpuSeconds = cpuEnd - cpuStart
  const exp = expected()
  // Missing deliveries count as slower than anything seen: a percentile that
  // falls among them is reported as a lower bound (the drain time).
  const missing = Math.max(0, exp - sorted.length)
  const lowerBound = performance.now() - window.end
  const pct = (p: number) => {
    const rank = Math.max(0, Math.ceil((p / 100) * exp) - 1)
    return rank < sorted.length ? sorted[rank]! : lowerBound
  }
  const atLeast = (p: number) => Math.max(0, Math.ceil((p / 100) * exp) - 1) >= sorted.length
  for (const c of [...observers, ...writers.map((w) => w.client)]) c.terminate()
  return {
    p50: pct(50),
    p99: pct(99),
    p99IsLowerBound: atLeast(99),
    max: missing > 0 ? lowerBound : (sorted[sorted.length - 1] ?? NaN),
    samples: sorted.length,
    expected: exp,
    missing,
    deliveriesPerSec: sorted.length / windowSeconds,
    serverCpuSeconds,
    serverThreads: threads,
    cpuPer1000: sorted.length > 0 ? (serverCpuSeconds / sorted.length) * 1000 : NaN,
    serverPeakRss: mem.peakRss,
    generatorCpuSeconds: (genUsage.user + genUsage.system) / 1e6,
    windowSeconds,
    unexpectedCloses: closes,
    denied,
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

process.once('message', (cfg: FanoutConfig) => {
  run(cfg).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  )
})
