/**
 * Stores holding a long history, for (c) cold load and (d) history: the
 * generated history (bench/lib/history.ts) is sent through each persisting
 * server's own protocol, the server is stopped gracefully (it flushes and
 * checkpoints as it would in production), and its data dir is kept as a
 * pristine copy that every measured round starts from.
 *
 * Parley's population run raises its rate limits (PARLEY_RATE_MESSAGES,
 * PARLEY_RATE_BYTES, PARLEY_RATE_STRUCTS): one client sends 100k updates as
 * fast as receipts come back, which a browser never does. Measured runs use
 * the defaults.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ColdLoadConfig, PopulateResult, PopulateTarget } from '../load/coldload'
import { createNegotiation, type Endpoint } from './rooms'
import { runWorker, startServer, type RunningServer, type TargetName } from './servers'

export type PersistingTarget = 'parley' | 'hocuspocus-sqlite'

export interface TargetFixture {
  /** pristine data dir; copy it before starting a server on it */
  dir: string
  docName: string
  reader: Endpoint
  warm: { docName: string; reader: Endpoint }
  /** bytes of the store's files after a graceful shutdown */
  storeBytes: number
  /** Parley only: the negotiation and a reviewer token for the history API */
  negotiationId?: string
  reviewerToken?: string
}

export interface HistoryFixture {
  count: number
  digest: string
  /** the final doc state, encoded (what a fresh client downloads) */
  stateBytes: number
  /** sum of the updates' sizes */
  updateBytes: number
  targets: Partial<Record<PersistingTarget, TargetFixture>>
}

const SEED = 42
const cache = new Map<number, HistoryFixture>()
const dirs: string[] = []

process.on('exit', () => {
  if (process.env.BENCH_KEEP_DATA) return
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A store of `count` updates for each target (built once per bench process). */
export async function historyFixture(count: number, targets: PersistingTarget[]): Promise<HistoryFixture> {
  const cached = cache.get(count)
  const missing = targets.filter((t) => !cached?.targets[t])
  if (cached && missing.length === 0) return cached

  const servers: Array<{
    target: PersistingTarget
    server: RunningServer
    populate: PopulateTarget
    fixture: Omit<TargetFixture, 'storeBytes'>
  }> = []
  try {
    for (const target of missing) {
      const dir = mkdtempSync(join(tmpdir(), `bench-fixture-${target}-${count}-`))
      dirs.push(dir)
      const server = await startServer(target, {
        dataDir: dir,
        env:
          target === 'parley'
            ? { PARLEY_RATE_MESSAGES: '1000000', PARLEY_RATE_BYTES: '1000000000', PARLEY_RATE_STRUCTS: '1000000000' }
            : {},
      })
      servers.push({ target, server, ...(await describe(server)) })
    }
    const config: ColdLoadConfig = { mode: 'populate', count, seed: SEED, targets: servers.map((s) => s.populate) }
    const started = Date.now()
    const result = await runWorker<ColdLoadConfig, PopulateResult>('bench/load/coldload.ts', config, 30 * 60_000)
    process.stderr.write(
      `  populated ${count} updates into ${missing.join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    )
    const fixture: HistoryFixture = cached ?? {
      count,
      digest: result.digest,
      stateBytes: result.stateBytes,
      updateBytes: result.updateBytes,
      targets: {},
    }
    for (const s of servers) {
      await s.server.stop(60_000)
      fixture.targets[s.target] = { ...s.fixture, storeBytes: storeBytes(s.server.dataDir!) }
    }
    cache.set(count, fixture)
    return fixture
  } finally {
    for (const s of servers) await s.server.stop()
  }
}

async function describe(
  server: RunningServer,
): Promise<{ populate: PopulateTarget; fixture: Omit<TargetFixture, 'storeBytes'> }> {
  const ws = server.url.replace(/^http/, 'ws')
  if (server.target === 'parley') {
    const big = await createNegotiation(server, 'Long history')
    const warm = await createNegotiation(server, 'Warm-up')
    const ep = (docName: string, token: string): Endpoint => ({
      url: `${ws}/yjs/${docName}?token=${encodeURIComponent(token)}`,
      token,
    })
    const docName = `${big.id}/board`
    const warmDoc = `${warm.id}/board`
    return {
      populate: {
        protocol: 'yws',
        docName,
        writers: [ep(docName, big.tokens.negotiator.a!), ep(docName, big.tokens.negotiator.b!)],
        warm: { docName: warmDoc, writer: ep(warmDoc, warm.tokens.negotiator.a!) },
      },
      fixture: {
        dir: server.dataDir!,
        docName,
        reader: ep(docName, big.tokens.observer),
        warm: { docName: warmDoc, reader: ep(warmDoc, warm.tokens.observer) },
        negotiationId: big.id,
        reviewerToken: big.tokens.reviewer,
      },
    }
  }
  const ep: Endpoint = { url: ws, token: 'bench' }
  return {
    populate: {
      protocol: 'hocuspocus',
      docName: 'history/board',
      writers: [ep, ep],
      warm: { docName: 'warm/board', writer: ep },
    },
    fixture: { dir: server.dataDir!, docName: 'history/board', reader: ep, warm: { docName: 'warm/board', reader: ep } },
  }
}

/** Bytes of the database files in a data dir (secrets and other files excluded). */
export function storeBytes(dir: string): number {
  let n = 0
  for (const f of readdirSync(dir)) if (/\.(db|sqlite)(-wal|-shm|-journal)?$/.test(f)) n += statSync(join(dir, f)).size
  return n
}

/** A fresh copy of a pristine data dir, removed when the bench exits. */
export function copyOf(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'bench-copy-'))
  dirs.push(copy)
  cpSync(dir, copy, { recursive: true })
  return copy
}

/** Endpoints of a fixture for a server started on a copy of it (the port changes; tokens stay valid). */
export function endpointFor(server: RunningServer, e: Endpoint, target: TargetName): Endpoint {
  const ws = server.url.replace(/^http/, 'ws')
  return target === 'parley' ? { url: e.url.replace(/^ws:\/\/[^/]+/, ws), token: e.token } : { url: ws, token: e.token }
}
