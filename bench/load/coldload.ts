/**
 * Client side of scenario (c), in its own process (config and result over IPC).
 *
 * populate: sends the generated history (bench/lib/history.ts; or, with
 *   `history: 'scattered'`, bench/lib/scatteredHistory.ts: keystrokes in turns at
 *   random places, the store's worst case) to each given
 *   server through two writer connections (one per delegation), a run of one
 *   writer at a time; within a run up to WINDOW updates are in flight, and a
 *   run starts once the server acknowledged the previous one (Parley: save
 *   receipts, `ack=1`; Hocuspocus: its sync-status acks).
 * measure: opens a client on a warm-up doc (so the server's code is warm),
 *   then times new WebSocket → the big doc's sync step 2 received, and checks
 *   the state it got against the generated board.
 */
import * as Y from 'yjs'
import { boardDigest, generateHistory } from '../lib/history'
import { generateScatteredHistory } from '../lib/scatteredHistory'
import type { Protocol } from '../lib/servers'
import type { Endpoint } from '../lib/rooms'
import { WireClient } from '../lib/wire'

export interface PopulateTarget {
  protocol: Protocol
  docName: string
  writers: [Endpoint, Endpoint]
  /** a small doc for warming the server up before the measured load */
  warm: { docName: string; writer: Endpoint }
}

export type ColdLoadConfig =
  | { mode: 'populate'; count: number; seed: number; targets: PopulateTarget[]; history?: 'turns' | 'scattered' }
  | {
      mode: 'measure'
      protocol: Protocol
      docName: string
      endpoint: Endpoint
      warm: { docName: string; endpoint: Endpoint }
      digest: string
    }

export interface PopulateResult {
  digest: string
  stateBytes: number
  updateBytes: number
  secondsPerTarget: number[]
}

export interface MeasureResult {
  ms: number
  stateBytes: number
  matches: boolean
}

const WINDOW = 512

/**
 * Flow control over one doc's writers (one writes at a time). Hocuspocus acks
 * every update message; Parley's receipt carries the doc's committed seq, one
 * per run of updates it committed together — so Parley's first update goes
 * alone, which tells where the seqs start.
 */
class DocFlow {
  sent = 0
  acked = 0
  private seq0: number | null = null
  private waiters: Array<() => void> = []

  constructor(private readonly protocol: Protocol) {}

  receipt(value: number): void {
    if (this.protocol === 'hocuspocus') {
      // Its handshake is acked too; never count more acks than updates.
      this.acked = Math.min(this.sent, this.acked + 1)
    } else {
      this.seq0 ??= value - this.sent
      this.acked = value - this.seq0
    }
    if (this.sent - this.acked <= WINDOW / 2) for (const w of this.waiters.splice(0)) w()
  }

  private wait(): Promise<void> {
    return new Promise<void>((r) => this.waiters.push(r))
  }

  async send(client: WireClient, update: Uint8Array): Promise<void> {
    while (this.sent - this.acked >= WINDOW || (this.protocol === 'yws' && this.seq0 === null && this.sent > 0)) await this.wait()
    this.sent++
    client.sendUpdate(update)
  }

  async settled(): Promise<void> {
    while (this.acked < this.sent) await this.wait()
  }
}

function writerClient(protocol: Protocol, endpoint: Endpoint, docName: string, name: string, flow: DocFlow): WireClient {
  const client = new WireClient({
    protocol,
    endpoint,
    docName,
    name,
    query: 'ack=1',
    handlers: {
      onReceipt: (v) => flow.receipt(v),
      onDenied: (reason) => {
        throw new Error(`${name}: write refused (${reason})`)
      },
    },
  })
  void client.closed.then(({ code, reason }) => {
    if (flow.acked < flow.sent)
      throw new Error(`${name}: closed with ${code} ${reason} while ${flow.sent - flow.acked} updates were unacknowledged`)
  })
  return client
}

