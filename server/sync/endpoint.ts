/**
 * The y-websocket endpoint: `ws://HOST:PORT/yjs/<docName>?token=…&name=…[&ack=1]`.
 * Upgrades first and then decides, so a browser can read the close code:
 * admission (token, role, doc) → room load → join → messages. Messages that
 * arrive while that is in progress are held and handled in order afterwards.
 * A sealed caucus (sealedRooms.ts) takes the same way in, to a room of its
 * own kind that speaks shared/sealed.ts's messages instead of Yjs's.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { CloseCode, MAX_MESSAGE_BYTES, SUBPROTOCOL, YJS_PATH_PREFIX, type CloseCode as CloseCodeT } from '../../shared/protocol'
import { decodeSealedClientMessage, SealedFrameError } from '../../shared/sealed'
import { Connection, type ConnectionLimits } from './connection'
import { decodeMessage, encodeSyncStep1, encodeSyncStep2, ProtocolError } from './messages'
import type { Access, Peer } from './peer'
import type { Room } from './room'
import type { RoomRegistry, StoredState } from './roomRegistry'
import type { SealedRoom } from './sealedRoom'
import type { SealedRooms } from './sealedRooms'
import { TokenBucket } from './rateLimit'

/**
 * Messages held while a connection's admission and room load complete (a stock
 * client sends 2–3, more if its user types meanwhile). Past this the socket is
 * paused — TCP pushes back on the sender — rather than cut off: a load slowed
 * by a busy disk must not lose a fast typist's connection.
 */
const MAX_HELD_MESSAGES = 64
/** What may still arrive after the pause (ws drains what it already parsed): more is a flood, 4429. */
const MAX_HELD_BYTES = 2 * MAX_MESSAGE_BYTES

/** Sync step 1 with an empty state vector: "send me the whole doc". */
const WHOLE_DOC_REQUEST = encodeSyncStep1(new Uint8Array([0]))

export type AdmitResult = { ok: true; peer: Peer; access: Access } | { ok: false; code: CloseCodeT }

/** Decides who may open which doc; implemented by the auth layer. */
export interface Admission {
  admit(req: IncomingMessage, docName: string, query: URLSearchParams): Promise<AdmitResult>
}

/** Open connections per client address: what the endpoint needs of the server's counter. */
export interface AddressCounter {
  addressOf(req: IncomingMessage): string
  /** false (and nothing counted) when the address is at its cap */
  acquire(address: string): boolean
  release(address: string): void
}

export interface EndpointDeps {
  registry: RoomRegistry
  /** the sealed caucus rooms: docs they handle never reach the registry */
  sealed: SealedRooms
  admission: Admission
  limits: ConnectionLimits
  /** per-address cap on open connections, shared with the control channel (http/connectionCounter.ts) */
  counter: AddressCounter
  log: (level: 'info' | 'warn' | 'error', msg: string, err?: unknown) => void
}

