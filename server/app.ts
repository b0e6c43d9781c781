/**
 * Composes Parley: store → sync rooms → negotiation and history layers →
 * websocket endpoint, socket.io control channel and REST API on one HTTP
 * server. Nothing here implements a rule; it only wires the parts together.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Server as SocketIOServer } from 'socket.io'
import { CloseCode, MAX_MESSAGE_BYTES, YJS_PATH_PREFIX } from '../shared/protocol'
import { BOARD_LAYOUT, BOARD_ROOTS, LEDGER_ROOTS } from '../shared/docLayout'
import { parseDocName } from '../shared/docNames'
import { COMMENTS_ROOTS } from '../shared/comments'
import type { Config } from './config'
import { createLogger, type Logger } from './log'
import { openStore } from './store'
import type { Store } from './store/types'
import { loadSecrets } from './auth/secrets'
import { loadSigningKey } from './record/signingKey'
import { RecordService } from './record/recordService'
import { TokenService } from './auth/tokens'
import { Revocations } from './auth/revocations'
import { TokenAdmission } from './auth/admission'
import { StoreBreaker } from './sync/storeBreaker'
import { CommitQueue } from './sync/commitQueue'
import { RoomRegistry } from './sync/roomRegistry'
import { SealedRooms } from './sync/sealedRooms'
import { SyncEndpoint } from './sync/endpoint'
import { NegotiationService } from './negotiation/service'
import { VersionIndex } from './history/versionIndex'
import { HistoryQueries } from './history/queries'
import { ControlChannel } from './control/controlChannel'
import { createApi } from './http/api'
import { OriginPolicy } from './http/origins'
import { ConnectionCounter } from './http/connectionCounter'
import { staticClient } from './http/staticFiles'
import { setSecurityHeaders } from './http/securityHeaders'
import { Metrics } from './http/metrics'
import { KEEPALIVE_MESSAGE } from './sync/messages'
import { ParleyError } from './errors'
import { RedisFanout } from './cluster/redisFanout'
import { createAdapter } from '@socket.io/redis-adapter'

export interface Parley {
  url: string
  port: number
  adminToken: string
  adminTokenGenerated: boolean
  store: Store
  service: NegotiationService
  registry: RoomRegistry
  endpoint: SyncEndpoint
  log: Logger
  close(): Promise<void>
}

const CLIENT_DIR = fileURLToPath(new URL('../dist/client', import.meta.url))
/** How often sessions are checked for revocation and expiry (contract: closed within 5 s). */
const SWEEP_MS = 1000
/** The stock client drops a connection that heard nothing for 30 s. */
const KEEPALIVE_AFTER_MS = 15_000
/** With Redis: every this many sweeps, loaded docs are checked against the store's head. */
const CLUSTER_CATCH_UP_SWEEPS = 2

const allowedRootsByKind = {
  board: new Set<string>(BOARD_ROOTS),
  caucus: new Set<string>(BOARD_ROOTS),
  ledger: new Set<string>(LEDGER_ROOTS),
  comments: new Set<string>(COMMENTS_ROOTS),
}

