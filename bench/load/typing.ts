/**
 * Client side of scenario (h), in its own process (config and result over
 * IPC): two delegations typing into one term, whose length is the variable.
 *
 * Fill: the term as two delegations grew it by typing in turns at random
 * places (bench/lib/typingFill.ts, generated once by the scenario), synced
 * to the server by delegation A in a few chunks, each once B has received
 * the one before from the server — and paced to stay inside Parley's struct
 * budget, when one is given — and held in A's replica.
 *
 * Typing: A and B take turns of `turnKeystrokes` keystrokes, as people type:
 * each turn at a cursor put at a random place of the term, one character
 * after the other there (one update each), one keystroke every
 * 1/`keystrokesPerSecond` s between them, each in its own replica, which
 * follows the other's keystrokes as the server relays them. After
 * `warmupMs` the window opens for `durationMs`; once it closes the typing
 * stops, and when each delegation has received every keystroke of the other
 * (at most `drainMs`) the server's CPU time is read again. CPU is all its
 * threads' time on a CPU (/proc/<pid>/task/<tid>/schedstat, ns), divided by
 * the keystrokes sent inside the window. The window types inserts only, so a
 * replica's state vector says exactly what it has received.
 *
 * Each delegation speaks the server's own protocol through the harness's
 * WireClient (what the stock providers send, byte for byte) with a Y.Doc of
 * its own; on Parley with a negotiator token of its party.
 */
import * as Y from 'yjs'
import { prng } from '../../tests/helpers/prng'
import { WindowProfiler } from '../lib/inspector'
import { cpuSeconds as cpuSecondsTicks, cpuSecondsFine } from '../lib/proc'
import type { Endpoint } from '../lib/rooms'
import type { Protocol } from '../lib/servers'
import type { TypingFill } from '../lib/typingFill'
import { WireClient } from '../lib/wire'

export interface TypingConfig {
  protocol: Protocol
  docName: string
  /** delegation A's and B's endpoints (Parley: negotiator tokens of two parties) */
  writers: [Endpoint, Endpoint]
  /** the term's creation and growth (bench/lib/typingFill.ts) */
  fill: TypingFill
  /** structs and delete ranges a token may send: per second, and at once (Parley's PARLEY_RATE_STRUCTS); null: no limit */
  structBudget: { perSecond: number; burst: number } | null
  /** of the keystrokes' places */
  seed: number
  /** both delegations together */
  keystrokesPerSecond: number
  /** keystrokes per turn while typing */
  turnKeystrokes: number
  warmupMs: number
  durationMs: number
  drainMs: number
  serverPid: number
  /** CPU-profile the server over the window (its inspector port) into this file */
  profile?: { inspectPort: number; file: string }
}

export interface TypingResult {
  /** the body's length when the window opened */
  termLength: number
  /** Yjs items in the body's list then (deleted ones included): how fragmented it is */
  items: number
  fillSeconds: number
  /** keystrokes sent inside the window */
  keystrokes: number
  /** window keystrokes the other delegation had not received by the end of the drain */
  missing: number
  /** server CPU from the window's start until every window keystroke was relayed (or the drain ran out) */
  serverCpuSeconds: number
  usPerKeystroke: number
  /** the same CPU from /proc/<pid>/stat (10 ms ticks), as a cross-check */
  serverCpuSecondsTicks: number
  generatorCpuSeconds: number
  windowSeconds: number
  unexpectedCloses: Record<string, number>
  denied: number
}

const TEXT = 'The requested party shall surrender the person sought within thirty days of the request. '
const LOCAL = Symbol('local')
const REMOTE = Symbol('remote')
const FILL = Symbol('fill')

class Delegation {
  readonly doc = new Y.Doc()
  client!: WireClient
  denied = 0
  private sent: Uint8Array | null = null
  private waiters: Array<() => void> = []

