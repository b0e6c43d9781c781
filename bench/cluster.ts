/**
 * `npm run bench:cluster`: Parley scaled out — 1, 2 and 3 instances on one
 * PostgreSQL and one Redis, writers and observers of one board spread
 * round-robin over the instances. Two phases per instance count:
 *
 * - latency: every writer types at a fixed rate; each edit carries a marker
 *   (`~writer:seq~`) that observers find in the bytes they receive, so the
 *   propagation latency from the writer's keystroke to each observer is
 *   measured, split by whether the observer sits on the writer's instance
 *   or on another one (the Redis hop plus the receiving instance);
 * - throughput: every writer keeps a window of unacknowledged edits in flight
 *   (save receipts, `ack=1`), so the cluster commits as fast as it can;
 *   edits/s counts receipts, i.e. edits committed to PostgreSQL.
 *
 * Load generator, instances, PostgreSQL and Redis share one machine, so the
 * numbers show what scale-out costs (a Redis hop, a shared database) more
 * than what it gains; on one host more instances mostly compete for the
 * same cores. The load average is printed next to the results.
 *
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; a
 * schema of its own is created and dropped), BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379; a key prefix of its own), BENCH_CLUSTER_SECONDS
 * (window per phase, default 10), BENCH_CLUSTER_SIZES (default 1,2,3),
 * BENCH_CLUSTER_WRITERS (6), BENCH_CLUSTER_OBSERVERS (30),
 * BENCH_CLUSTER_RATE (edits/s per writer in the latency phase, 20),
 * BENCH_CLUSTER_WINDOW (edits in flight per writer in the throughput phase, 16).
 * Results: a Markdown table on stdout and bench/results/cluster-<date>.json.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import pg from 'pg'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { board, insertTerm } from '../shared/docLayout'
import { Samples, percentile, percentileSorted } from './lib/stats'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const env = (name: string, dflt: string) => process.env[name] || dflt
const DATABASE_URL = env('BENCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/test')
const REDIS_URL = env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379')
const SECONDS = Number(env('BENCH_CLUSTER_SECONDS', '10'))
const SIZES = env('BENCH_CLUSTER_SIZES', '1,2,3').split(',').map(Number)
const WRITERS = Number(env('BENCH_CLUSTER_WRITERS', '6'))
const OBSERVERS = Number(env('BENCH_CLUSTER_OBSERVERS', '30'))
const RATE = Number(env('BENCH_CLUSTER_RATE', '20'))
const WINDOW = Number(env('BENCH_CLUSTER_WINDOW', '16'))
const WARMUP_MS = 2000
const ADMIN_TOKEN = 'bench-admin-token-0123456789'
const SECRET = 'bench-cluster-secret-0123456789-0123456789'

const MSG_SYNC = 0
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
const MSG_RECEIPT = 100
const TILDE = 0x7e
const COLON = 0x3a

const log = (line: string) => process.stderr.write(line + '\n')

// ── processes ────────────────────────────────────────────────────────────

const children = new Set<ChildProcess>()
const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal)
  }
}
process.on('exit', () => {
  for (const c of children) killGroup(c, 'SIGKILL')
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130))

interface Instance {
  child: ChildProcess
  url: string
  ws: string
  dataDir: string
}

async function startInstance(databaseUrl: string, prefix: string): Promise<Instance> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-cluster-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      PARLEY_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      PARLEY_REDIS_PREFIX: prefix,
      PARLEY_SECRET: SECRET,
      PARLEY_ADMIN_TOKEN: ADMIN_TOKEN,
      PARLEY_LOG_LEVEL: 'warn',
      // one load generator, many sockets and fast writers: lift the per-address and per-connection limits
      PARLEY_MAX_CONNECTIONS_PER_ADDRESS: '50000',
      PARLEY_RATE_MESSAGES: '100000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start in 60 s:\n${output}`)), 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /running at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`instance exited (${code}):\n${output}`)))
  })
  child.stdout!.removeAllListeners('data').resume()
  child.stderr!.removeAllListeners('data')
  child.stderr!.on('data', (c: Buffer) => process.env.BENCH_VERBOSE && process.stderr.write(`[instance :${port}] ${c}`))
  return { child, url: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/yjs`, dataDir }
}

async function stopInstance(i: Instance): Promise<void> {
  await new Promise<void>((resolve) => {
    if (i.child.exitCode !== null || i.child.signalCode !== null) return resolve()
    const timer = setTimeout(() => killGroup(i.child, 'SIGKILL'), 10_000)
    i.child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    killGroup(i.child, 'SIGTERM')
  })
  rmSync(i.dataDir, { recursive: true, force: true })
}

// ── wire ─────────────────────────────────────────────────────────────────

const syncMessage = (sub: number, payload: Uint8Array) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, MSG_SYNC)
  encoding.writeVarUint(e, sub)
  encoding.writeVarUint8Array(e, payload)
  return encoding.toUint8Array(e)
}

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.binaryType = 'nodebuffer'
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** Runs `fn` for every well-formed `~w:k~` marker in the bytes. */
function scanMarkers(buf: Buffer, fn: (writer: number, seq: number) => void): void {
  let i = buf.indexOf(TILDE)
  while (i !== -1 && i < buf.length - 3) {
    let j = i + 1
    let w = 0
    let k = 0
    let digits = 0
    while (j < buf.length && buf[j]! >= 0x30 && buf[j]! <= 0x39) ((w = w * 10 + buf[j++]! - 0x30), digits++)
    if (digits > 0 && buf[j] === COLON) {
      j++
      digits = 0
      while (j < buf.length && buf[j]! >= 0x30 && buf[j]! <= 0x39) ((k = k * 10 + buf[j++]! - 0x30), digits++)
      if (digits > 0 && buf[j] === TILDE) {
        fn(w, k)
        i = buf.indexOf(TILDE, j + 1)
        continue
      }
    }
    i = buf.indexOf(TILDE, i + 1)
  }
}

