/**
 * The floor: the least a relay of these clients can do, to measure every
 * server against. Node + ws and nothing else — no CRDT, no store, no checks.
 * Each doc message a client sends (a y-websocket sync update) is forwarded,
 * bytes as received, to every other connection of its room and kept in the
 * room's list; a joiner's sync step 1 is answered with that list replayed,
 * then an empty sync step 2 (what a client waits for to be synced). Awareness
 * is relayed from writers only, as Parley relays it (CONTRACT.md: watchers'
 * awareness is not broadcast); a writer is a connection whose URL says
 * `writer=1` (the bench's rooms give writers such URLs, observers none).
 *
 * Written for the bench, not taken from a library: the point is to have
 * nothing a library would add. Prints `BENCH_LISTENING <port>`.
 */
import type http from 'node:http'
import WebSocket, { WebSocketServer } from 'ws'
import { listenForBench } from './listen'

const SYNC = 0
const AWARENESS = 1
const SYNC_STEP1 = 0
const SYNC_UPDATE = 2
/** sync step 2 carrying an empty Yjs update (no structs, no deletes) */
const EMPTY_STEP2 = Buffer.from([SYNC, 1, 2, 0, 0])

interface Room {
  sockets: Set<WebSocket>
  /** every doc message received, as received */
  log: Buffer[]
}

const rooms = new Map<string, Room>()

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
  const url = new URL(req.url ?? '/', 'http://floor')
  const name = url.pathname
  const writer = url.searchParams.get('writer') === '1'
  let room = rooms.get(name)
  if (!room) rooms.set(name, (room = { sockets: new Set(), log: [] }))
  const here = room
  here.sockets.add(ws)
  const relay = (data: Buffer) => {
    for (const other of here.sockets) if (other !== ws && other.readyState === WebSocket.OPEN) other.send(data)
  }
  ws.on('message', (data: Buffer) => {
    // The message type and sync sub-type are single-byte varUints in every message these clients send.
    const type = data[0]
    if (type === SYNC) {
      const sub = data[1]
      if (sub === SYNC_STEP1) {
        for (const m of here.log) ws.send(m)
        ws.send(EMPTY_STEP2)
      } else if (sub === SYNC_UPDATE) {
        here.log.push(data)
        relay(data)
      }
      // sync step 2 (a client's answer to a step 1 the floor never sends): nothing to do
    } else if (type === AWARENESS && writer) {
      relay(data)
    }
  })
  ws.on('close', () => {
    here.sockets.delete(ws)
    if (here.sockets.size === 0) rooms.delete(name)
  })
})

listenForBench(wss, 'floor')