  constructor(
    readonly name: string,
    private readonly termId: string,
  ) {
    this.doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) this.sent = u
    })
  }

  connect(cfg: TypingConfig, endpoint: Endpoint): Promise<number> {
    this.client = new WireClient({
      protocol: cfg.protocol,
      endpoint,
      docName: cfg.docName,
      name: this.name,
      stateFor: (sv) => Y.encodeStateAsUpdate(this.doc, sv),
      handlers: {
        onState: (u) => this.receive(u),
        onUpdate: (u) => this.receive(u),
        onDenied: () => void this.denied++,
      },
    })
    return this.client.synced
  }

  get clientId(): number {
    return this.doc.clientID
  }

  /** The clock this replica holds of `client`'s items: with inserts only, how many it has received. */
  has(client: number): number {
    return Y.getState(this.doc.store, client)
  }

  body(): Y.Text {
    return (this.doc.getMap('terms').get(this.termId) as Y.Map<unknown>).get('body') as Y.Text
  }

  /** Sends an update of the fill, holding it in the replica. */
  send(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, FILL)
    this.client.sendUpdate(update)
  }

  /** Changes the replica in one transaction and sends its update, as a provider does. */
  write(change: () => void): void {
    this.doc.transact(change, LOCAL)
    const update = this.sent
    this.sent = null
    if (update) this.client.sendUpdate(update)
  }

  /** Resolves once this replica holds every item `other` holds of `clients` (by default: its own); rejects after `timeoutMs`. */
  async caughtUpWith(other: Delegation, timeoutMs: number, clients = [other.clientId]): Promise<void> {
    const until = performance.now() + timeoutMs
    while (clients.some((c) => this.has(c) < other.has(c))) {
      const left = until - performance.now()
      if (left <= 0) throw new Error(`${this.name} did not receive ${other.name}'s edits within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  private receive(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, REMOTE)
    for (const w of this.waiters.splice(0)) w()
  }
}

/** One keystroke: a character typed at the turn's cursor (placed at random when the turn begins). */
function keystroke(body: Y.Text, rand: () => number, i: number, cursor: { turn: number; at: number }, turn: number): void {
  if (cursor.turn !== turn) {
    cursor.turn = turn
    cursor.at = Math.floor(rand() * (body.length + 1))
  }
  body.insert(Math.min(cursor.at, body.length), TEXT[i % TEXT.length]!)
  cursor.at++
}

function itemsOf(t: Y.Text): number {
  let n = 0
  for (let item = t._start; item !== null; item = item.right) n++
  return n
}

async function run(cfg: TypingConfig): Promise<TypingResult> {
  const rand = prng(cfg.seed)
  const { fill } = cfg
  const a = new Delegation('Delegation A', fill.termId)
  const b = new Delegation('Delegation B', fill.termId)
  const closes: Record<string, number> = {}
  let running = true
  await Promise.all([a.connect(cfg, cfg.writers[0]), b.connect(cfg, cfg.writers[1])])
  for (const d of [a, b])
    void d.client.closed.then(({ code }) => {
      if (running) closes[code] = (closes[code] ?? 0) + 1
    })

  // Fill.
  const filling = performance.now()
  const budget = cfg.structBudget ? { tokens: cfg.structBudget.burst, at: performance.now() } : null
  for (const { update, structs } of fill.chunks) {
    if (budget && cfg.structBudget) {
      // Refill as the server's token bucket does, with half a second's worth spare: its bucket counts
      // from when it takes a chunk, a little after we send it.
      const need = structs + cfg.structBudget.perSecond / 2
      for (;;) {
        const now = performance.now()
        budget.tokens = Math.min(cfg.structBudget.burst, budget.tokens + ((now - budget.at) / 1000) * cfg.structBudget.perSecond)
        budget.at = now
        if (budget.tokens >= need) break
        await sleep(((need - budget.tokens) / cfg.structBudget.perSecond) * 1000)
      }
      budget.tokens -= structs
    }
    a.send(update)
    // One chunk in flight: a server still building the room holds what arrives, and only so much (Parley: 4429).
    await b.caughtUpWith(a, 120_000, fill.clients).catch((err: Error) => {
      const closed = Object.entries(closes).map(([code, n]) => `${n}×${code}`)
      throw new Error(`${err.message} (closes: ${closed.join(' ') || 'none'}; refusals: ${a.denied + b.denied})`)
    })
  }
  const fillSeconds = (performance.now() - filling) / 1000
  const until = performance.now() + 10_000
  while (b.body().length !== fill.length && performance.now() < until) await sleep(5)
  if (a.body().toString() !== b.body().toString() || b.body().length !== fill.length)
    throw new Error(
      `the replicas differ after the fill: ${a.body().length} and ${b.body().length} characters, ${fill.length} sent`,
    )

  // Typing, in turns, inserts only.
  const window = { start: Infinity, end: Infinity }
  let k = 0
  const cursor = { turn: -1, at: 0 }
  let inWindow = 0
  const interval = 1000 / cfg.keystrokesPerSecond
  const type = () => {
    const turn = Math.floor(k / cfg.turnKeystrokes)
    const w = turn % 2 === 0 ? a : b
    w.write(() => keystroke(w.body(), rand, k, cursor, turn))
    k++
    const now = performance.now()
    if (now >= window.start && now < window.end) inWindow++
  }
  const timer = setInterval(type, interval)
  const profiler = cfg.profile ? await WindowProfiler.attach(cfg.profile.inspectPort) : null
  await sleep(cfg.warmupMs)
  await profiler?.start()
  const termLength = a.body().length
  const items = itemsOf(a.body())
  const genStart = process.cpuUsage()
  const ticksStart = cpuSecondsTicks(cfg.serverPid)
  const cpuStart = cpuSecondsFine(cfg.serverPid)
  window.start = performance.now()
  window.end = window.start + cfg.durationMs
  await sleep(cfg.durationMs)
  clearInterval(timer)
  let missing = 0
  const drains = await Promise.allSettled([a.caughtUpWith(b, cfg.drainMs), b.caughtUpWith(a, cfg.drainMs)])
  const cpuEnd = cpuSecondsFine(cfg.serverPid)
  const ticksEnd = cpuSecondsTicks(cfg.serverPid)
  const gen = process.cpuUsage(genStart)
  await profiler?.stopTo(cfg.profile!.file)
  if (drains.some((d) => d.status === 'rejected'))
    missing = Math.max(0, b.has(b.clientId) - a.has(b.clientId)) + Math.max(0, a.has(a.clientId) - b.has(a.clientId))
  running = false
  a.client.terminate()
  b.client.terminate()
  const serverCpuSeconds = cpuEnd - cpuStart
  return {
    termLength,
    items,
    fillSeconds,
    keystrokes: inWindow,
    missing,
    serverCpuSeconds,
    usPerKeystroke: inWindow > 0 ? (serverCpuSeconds / inWindow) * 1e6 : NaN,
    serverCpuSecondsTicks: ticksEnd - ticksStart,
    generatorCpuSeconds: (gen.user + gen.system) / 1e6,
    windowSeconds: cfg.durationMs / 1000,
    unexpectedCloses: closes,
    denied: a.denied + b.denied,
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

process.once('message', (cfg: TypingConfig) => {
  run(cfg).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  )
})