interface Writer {
  index: number
  instance: number
  ws: WebSocket
  doc: Y.Doc
  body: Y.Text
  /** performance.now() at each edit, by seq */
  sentAt: Float64Array
  sent: number
  receipts: number
}

interface Observer {
  instance: number
  ws: WebSocket
  /** highest seq seen per writer */
  maxSeen: Int32Array
}

/** A writer: its own term on the board, typed into by appending markers. */
async function openWriter(index: number, instance: number, url: string, docName: string, token: string): Promise<Writer> {
  const ws = await openSocket(`${url}/${docName}?token=${token}&name=writer${index}&ack=1`)
  const doc = new Y.Doc()
  const w: Writer = { index, instance, ws, doc, body: null!, sentAt: new Float64Array(1 << 18), sent: 0, receipts: 0 }
  const synced = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const d = decoding.createDecoder(data)
      const type = decoding.readVarUint(d)
      if (type === MSG_RECEIPT) return void w.receipts++
      if (type !== MSG_SYNC) return
      const sub = decoding.readVarUint(d)
      if (sub === SYNC_STEP1) ws.send(syncMessage(SYNC_STEP2, Y.encodeStateAsUpdate(doc, decoding.readVarUint8Array(d))))
      else if (sub === SYNC_STEP2) resolve()
      // other writers' updates are not applied: each writer only ever appends to its own term
    })
  })
  ws.send(syncMessage(SYNC_STEP1, Y.encodeStateVector(doc)))
  await synced
  doc.on('update', (update: Uint8Array) => ws.send(syncMessage(SYNC_UPDATE, update)))
  const termId = `w${index}`
  doc.transact(() => insertTerm(doc, termId, { title: `Writer ${index}`, body: '' }))
  w.body = board(doc).terms.get(termId)!.get('body') as Y.Text
  await waitUntil(() => w.receipts > 0, 10_000, `writer ${index}'s first receipt`)
  return w
}

function type(w: Writer): void {
  const seq = w.sent++
  if (seq >= w.sentAt.length) {
    const grown = new Float64Array(w.sentAt.length * 2)
    grown.set(w.sentAt)
    w.sentAt = grown
  }
  w.sentAt[seq] = performance.now()
  w.body.insert(w.body.length, `~${w.index}:${seq}~`)
}