export async function startParley(config: Config, opts: { log?: Logger; store?: Store } = {}): Promise<Parley> {
  const log = opts.log ?? createLogger(config.logLevel)
  const store = opts.store ?? (await openStore(config, log))
  const secrets = loadSecrets(config.dataDir, { secret: config.secret, adminToken: config.adminToken })
  const records = new RecordService(store, loadSigningKey(config.dataDir, config.signingKey))
  const tokens = new TokenService(secrets.secret)
  const revocations = new Revocations(store)
  await revocations.refresh()
  let baseUrl = config.publicUrl ?? ''
  /** known once the server listens (PORT=0 picks one) */
  let listeningPort = config.port

  const metrics = new Metrics({ connections: () => endpoint.connections.size, rooms: () => [...registry.all()].length })
  const breaker = new StoreBreaker()
  const commits = new CommitQueue(store, breaker, {
    committed: (n, s) => {
      metrics.updatesCommitted.inc(n)
      metrics.commitSeconds.observe(s)
    },
    failed: (err) => {
      metrics.commitFailures.inc()
      log.error('group commit failed; writes are refused until the store answers again', err)
    },
  })
  const roomLog = (level: 'warn' | 'error', msg: string, err?: unknown) => log[level](msg, err)
  const cluster = config.redisUrl ? new RedisFanout(config.redisUrl, config.redisPrefix, log) : undefined
  await cluster?.start()

  // Rooms and the layers that listen to them. `service` and `index` are created
  // right below; the registry calls onCreate only once a room is first used.
  let service: NegotiationService
  let index: VersionIndex
  const registry: RoomRegistry = new RoomRegistry(
    store,
    {
      limits: { maxStructs: config.maxStructsPerUpdate, maxDeleteRanges: config.maxStructsPerUpdate },
      checkpointEvery: config.checkpointEvery,
      now: Date.now,
      schedule: (room) => commits.schedule(room),
      storeWritable: () => breaker.writable(),
      log: roomLog,
      debug: (msg) => log.debug(msg),
      cluster,
    },
    {
      graceMs: config.roomGraceMs,
      log: roomLog,
      cluster,
      onCreate: async (room) => {
        await service.onRoomCreated(room)
        index.attach(room)
      },
      onUnload: (room) => service.onRoomUnloaded(room),
    },
  )
  // Sealed caucuses: opaque rows relayed in seq order, never a Y.Doc, never a negotiation's history.
  const sealed = new SealedRooms(store, {
    isSealed: (name) => parseDocName(name)?.kind === 'sealed',
    graceMs: config.roomGraceMs,
    breaker,
    cluster,
    now: Date.now,
    log: roomLog,
  })
  breaker.onRecovered(() => {
    log.info('store answers again; asking clients to resend what was refused')
    for (const room of registry.all()) room.resync()
  })

  service = new NegotiationService(store, registry, tokens, revocations, () => baseUrl)
  index = new VersionIndex({
    store,
    negotiation: (id) => service.get(id),
    emit: (id, v) => control.emitVersion(id, v, !cluster),
    log: roomLog,
    // Several instances: one writer of a negotiation's versions at a time, whichever instance it is.
    ...(cluster ? { lock: <T>(id: string, fn: () => Promise<T>) => store.withLock(`history:${id}`, fn) } : {}),
  })
  const history = new HistoryQueries(store, index, (id) => service.get(id))
  const admission = new TokenAdmission(tokens, revocations, service, config.devOpen)
  const counter = new ConnectionCounter(config.maxConnectionsPerAddress, config.trustProxy)
  const endpoint = new SyncEndpoint({
    registry,
    sealed,
    admission,
    counter,
    limits: {
      ...config.rate,
      maxBufferedBytes: config.maxBufferedBytes,
      structBurst: Math.max(2 * config.rate.structsPerSecond, config.maxStructsPerUpdate),
    },
    log: (level, msg, err) => log[level](msg, err),
  })
  // Per-doc layout: updates may only create the root types of their doc kind, and client-written
  // docs only values of the kinds their layout names, under the keys it names.
  registry.setLimitsFor((name) => {
    const kind = parseDocName(name)?.kind
    // A sealed caucus never becomes a room of the registry (the endpoint hands it to `sealed`).
    if (!kind || kind === 'sealed') return {}
    // The ledger and the comment threads are server-written: no client update reaches them.
    const clientWritten = kind === 'board' || kind === 'caucus'
    return { allowedRoots: allowedRootsByKind[kind], ...(clientWritten ? { layout: BOARD_LAYOUT } : {}) }
  })

  const api = createApi({ adminToken: secrets.adminToken, admission, service, history, store, records })
  const serveClient = staticClient(CLIENT_DIR)
  const httpServer = createServer((req, res) => void handleRequest(req, res))
  const origins = new OriginPolicy(config.allowedOrigins, {
    host: config.host,
    port: () => listeningPort,
    publicUrl: config.publicUrl,
  })

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]!
      if (path === '/healthz') return await health(res)
      if (path === '/metrics') return await serveMetrics(req, res)
      if (await api.handle(req, res)) {
        const err = (res as ServerResponse & { parleyError?: unknown }).parleyError
        if (err) log.error(`${req.method} ${path} failed`, err)
        return
      }
      if (path.startsWith('/api/')) {
        res.writeHead(404, { 'content-type': 'application/json' })
        return void res.end(JSON.stringify({ error: { code: 'not-found', message: 'no such route' } }))
      }
      serveClient(req, res)
    } catch (err) {
      log.error('request failed', err)
      if (!res.headersSent) res.writeHead(500).end()
    }
  }

  async function health(res: ServerResponse): Promise<void> {
    try {
      await store.ping()
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }))
    } catch {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false }))
    }
  }

  async function serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = req.socket.remoteAddress ?? ''
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)) return void res.writeHead(403).end()
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics())
  }

  const io = new SocketIOServer(httpServer, {
    path: '/socket.io',
    // Parley routes upgrades itself (see below); engine.io must not close the others.
    destroyUpgrade: false,
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    httpCompression: false,
    allowRequest: (req, cb) => cb(origins.allows(req) ? null : 'origin not allowed', origins.allows(req)),
  })
  // The adapter gets clients of its own with ioredis defaults (queue while reconnecting).
  const adapterClients = cluster ? [cluster.newClient(), cluster.newClient()] : []
  // Under PARLEY_REDIS_PREFIX too, so deployments (or test runs) sharing one Redis never hear each other.
  if (cluster) io.adapter(createAdapter(adapterClients[0]!, adapterClients[1]!, { key: `${config.redisPrefix}:socket.io` }))
  // socket.io attaches its own upgrade listener; Parley's router below decides instead.
  httpServer.removeAllListeners('upgrade')
  // Before every request listener, socket.io's included (it wraps the listeners it found when it attached).
  httpServer.prependListener('request', (_req, res) => setSecurityHeaders(res))
  const engine = io.engine as unknown as { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void }
  const control = new ControlChannel(
    io,
    admission,
    service,
    {
      restore: async (actor, termId, n) => {
        const text = await history.termTextAt(actor.negotiationId, n, termId)
        if (!text) throw new ParleyError('unknown-term', `term "${termId}" did not exist at version ${n}`)
        await service.restore(actor, termId, text, n)
      },
    },
    log,
  )
  io.use((socket, next) => {
    const address = counter.addressOf({ headers: socket.handshake.headers, socket: { remoteAddress: socket.handshake.address } })
    if (!counter.acquire(address))
      return next(Object.assign(new Error('too many connections'), { data: { code: CloseCode.rateLimited } }))
    socket.once('disconnect', () => counter.release(address))
    next()
  })

  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const path = req.url ?? '/'
    const isYjs = path.startsWith(YJS_PATH_PREFIX)
    const isSocketIo = path.startsWith('/socket.io/')
    if (!isYjs && !isSocketIo) return void socket.destroy()
    if (!origins.allows(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    if (isYjs) endpoint.handleUpgrade(req, socket, head)
    else engine.handleUpgrade(req, socket, head)
  })

  // A revoked token's sessions close at once here, before its holder can write another keystroke;
  // on other instances within a sweep (SWEEP_MS), when their refresh learns of it.
  revocations.onRevoked((jti) => {
    endpoint.closeWhere((c) => c.peer.tokenId === jti, CloseCode.unauthorized)
    control.closeWhere((d) => d.claims.jti === jti, CloseCode.unauthorized, 'token revoked')
  })

  const closeNegotiation = (id: string) => {
    endpoint.closeWhere((c) => c.peer.scope === id, CloseCode.negotiationGone)
    control.closeWhere((d) => d.claims.negotiationId === id, CloseCode.negotiationGone, 'negotiation is gone')
  }
  service.onDeleted((id) => {
    closeNegotiation(id)
    cluster?.publishEvent({ type: 'negotiation-deleted', id })
  })
  if (cluster) {
    await cluster.onEvent((event) => {
      if (event.type !== 'negotiation-deleted') return
      service.forget(event.id)
      closeNegotiation(event.id)
    })
    cluster.onReconnect(() => {
      log.info('redis is back: catching every loaded document up from the store')
      void registry.catchUpAll()
      void sealed.catchUpAll()
    })
  }

  // Revocation and expiry sweep, store-breaker probe, keepalives, cluster catch-up.
  let sweeps = 0
  const sweep = setInterval(() => {
    void (async () => {
      try {
        await revocations.refresh()
      } catch (err) {
        log.warn('could not refresh revocations', err)
      }
      const now = Date.now()
      const dead = (jti: string | null, exp: number | null) =>
        (jti !== null && revocations.has(jti)) || (exp !== null && exp <= now)
      endpoint.closeWhere((c) => dead(c.peer.tokenId, c.peer.expiresAt), CloseCode.unauthorized)
      control.closeWhere((d) => dead(d.claims.jti, d.claims.expiresAt), CloseCode.unauthorized, 'token expired or revoked')
      for (const c of endpoint.connections) {
        if (now - c.lastSentAt <= KEEPALIVE_AFTER_MS) continue
        if (c.protocol === 'sealed') c.ping()
        else c.send(KEEPALIVE_MESSAGE)
      }
      // Pub/sub can drop a message without a reconnect; the store is the truth.
      if (cluster && ++sweeps % CLUSTER_CATCH_UP_SWEEPS === 0) {
        await registry.catchUpAll()
        await sealed.catchUpAll()
      }
      if (breaker.isBroken && breaker.writable()) {
        try {
          await store.ping()
          breaker.succeeded()
        } catch {
          breaker.failed(new Error('store still unavailable'))
        }
      }
    })()
  }, SWEEP_MS)
  sweep.unref()

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(config.port, config.host, () => resolve())
  })
  const address = httpServer.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  listeningPort = port
  const hostForUrl = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const url = `http://${hostForUrl.includes(':') ? `[${hostForUrl}]` : hostForUrl}:${port}`
  if (!baseUrl) baseUrl = url

  let closing: Promise<void> | null = null
  return {
    url,
    port,
    adminToken: secrets.adminToken,
    adminTokenGenerated: secrets.adminTokenGenerated,
    store,
    service,
    registry,
    endpoint,
    log,
    close: () =>
      (closing ??= (async () => {
        clearInterval(sweep)
        endpoint.shutdown()
        control.close()
        await new Promise<void>((resolve) => {
          io.close(() => resolve())
          httpServer.closeAllConnections()
        })
        await commits.drain()
        await sealed.drain()
        sealed.closeAll()
        await index.flushAll()
        await registry.closeAll()
        await commits.drain()
        await cluster?.close()
        for (const c of adapterClients) c.disconnect()
        await store.close()
      })()),
  }
}
