/**
 * How a checkpoint's state is kept in the store: deflated (node:zlib, in the
 * zlib format: its Adler-32 makes a damaged checkpoint fail to decode rather
 * than come back as another document; 6 bytes), or as it is when that does
 * not make it smaller (tiny docs). The codec is stored beside the bytes, so
 * either can be read back whatever wrote it.
 *
 * Measured on the 100 000-update bench board (a 301 KiB Yjs state):
 * level 1 → 52 % in 4.5 ms, 3 → 50.5 % in 5.7 ms, 6 → 49 % in 10.6 ms,
 * 9 → 48.9 % in 16.5 ms; inflating takes ~2.5 ms at any level. Brotli gets
 * to 39 % only at quality 11 (650 ms). Yjs' v2 encoding would compress to
 * 26 %, but a sync step 2 carries v1, and converting on the cold-load path
 * would cost more than it saves. The default level, 6: a checkpoint is
 * written once per state's worth of updates, on libuv's thread pool, so the
 * extra milliseconds cost no latency, and the smaller file is kept.
 */
import { promisify } from 'node:util'
import { deflate, deflateSync, inflateSync } from 'node:zlib'

export const Codec = {
  /** the Yjs update itself */
  Raw: 0,
  /** zlib (RFC 1950: deflate and an Adler-32) of it */
  Deflate: 1,
} as const
export type Codec = (typeof Codec)[keyof typeof Codec]

const LEVEL = 6
const deflateAsync = promisify(deflate)

export interface Encoded {
  codec: Codec
  bytes: Uint8Array
}

const choose = (state: Uint8Array, deflated: Uint8Array): Encoded =>
  deflated.byteLength < state.byteLength ? { codec: Codec.Deflate, bytes: deflated } : { codec: Codec.Raw, bytes: state }

/** Compresses on the thread pool: a large state takes milliseconds the event loop should not spend. */
export async function encodeCheckpoint(state: Uint8Array): Promise<Encoded> {
  return choose(state, await deflateAsync(state, { level: LEVEL }))
}

/** For migrations, which run in one synchronous transaction. */
export function encodeCheckpointSync(state: Uint8Array): Encoded {
  return choose(state, deflateSync(state, { level: LEVEL }))
}

/**
 * Decoded on the event loop, not the thread pool: a checkpoint is read to load
 * a room, and a cold load answers its first client from it. Inflating takes
 * ~1–2.5 ms for the 100 000-update bench board, while the hop to the thread
 * pool and back took 6–11 ms on a busy machine (cold load 12 → 30 ms); the
 * doc is then built from the state on the loop anyway, ~50× longer.
 */
export function decodeCheckpointSync(codec: number, bytes: Uint8Array): Uint8Array {
  if (codec === Codec.Raw) return bytes
  if (codec === Codec.Deflate) return plain(inflateSync(bytes))
  throw new Error(`checkpoint stored with unknown codec ${codec}`)
}

/** A plain Uint8Array view of a Buffer, as the stores hand out. */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