async function openObserver(
  instance: number,
  url: string,
  docName: string,
  token: string,
  writers: () => Writer[],
  record: (obs: Observer, w: Writer, seq: number, at: number) => void,
): Promise<Observer> {
  const ws = await openSocket(`${url}/${docName}?token=${token}&name=observer`)
  const o: Observer = { instance, ws, maxSeen: new Int32Array(WRITERS).fill(-1) }
  const synced = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const at = performance.now()
      if (data[0] !== MSG_SYNC) return
      const d = decoding.createDecoder(data)
      decoding.readVarUint(d)
      const sub = decoding.readVarUint(d)
      if (sub === SYNC_STEP2) resolve()
      if (sub !== SYNC_UPDATE && sub !== SYNC_STEP2) return
      const payload = decoding.readVarUint8Array(d)
      const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
      const ws_ = writers()
      scanMarkers(buf, (wi, seq) => {
        const w = ws_[wi]
        if (!w || seq <= o.maxSeen[wi]! || seq >= w.sent) return
        o.maxSeen[wi] = seq
        record(o, w, seq, at)
      })
    })
  })
  ws.send(syncMessage(SYNC_STEP1, new Uint8Array([0])))
  await synced
  return o
}

function waitUntil(fn: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (fn()) return resolve()
      if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`))
      setTimeout(tick, 10)
    }
    tick()
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ── one instance count ───────────────────────────────────────────────────

interface PhaseResult {
  editsPerSecond: number
  deliveriesPerSecond: number
  p50SameMs: number
  p99SameMs: number
  p50CrossMs: number
  p99CrossMs: number
  p99AllMs: number
  samples: number
}

interface CaseResult {
  instances: number
  writers: number
  observers: number
  latency: PhaseResult
  throughput: PhaseResult
}

async function runCase(n: number, baseUrl: string): Promise<CaseResult> {
  const schema = `bench_cluster_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: baseUrl })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  const u = new URL(baseUrl)
  u.searchParams.set('options', `-c search_path=${schema}`)
  const prefix = `bench_cluster_${randomBytes(4).toString('hex')}`
  const instances: Instance[] = []
  const sockets: WebSocket[] = []
  try {
    for (let i = 0; i < n; i++) instances.push(await startInstance(u.toString(), prefix))
    const res = await fetch(`${instances[0]!.url}/api/negotiations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'Bench',
        parties: [
          { id: 'a', name: 'A' },
          { id: 'b', name: 'B' },
        ],
      }),
    })
    if (res.status !== 201) throw new Error(`create negotiation: ${res.status} ${await res.text()}`)
    const neg = (await res.json()) as { id: string; tokens: { negotiator: Record<string, string>; observer: string } }
    const docName = `${neg.id}/board`

    const writers: Writer[] = []
    let phase: { same: Samples; cross: Samples; deliveries: number } | null = null
    const record = (o: Observer, w: Writer, seq: number, at: number) => {
      if (!phase) return
      phase.deliveries++
      ;(o.instance === w.instance ? phase.same : phase.cross).push(at - w.sentAt[seq]!)
    }
    for (let i = 0; i < WRITERS; i++) {
      const token = neg.tokens.negotiator[i % 2 === 0 ? 'a' : 'b']!
      writers.push(await openWriter(i, i % n, instances[i % n]!.ws, docName, token))
      sockets.push(writers[i]!.ws)
    }
    const observers: Observer[] = []
    for (let i = 0; i < OBSERVERS; i++) {
      // offset by one, so with several instances most observers sit elsewhere than most writers
      const inst = (i + 1) % n
      observers.push(await openObserver(inst, instances[inst]!.ws, docName, neg.tokens.observer, () => writers, record))
      sockets.push(observers[i]!.ws)
    }

    const measure = async (drive: (stop: () => boolean) => Promise<void>): Promise<PhaseResult> => {
      let stopped = false
      const driving = drive(() => stopped)
      await sleep(WARMUP_MS)
      phase = { same: new Samples(), cross: new Samples(), deliveries: 0 }
      const receipts0 = writers.reduce((s, w) => s + w.receipts, 0)
      const t0 = performance.now()
      await sleep(SECONDS * 1000)
      const seconds = (performance.now() - t0) / 1000
      const receipts = writers.reduce((s, w) => s + w.receipts, 0) - receipts0
      const p = phase
      stopped = true
      await driving
      // let the last edits land before the next phase
      await sleep(1000)
      phase = null
      const same = p.same.sorted()
      const cross = p.cross.sorted()
      return {
        editsPerSecond: receipts / seconds,
        deliveriesPerSecond: p.deliveries / seconds,
        p50SameMs: percentileSorted(same, 50),
        p99SameMs: percentileSorted(same, 99),
        p50CrossMs: percentileSorted(cross, 50),
        p99CrossMs: percentileSorted(cross, 99),
        p99AllMs: percentile([...same, ...cross], 99),
        samples: p.same.length + p.cross.length,
      }
    }

    log(`  ${n} instance(s): latency phase (${WRITERS} writers × ${RATE} edits/s, ${OBSERVERS} observers)`)
    const latency = await measure(async (stopped) => {
      const interval = 1000 / RATE
      const started = performance.now()
      let tick = 0
      while (!stopped()) {
        for (const w of writers) type(w)
        tick++
        // a fixed schedule, not a fixed pause: slow turns do not lower the offered rate
        await sleep(Math.max(0, started + tick * interval - performance.now()))
      }
    })
    log(`  ${n} instance(s): throughput phase (${WINDOW} edits in flight per writer)`)
    const throughput = await measure(async (stopped) => {
      while (!stopped()) {
        let sentAny = false
        for (const w of writers) {
          while (w.sent - w.receipts < WINDOW) {
            type(w)
            sentAny = true
          }
        }
        await sleep(sentAny ? 0 : 1)
      }
    })
    return { instances: n, writers: WRITERS, observers: OBSERVERS, latency, throughput }
  } finally {
    for (const s of sockets) s.terminate()
    await Promise.all(instances.map(stopInstance))
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
    await admin.end()
  }
}

// ── main ─────────────────────────────────────────────────────────────────

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '—')

async function main(): Promise<void> {
  const started = new Date()
  log(
    `Parley cluster bench: ${SIZES.join(', ')} instance(s), ${SECONDS} s windows; ` +
      `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, load ${loadAverage().join(' ')}`,
  )
  const cases: CaseResult[] = []
  for (const n of SIZES) cases.push(await runCase(n, DATABASE_URL))

  const ms = (p50: number, p99: number) => `${fmt(p50)} / ${fmt(p99)}`
  const lines = [
    `| instances | writers / observers | fixed rate: edits/s | p50 / p99 ms, observer on the writer's instance | p50 / p99 ms, observer on another instance | saturated: edits/s committed | deliveries/s | p99 ms, all observers |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...cases.map(
      (c) =>
        `| ${c.instances} | ${c.writers} / ${c.observers} | ${fmt(c.latency.editsPerSecond, 0)} | ` +
        `${ms(c.latency.p50SameMs, c.latency.p99SameMs)} | ${ms(c.latency.p50CrossMs, c.latency.p99CrossMs)} | ` +
        `${fmt(c.throughput.editsPerSecond, 0)} | ${fmt(c.throughput.deliveriesPerSecond, 0)} | ${fmt(c.throughput.p99AllMs)} |`,
    ),
  ]
  process.stdout.write('\n' + lines.join('\n') + '\n')
  const meta = {
    started: started.toISOString(),
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim(),
    node: process.version,
    loadAverageAfter: loadAverage(),
    seconds: SECONDS,
    rate: RATE,
    window: WINDOW,
  }
  const dir = join(ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `cluster-${started.toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ meta, cases }, null, 2))
  log(`\nload average after: ${meta.loadAverageAfter.join(' ')}; results in ${file}`)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack : err)
    process.exit(1)
  },
)