export class SyncEndpoint {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    // Compression costs CPU per recipient on the hot path; Yjs updates are already compact.
    perMessageDeflate: false,
    clientTracking: false,
    // A client that sends its token as a subprotocol (shared/protocol.ts) gets `parley` back, never the token.
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  })
  readonly connections = new Set<Connection>()
  private accepting = true
  /** every socket upgraded here and not yet closed, admitted or not (shutdown closes them all) */
  private readonly sockets = new Set<WebSocket>()
  /** Struct budgets by token (or owner, token-less): a new connection does not come with a fresh one. */
  private readonly structBudgets = new Map<string, TokenBucket>()

  constructor(private readonly deps: EndpointDeps) {}

  /** Handles an HTTP upgrade whose path starts with /yjs/ (origin already checked). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.accept(ws, req))
  }

  private async accept(ws: WebSocket, req: IncomingMessage): Promise<void> {
    reportOversizeAs4413(ws)
    this.sockets.add(ws)
    ws.once('close', () => this.sockets.delete(ws))
    const address = this.deps.counter.addressOf(req)
    if (!this.deps.counter.acquire(address)) return ws.close(CloseCode.rateLimited, 'too many connections from this address')
    ws.once('close', () => this.deps.counter.release(address))
    const held: Array<[RawData, boolean]> = []
    let heldBytes = 0
    let conn: Connection | null = null
    let room: Room | null = null
    let sealed: SealedRoom | null = null
    /** the doc's stored state while its room is being built (see RoomRegistry.whenStored) */
    let stored: StoredState | null = null
    /** settles the room builder's wait for this connection's first request */
    let decided: ((answered?: Promise<void>) => void) | null = null
    ws.on('error', () => {}) // the close event follows; errors carry no extra information for us
    ws.on('message', (data, isBinary) => {
      if (conn && sealed) return this.onSealedMessage(conn, sealed, data, isBinary)
      if (!conn || !room) {
        if (conn && stored && decided) {
          const answered = isBinary ? this.answerFromStore(conn, stored, data) : null
          decided(answered ?? undefined)
          decided = null
          if (answered) return
        }
        // Nothing can be said yet: held, and past MAX_HELD_MESSAGES the socket stops reading.
        heldBytes += rawByteLength(data)
        if (heldBytes > MAX_HELD_BYTES) return closeReading(ws, CloseCode.rateLimited)
        held.push([data, isBinary])
        if (held.length >= MAX_HELD_MESSAGES && !ws.isPaused) ws.pause()
        return
      }
      this.onMessage(conn, room, data, isBinary)
    })
    ws.on('close', () => {
      if (!conn) return
      conn.closed = true
      this.connections.delete(conn)
      if (room) {
        room.leave(conn)
        this.deps.registry.scheduleUnload(room)
      }
      if (sealed) {
        sealed.leave(conn)
        this.deps.sealed.scheduleUnload(sealed)
      }
    })

    const url = new URL(req.url ?? '/', 'http://localhost')
    const docName = safeDecode(url.pathname.slice(YJS_PATH_PREFIX.length))
    if (!this.accepting) return ws.close(CloseCode.goingAway)
    if (docName === null) return ws.close(CloseCode.forbidden)
    const sealedRooms = this.deps.sealed.handles(docName) ? this.deps.sealed : null
    let admitted: AdmitResult
    try {
      admitted = await this.deps.admission.admit(req, docName, url.searchParams)
    } catch (err) {
      this.deps.log('error', 'admission failed', err)
      return closeReading(ws, CloseCode.storeUnavailable)
    }
    if (!admitted.ok) return closeReading(ws, admitted.code)
    if (ws.readyState !== ws.OPEN) return
    const c = new Connection(
      ws,
      docName,
      admitted.peer,
      admitted.access,
      url.searchParams.get('ack') === '1',
      this.deps.limits,
      this.structBudget(admitted.peer),
    )
    conn = c
    this.connections.add(c)
    if (sealedRooms) {
      c.protocol = 'sealed'
      let r: SealedRoom
      try {
        r = await sealedRooms.get(docName)
      } catch (err) {
        this.deps.log('error', `could not load sealed ${docName}`, err)
        if (ws.isPaused) ws.resume()
        return c.close(CloseCode.storeUnavailable)
      }
      if (c.closed) return sealedRooms.scheduleUnload(r)
      r.join(c)
      sealed = r
      for (const [data, isBinary] of held.splice(0)) {
        if (c.closed) break
        this.onSealedMessage(c, r, data, isBinary)
      }
      heldBytes = 0
      if (ws.isPaused) ws.resume()
      return
    }
    const loading = this.deps.registry.get(docName)
    void this.deps.registry.whenStored(docName).then((s) => {
      if (!s || room || c.closed) return
      stored = s
      const first = held[0]
      if (first) {
        // Its first request is here already: answered now, or it waits for the room.
        const answered = first[1] ? this.answerFromStore(c, s, first[0]) : null
        if (answered) held.shift()
        s.waiting.push(answered ?? Promise.resolve())
      } else {
        s.waiting.push(
          new Promise<void>((resolve) => (decided = (answered) => void (answered ?? Promise.resolve()).then(resolve))),
        )
        ws.once('close', () => decided?.())
      }
    })
    try {
      room = await loading
    } catch (err) {
      this.deps.log('error', `could not load ${docName}`, err)
      if (ws.isPaused) ws.resume() // so the client's closing handshake is read (see closeReading)
      return c.close(CloseCode.storeUnavailable)
    }
    if (c.closed) return this.deps.registry.scheduleUnload(room)
    room.join(c)
    for (const [data, isBinary] of held.splice(0)) {
      if (c.closed) break
      this.onMessage(c, room, data, isBinary)
    }
    heldBytes = 0
    // Also when a held message got the connection closed (4429 while replaying them): a paused
    // socket would never read the client's answer to the close frame and linger for ws's 30 s.
    if (ws.isPaused) ws.resume()
  }

  /**
   * A newcomer's sync step 1 asking for the whole doc (an empty state vector:
   * a fresh client), answered with the doc's stored state while its room is
   * still being built (resolves once the answer has left); null for anything
   * else, which waits for the room.
   */
  private answerFromStore(conn: Connection, stored: StoredState, data: RawData): Promise<void> | null {
    const bytes = toUint8Array(data)
    if (bytes.byteLength !== WHOLE_DOC_REQUEST.byteLength || !WHOLE_DOC_REQUEST.every((b, i) => bytes[i] === b)) return null
    if (!conn.admit(bytes.byteLength)) {
      conn.close(CloseCode.rateLimited)
      return Promise.resolve()
    }
    return conn.sendFlushed(encodeSyncStep2(stored.state))
  }

  private onMessage(conn: Connection, room: Room, data: RawData, isBinary: boolean): void {
    if (conn.closed) return
    if (!isBinary) return conn.close(CloseCode.malformed, 'text frames are not part of the protocol')
    const bytes = toUint8Array(data)
    if (!conn.admit(bytes.byteLength)) return conn.close(CloseCode.rateLimited)
    try {
      room.receive(conn, decodeMessage(bytes))
    } catch (err) {
      if (!(err instanceof ProtocolError)) this.deps.log('error', `unexpected error handling a message for ${room.name}`, err)
      conn.close(CloseCode.malformed, err instanceof ProtocolError ? err.message.slice(0, 120) : undefined)
    }
  }

  /** A message on a sealed doc: the frame checked here (shared/sealed.ts), the rest by its room. */
  private onSealedMessage(conn: Connection, room: SealedRoom, data: RawData, isBinary: boolean): void {
    if (conn.closed) return
    if (!isBinary) return conn.close(CloseCode.malformed, 'text frames are not part of the protocol')
    const bytes = toUint8Array(data)
    if (!conn.admit(bytes.byteLength)) return conn.close(CloseCode.rateLimited)
    let msg
    try {
      msg = decodeSealedClientMessage(bytes)
    } catch (err) {
      if (err instanceof SealedFrameError) return conn.close(err.code, err.message.slice(0, 120))
      this.deps.log('error', `unexpected error decoding a sealed message for ${room.name}`, err)
      return conn.close(CloseCode.malformed)
    }
    room.receive(conn, msg)
  }

  private structBudget(peer: Peer): TokenBucket | null {
    const { structsPerSecond: rate, structBurst } = this.deps.limits
    if (!rate || !peer.structBudgeted) return null
    const key = peer.tokenId ?? peer.ownerKey
    let budget = this.structBudgets.get(key)
    if (!budget) this.structBudgets.set(key, (budget = new TokenBucket(rate, Math.max(structBurst ?? 0, 2 * rate))))
    return budget
  }

  /** Closes every connection matching `pred` with `code`. */
  closeWhere(pred: (c: Connection) => boolean, code: CloseCodeT): number {
    let n = 0
    for (const c of this.connections) {
      if (!c.closed && pred(c)) {
        c.close(code)
        n++
      }
    }
    return n
  }

  /**
   * Stops admitting and closes every socket with 1001 — those still being admitted too. A socket
   * whose client does not answer the close frame (gone, or not reading) is cut after
   * SHUTDOWN_GRACE_MS: ws would wait out its 30 s close timeout, and the HTTP server's close with it.
   */
  shutdown(): void {
    this.accepting = false
    this.closeWhere(() => true, CloseCode.goingAway)
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) closeReading(ws, CloseCode.goingAway)
    this.wss.close()
    const cut = setTimeout(() => {
      for (const ws of this.sockets) ws.terminate()
    }, SHUTDOWN_GRACE_MS)
    cut.unref()
  }
}

