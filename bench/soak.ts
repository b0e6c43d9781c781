/**
 * Soak (issue #7, item 7): 200 clients over 20 negotiations for 10 minutes
 * against one Parley process (SQLite store, real tokens), with the stock
 * y-websocket client and socket.io — the shape of a busy day, not a spike.
 *
 * Per negotiation: 4 negotiators of two delegations typing into their terms
 * and notes (about 2 edits per second each, in bursts), moving cards, sending
 * a command now and then; 6 watchers (observers and reviewers) following the
 * board and the ledger. Every client also holds a socket.io session.
 *
 * Reported: server RSS at the start of the measured window and at its end
 * (and its peak, and a line every 30 s), edits made and delivered, errors
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
import { memory, loadAverage } from './lib/proc'
import { percentile } from './lib/stats'

const flags = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([a-z-]+)=(.*)$/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
)
const num = (flag: string, env: string, dflt: number) => Number(flags.get(flag) ?? process.env[env] ?? dflt)
const DURATION_S = num('duration', 'SOAK_DURATION', 600)
const NEGOTIATIONS = num('negotiations', 'SOAK_NEGOTIATIONS', 20)
const CLIENTS = num('clients', 'SOAK_CLIENTS_PER_NEGOTIATION', 10)
const WRITERS = Math.min(CLIENTS, num('writers', 'SOAK_WRITERS_PER_NEGOTIATION', 4))
const RATE = num('rate', 'SOAK_EDITS_PER_SECOND', 2)
const WARMUP_S = num('warmup', 'SOAK_WARMUP', 15)
const REPORT_EVERY_S = 30

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
/** (negotiation, writer, seq) → time the edit was made */
const sentAt = new Map<string, number>()

async function main(): Promise<void> {
  // every provider registers a process 'exit' listener
  process.setMaxListeners(0)
  console.log(
    `soak: ${NEGOTIATIONS} negotiations × ${CLIENTS} clients (${WRITERS} writing ~${RATE}/s each) for ${DURATION_S} s after ${WARMUP_S} s warm-up`,
  )
  const server = await startServer('parley', { env: { PARLEY_LOG_LEVEL: 'warn' } })
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
        note.set('y', 0)
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
    const start = { at: Date.now(), mem: memory(server.pid), load: loadAverage(), made: editsMade, delivered: editsDelivered }
    let peak = start.mem.rss
    console.log(`measuring: server RSS ${mib(start.mem.rss)} at start`)
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
    const end = { at: Date.now(), mem: memory(server.pid), load: loadAverage(), made: editsMade, delivered: editsDelivered }
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
      edits: { made: end.made - start.made, delivered: samples.length },
      latencyMs: { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples) },
      converged,
      errors,
      timeline,
    }
    console.log('')
    console.log(
      `server RSS     start ${result.rssMiB.start.toFixed(1)} MiB, end ${result.rssMiB.end.toFixed(1)} MiB, peak ${result.rssMiB.peak.toFixed(1)} MiB`,
    )
    console.log(`edits          ${result.edits.made} made, ${result.edits.delivered} delivered to a watcher`)
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
      c.doc.destroy()
    }
    await server.stop()
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
    doc.getMap('notes').observeDeep((events) => {
      for (const e of events) {
        if (!(e instanceof Y.YMapEvent) || !e.keysChanged.has('y')) continue
        const noteId = e.path[0] as string | undefined
        const seq = e.target.get('y') as number
        const at = sentAt.get(`${negotiation}/${noteId}/${seq}`)
        if (at === undefined) continue
        sentAt.delete(`${negotiation}/${noteId}/${seq}`)
        const ms = performance.now() - at
        editsDelivered++
        if (measuring) {
          samples.push(ms)
          windowSamples.push(ms)
        }
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
    for (let i = 0; i < burst && w.provider.wsconnected; i++) {
      const note = boardOf(w.doc).notes.get(noteId) as Y.Map<unknown>
      const text = note.get('text') as Y.Text
      const term = boardOf(w.doc).terms.get(`term-${w.name}`)
      w.doc.transact(() => {
        text.insert(text.length, String.fromCharCode(97 + Math.floor(Math.random() * 26)))
        // keep the note short: it is typing, not a novel
        if (text.length > 400) text.delete(0, 200)
        if (Math.random() < 0.2) (term?.get('body') as Y.Text | undefined)?.insert(0, 'x')
        if (Math.random() < 0.05) term?.set('x', Math.floor(Math.random() * 2000))
        note.set('y', ++seq)
      })
      sentAt.set(`${w.negotiation}/${noteId}/${seq}`, performance.now())
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
