/**
 * The y-websocket wire protocol as Parley speaks it (CONTRACT.md, "Yjs documents").
 * Message numbers follow y-protocols; 100 is Parley's save receipt.
 * Declared once here: the server, the client and the tests import these.
 */

/** First varUint of every websocket message. */
export const MessageType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  /** server → client: followed by the doc's committed sequence number (varUint) */
  saveReceipt: 100,
} as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

/** Second varUint of a sync message (y-protocols/sync). */
export const SyncMessageType = {
  step1: 0,
  step2: 1,
  update: 2,
} as const
export type SyncMessageType = (typeof SyncMessageType)[keyof typeof SyncMessageType]

/** y-protocols/auth sub-type: the only one defined. */
export const AuthMessageType = { permissionDenied: 0 } as const

/** The reason string sent with a permission-denied auth message. */
export const PermissionDeniedReason = {
  readOnly: 'read-only',
  storeUnavailable: 'store-unavailable',
  forgedClientId: 'forged-client-id',
  rejectedByPolicy: 'rejected-by-policy',
  /** the update would put a value of the wrong kind, or under an unknown key, into the doc's layout */
  badLayout: 'bad-layout',
  /** a `suggestion` attribute in another party's or user's name (CONTRACT.md "Suggestions and authorship") */
  forgedSuggestion: 'forged-suggestion',
  /** the negotiation is concluded: its board and ledger take no more writes (CONTRACT.md "Concluding a negotiation") */
  concluded: 'concluded',
} as const

/**
 * Websocket close codes. 44xx are final (the stock y-websocket client does not
 * reconnect on them); 45xx mean "try again later" and the client reconnects.
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  malformed: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  negotiationGone: 4404,
  tooLarge: 4413,
  rateLimited: 4429,
  /** the server could not reach its store; the client should reconnect and resend */
  storeUnavailable: 4503,
  /** the client did not read fast enough and its send buffer filled up */
  slowConsumer: 4508,
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

export const CloseReason: Record<CloseCode, string> = {
  [CloseCode.normal]: 'normal closure',
  [CloseCode.goingAway]: 'server shutting down',
  [CloseCode.malformed]: 'malformed message',
  [CloseCode.unauthorized]: 'missing, bad, expired or revoked token',
  [CloseCode.forbidden]: 'document not allowed for this role',
  [CloseCode.negotiationGone]: 'negotiation is gone',
  [CloseCode.tooLarge]: 'message over 1 MiB',
  [CloseCode.rateLimited]: 'over the rate limit',
  [CloseCode.storeUnavailable]: 'store unavailable, reconnect later',
  [CloseCode.slowConsumer]: 'send buffer full',
}

/**
 * Close codes after which reconnecting cannot help: the client stops retrying
 * and tells the person why. 4429 is 44xx too, but a rate limit passes, so the
 * client retries it after a backoff.
 */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set<number>([
  CloseCode.malformed,
  CloseCode.unauthorized,
  CloseCode.forbidden,
  CloseCode.negotiationGone,
  CloseCode.tooLarge,
])

/** No websocket message, HTTP body or socket.io packet may exceed this. */
export const MAX_MESSAGE_BYTES = 1024 * 1024

/** After this many refused writes a read-only connection is closed with 4403. */
export const MAX_REFUSED_WRITES = 20

/** Path prefix of the y-websocket endpoint: ws://HOST:PORT/yjs/<docName> */
export const YJS_PATH_PREFIX = '/yjs/'

/**
 * A token may ride in the websocket handshake's `Sec-WebSocket-Protocol`
 * header instead of the URL (where browser consoles and proxy access logs
 * show it): the client offers `parley` and `parley-token.<token>`, and the
 * server answers `parley`, never echoing the token. `?token=` keeps working
 * for the stock provider (CONTRACT.md).
 */
export const SUBPROTOCOL = 'parley'
export const TOKEN_SUBPROTOCOL_PREFIX = 'parley-token.'

/** The websocket subprotocols that carry `token` (a JWT is made of characters a subprotocol may hold). */
export const tokenSubprotocols = (token: string): string[] => [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`]

/** The token offered in a `Sec-WebSocket-Protocol` header, if any. */
export function tokenFromSubprotocols(header: string | undefined): string | null {
  if (!header) return null
  for (const p of header.split(',')) {
    const v = p.trim()
    if (v.startsWith(TOKEN_SUBPROTOCOL_PREFIX) && v.length > TOKEN_SUBPROTOCOL_PREFIX.length)
      return v.slice(TOKEN_SUBPROTOCOL_PREFIX.length)
  }
  return null
}