/** How long a shutting-down server waits for clients to answer its close frames before cutting their sockets. */
const SHUTDOWN_GRACE_MS = 1000

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s)
  } catch {
    return null
  }
}

/**
 * Closes a socket that may have been paused while its admission was pending:
 * it reads again first, or the client's answer to the close frame would sit
 * unread and the socket linger until ws's 30 s close timeout.
 */
function closeReading(ws: WebSocket, code: number): void {
  if (ws.isPaused) ws.resume()
  ws.close(code)
}

function rawByteLength(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength
}

function toUint8Array(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}

/**
 * `ws` refuses a frame over maxPayload from its header, before buffering it,
 * but closes with 1009; CONTRACT.md says 4413. Rewrite the code on the error
 * before ws's own handler closes the socket with it.
 */
function reportOversizeAs4413(ws: WebSocket): void {
  const receiver = (ws as unknown as { _receiver?: NodeJS.EventEmitter })._receiver
  if (!receiver) return
  const [original] = receiver.listeners('error') as Array<(this: unknown, err: Error) => void>
  if (!original) return
  receiver.removeListener('error', original)
  receiver.on('error', function (this: unknown, err: Error & { code?: string }) {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      const statusCode = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code')
      if (statusCode) (err as unknown as Record<symbol, number>)[statusCode] = CloseCode.tooLarge
    }
    original.call(this, err)
  })
}
