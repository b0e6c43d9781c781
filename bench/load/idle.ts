/**
 * Client side of scenario (e), in its own process (config and result over
 * IPC): opens N observer connections spread over R rooms, waits until every
 * one is synced, lets the server settle, and reads its memory.
 */
import { memory } from '../lib/proc'
import type { Protocol } from '../lib/servers'
import type { RoomSpec } from '../lib/rooms'
import { EMPTY_UPDATE, WireClient, openAll } from '../lib/wire'

export interface IdleConfig {
  protocol: Protocol
  rooms: RoomSpec[]
  connections: number
  settleMs: number
  serverPid: number
}

export interface IdleResult {
  baselineRss: number
  rss: number
  peakRss: number
  perConnectionBytes: number
  connectSeconds: number
  /** connections still open when memory was read */
  open: number
}

async function run(cfg: IdleConfig): Promise<IdleResult> {
  const baseline = memory(cfg.serverPid).rss
  const started = performance.now()
  const clients = await openAll(
    cfg.connections,
    (i) => {
      const room = cfg.rooms[i % cfg.rooms.length]!
      return new WireClient({
        protocol: cfg.protocol,
        endpoint: room.observer,
        docName: room.docName,
        name: `Idle ${i}`,
        stateFor: () => EMPTY_UPDATE,
      })
    },
    128,
    300_000,
  )
  const connectSeconds = (performance.now() - started) / 1000
  await new Promise((r) => setTimeout(r, cfg.settleMs))
  const mem = memory(cfg.serverPid)
  const open = clients.filter((c) => c.ws.readyState === c.ws.OPEN).length
  for (const c of clients) c.terminate()
  return {
    baselineRss: baseline,
    rss: mem.rss,
    peakRss: mem.peakRss,
    perConnectionBytes: (mem.rss - baseline) / cfg.connections,
    connectSeconds,
    open,
  }
}

process.once('message', (cfg: IdleConfig) => {
  run(cfg).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.exit(1)),
  )
})
