/**
 * Decoding and encoding of y-websocket messages. Inbound bytes are untrusted:
 * every read is bounds-checked (lib0 throws on a truncated or over-long
 * varUint and on a length prefix past the end), trailing bytes are refused,
 * and anything unexpected becomes a ProtocolError, which the connection turns
 * into close code 4400.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { AuthMessageType, MessageType, SyncMessageType } from '../../shared/protocol'
import { isSealedMessageType } from '../../shared/sealed'

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}

export interface AwarenessEntry {
  clientId: number
  clock: number
  /** the state as JSON text, exactly as sent ('null' removes the client); see checkAwarenessState */
  json: string
}

export type InboundMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; entries: AwarenessEntry[] }
  | { type: 'query-awareness' }
  | { type: 'auth' }

/** Awareness states are small JSON objects; anything bigger is abuse. */
const MAX_AWARENESS_ENTRIES = 64
const MAX_AWARENESS_STATE_CHARS = 64 * 1024

export function decodeMessage(data: Uint8Array): InboundMessage {
  try {
    const decoder = decoding.createDecoder(data)
    const type = decoding.readVarUint(decoder)
    let msg: InboundMessage
    switch (type) {
      case MessageType.sync:
        msg = decodeSync(decoder)
        break
      case MessageType.awareness:
        msg = { type: 'awareness', entries: decodeAwareness(decoding.readVarUint8Array(decoder)) }
        break
      case MessageType.queryAwareness:
        msg = { type: 'query-awareness' }
        break
      case MessageType.auth:
        // Clients have nothing to say in y-protocols/auth; read it to check its shape.
        decoding.readVarUint(decoder)
        if (decoding.hasContent(decoder)) decoding.readVarString(decoder)
        msg = { type: 'auth' }
        break
      default:
        throw new ProtocolError(
          isSealedMessageType(type) ? `sealed message type ${type} on a Yjs doc` : `unknown message type ${type}`,
        )
    }
    if (decoding.hasContent(decoder)) throw new ProtocolError('trailing bytes after message')
    return msg
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError(`undecodable message: ${(err as Error).message}`)
  }
}

function decodeSync(decoder: decoding.Decoder): InboundMessage {
  const sub = decoding.readVarUint(decoder)
  const payload = decoding.readVarUint8Array(decoder)
  switch (sub) {
    case SyncMessageType.step1:
      return { type: 'sync-step1', stateVector: payload }
    case SyncMessageType.step2:
      return { type: 'sync-step2', update: payload }
    case SyncMessageType.update:
      return { type: 'sync-update', update: payload }
    default:
      throw new ProtocolError(`unknown sync message type ${sub}`)
  }
}

function decodeAwareness(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update)
  const count = decoding.readVarUint(decoder)
  if (count > MAX_AWARENESS_ENTRIES) throw new ProtocolError(`awareness update with ${count} entries`)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder)
    const clock = decoding.readVarUint(decoder)
    const json = decoding.readVarString(decoder)
    if (json.length > MAX_AWARENESS_STATE_CHARS) throw new ProtocolError('awareness state too large')
    // The JSON itself is checked by the room (checkAwarenessState), which can skip the echoes of
    // states it already holds — the stock client sends back every remote awareness update it gets.
    entries.push({ clientId, clock, json })
  }
  if (decoding.hasContent(decoder)) throw new ProtocolError('trailing bytes in awareness update')
  return entries
}

/** An awareness state must be a JSON object, or null (the client left); returns it parsed. */
export function checkAwarenessState(json: string): Record<string, unknown> | null {
  let state: unknown
  try {
    state = JSON.parse(json)
  } catch {
    throw new ProtocolError('awareness state is not JSON')
  }
  if (state !== null && (typeof state !== 'object' || Array.isArray(state))) {
    throw new ProtocolError('awareness state must be an object or null')
  }
  return state as Record<string, unknown> | null
}

/**
 * The state with its `user` identity fields overwritten by `identity` (what
 * the token says: name, party, role, colour): a connection cannot make its
 * caret and labels pose as another delegation. Other fields of `user` and of
 * the state pass through as the client sent them.
 */
export function stampAwarenessUser(state: Record<string, unknown>, identity: Readonly<Record<string, unknown>>): string {
  const sent = state.user
  const user = sent !== null && typeof sent === 'object' && !Array.isArray(sent) ? (sent as Record<string, unknown>) : {}
  return JSON.stringify({ ...state, user: { ...user, ...identity } })
}

/** Validates a state vector (sync step 1) and returns it decoded. */
export function decodeStateVector(sv: Uint8Array): Map<number, number> {
  try {
    const decoder = decoding.createDecoder(sv)
    const n = decoding.readVarUint(decoder)
    if (n > sv.length) throw new ProtocolError('state vector length past the end')
    const map = new Map<number, number>()
    for (let i = 0; i < n; i++) map.set(decoding.readVarUint(decoder), decoding.readVarUint(decoder))
    if (decoding.hasContent(decoder)) throw new ProtocolError('trailing bytes in state vector')
    return map
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError(`bad state vector: ${(err as Error).message}`)
  }
}

// ── outbound ──────────────────────────────────────────────────────────────

function encodeWith(fn: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  fn(e)
  return encoding.toUint8Array(e)
}

export const encodeSyncStep1 = (stateVector: Uint8Array) =>
  encodeWith((e) => {
    encoding.writeVarUint(e, MessageType.sync)
    encoding.writeVarUint(e, SyncMessageType.step1)
    encoding.writeVarUint8Array(e, stateVector)
  })

export const encodeSyncStep2 = (update: Uint8Array) =>
  encodeWith((e) => {
    encoding.writeVarUint(e, MessageType.sync)
    encoding.writeVarUint(e, SyncMessageType.step2)
    encoding.writeVarUint8Array(e, update)
  })

export const encodeSyncUpdate = (update: Uint8Array) =>
  encodeWith((e) => {
    encoding.writeVarUint(e, MessageType.sync)
    encoding.writeVarUint(e, SyncMessageType.update)
    encoding.writeVarUint8Array(e, update)
  })

export const encodeAwareness = (entries: readonly AwarenessEntry[]) =>
  encodeWith((e) => {
    encoding.writeVarUint(e, MessageType.awareness)
    encoding.writeVarUint8Array(
      e,
      encodeWith((inner) => {
        encoding.writeVarUint(inner, entries.length)
        for (const entry of entries) {
          encoding.writeVarUint(inner, entry.clientId)
          encoding.writeVarUint(inner, entry.clock)
          encoding.writeVarString(inner, entry.json)
        }
      }),
    )
  })

export const encodePermissionDenied = (reason: string) =>
  encodeWith((e) => {
    encoding.writeVarUint(e, MessageType.auth)
    encoding.writeVarUint(e, AuthMessageType.permissionDenied)
    encoding.writeVarString(e, reason)
  })

export const encodeSaveReceipt = (seq: number) =>
  encodeWith((e) => {
    encoding.writeVarUint(e, MessageType.saveReceipt)
    encoding.writeVarUint(e, seq)
  })

/** An awareness message with no entries: a harmless keepalive for the client's 30 s watchdog. */
export const KEEPALIVE_MESSAGE = encodeAwareness([])
