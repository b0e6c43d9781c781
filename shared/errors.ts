/**
 * Error codes of the HTTP API and socket.io acks (`{error:{code, message}}`).
 * Each has its HTTP status; tests/unit/docs.test.ts [D1] checks every code is in
 * the README's table.
 */
export const ErrorCode = {
  badRequest: { name: 'bad-request', status: 400 },
  /** an uploaded Word file that cannot be read: not a .docx, or over its unpacked bounds (CONTRACT.md "Word documents") */
  badDocument: { name: 'bad-document', status: 400 },
  unauthorized: { name: 'unauthorized', status: 401 },
  forbidden: { name: 'forbidden', status: 403 },
  notFound: { name: 'not-found', status: 404 },
  tooLarge: { name: 'too-large', status: 413 },
  rateLimited: { name: 'rate-limited', status: 429 },
  storeUnavailable: { name: 'store-unavailable', status: 503 },
  internal: { name: 'internal', status: 500 },
  // domain refusals of commands (socket.io acks); HTTP status if ever sent over HTTP
  unknownTerm: { name: 'unknown-term', status: 404 },
  wrongRole: { name: 'wrong-role', status: 403 },
  wrongParty: { name: 'wrong-party', status: 403 },
  termClosed: { name: 'term-closed', status: 409 },
  termOpen: { name: 'term-open', status: 409 },
  unknownVersion: { name: 'unknown-version', status: 404 },
  pendingSuggestions: { name: 'pending-suggestions', status: 409 },
  // concluding a negotiation (CONTRACT.md "Concluding a negotiation")
  /** the term holds open `[`…`]` groups: choose an option first */
  bracketed: { name: 'bracketed', status: 409 },
  /** `term:confirm` with no acceptance ad referendum of the caller's party */
  nothingToConfirm: { name: 'nothing-to-confirm', status: 409 },
  /** the text, or the package, changed since what the caller is confirming or accepting */
  textChanged: { name: 'text-changed', status: 409 },
  /** no package yet (a term is still open), or not every party accepted it (for initialling) */
  packageOpen: { name: 'package-open', status: 409 },
  /** the negotiation is concluded: nothing moves any more */
  concluded: { name: 'concluded', status: 409 },
  /** the record of a negotiation not (yet) concluded */
  notConcluded: { name: 'not-concluded', status: 404 },
} as const

/**
 * Codes of refusals the client makes up itself for a command it could not send
 * or get an answer to (`{ok:false, error:{code, message}}`, like a server ack).
 * Client-side only: never sent over the wire, so not in ErrorCode nor in the
 * README's table; declared here so no other code is taken for them.
 */
export const LocalRefusal = {
  /** the session ended for good (a final close or `session:closed`) */
  sessionClosed: 'session-closed',
  /** the control channel is not connected */
  offline: 'offline',
  /** the server did not ack in time */
  timeout: 'timeout',
} as const

export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode]['name']

export interface ErrorBody {
  code: ErrorCodeName
  message: string
}

export const statusOf = (code: ErrorCodeName): number => Object.values(ErrorCode).find((c) => c.name === code)?.status ?? 500