async function populate(cfg: Extract<ColdLoadConfig, { mode: 'populate' }>): Promise<PopulateResult> {
  const generating = performance.now()
  const { edits, final } = (cfg.history === 'scattered' ? generateScatteredHistory : generateHistory)(cfg.count, cfg.seed)
  // Big histories take minutes: say how far along it is on stderr.
  const chatty = cfg.count >= 100_000
  if (chatty)
    process.stderr.write(`    generated ${cfg.count} updates in ${((performance.now() - generating) / 1000).toFixed(0)} s\n`)
  const seconds: number[] = []
  for (const t of cfg.targets) {
    const started = performance.now()
    // The warm-up doc: one small term.
    const warmFlow = new DocFlow(t.protocol)
    const warm = writerClient(t.protocol, t.warm.writer, t.warm.docName, 'Warm', warmFlow)
    await warm.synced
    const warmDoc = new Y.Doc()
    const warmUpdates: Uint8Array[] = []
    warmDoc.on('update', (u: Uint8Array) => warmUpdates.push(u))
    warmDoc.transact(() => {
      const term = new Y.Map<unknown>()
      term.set('title', new Y.Text('Warm-up'))
      term.set('body', new Y.Text('A small board to warm the server up.'))
      warmDoc.getMap('terms').set('w0', term)
      warmDoc.getArray('order').push(['w0'])
    })
    for (const u of warmUpdates) await warmFlow.send(warm, u)
    await warmFlow.settled()

    const flow = new DocFlow(t.protocol)
    const writers = t.writers.map((e, i) => writerClient(t.protocol, e, t.docName, `Writer ${i}`, flow))
    await Promise.all(writers.map((w) => w.synced))
    let current = -1
    let reported = performance.now()
    for (const [i, e] of edits.entries()) {
      // A delegation starts typing once the other's last edit is acknowledged.
      if (e.writer !== current && current >= 0) await flow.settled()
      current = e.writer
      await flow.send(writers[e.writer]!, e.update)
      if (chatty && i % 1000 === 0 && performance.now() - reported >= 15_000) {
        reported = performance.now()
        const s = (reported - started) / 1000
        process.stderr.write(
          `    … ${s.toFixed(0)} s: ${i.toLocaleString('en-US')}/${edits.length.toLocaleString('en-US')} updates sent to ${t.protocol === 'yws' ? 'parley' : 'hocuspocus'} (${(i / s).toFixed(0)}/s)\n`,
        )
      }
    }
    await flow.settled()
    // Hocuspocus acks when applied, not stored; its store runs on close and at shutdown.
    await new Promise((r) => setTimeout(r, 300))
    for (const w of [warm, ...writers]) w.close()
    await Promise.all([warm, ...writers].map((w) => w.closed))
    seconds.push((performance.now() - started) / 1000)
  }
  return {
    digest: boardDigest(final),
    stateBytes: Y.encodeStateAsUpdate(final).byteLength,
    updateBytes: edits.reduce((n, e) => n + e.update.byteLength, 0),
    secondsPerTarget: seconds,
  }
}

async function measure(cfg: Extract<ColdLoadConfig, { mode: 'measure' }>): Promise<MeasureResult> {
  const warm = new WireClient({ protocol: cfg.protocol, endpoint: cfg.warm.endpoint, docName: cfg.warm.docName, name: 'Warm' })
  await warm.synced
  warm.close()
  await warm.closed

  let state: Uint8Array | null = null
  const client = new WireClient({
    protocol: cfg.protocol,
    endpoint: cfg.endpoint,
    docName: cfg.docName,
    name: 'Reader',
    handlers: { onState: (u) => (state ??= u) },
  })
  const syncedAt = await client.synced
  const ms = syncedAt - client.startedAt
  client.close()
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state!)
  return { ms, stateBytes: state!.byteLength, matches: boardDigest(doc) === cfg.digest }
}

process.once('message', (cfg: ColdLoadConfig) => {
  const job: Promise<unknown> = cfg.mode === 'populate' ? populate(cfg) : measure(cfg)
  job.then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  )
})
process.on('uncaughtException', (err) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)))
