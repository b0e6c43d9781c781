/**
 * A websocket spoken byte by byte over a plain TCP socket, for what no
 * well-behaved client library will send: frame headers that lie about their
 * length, reserved bits, unmasked client frames, fragments past the limit.
 */
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'

export interface WireSocket {
  socket: Socket
  /** close code the server sent (from its close frame), null if it just dropped the connection */
  closed: Promise<number | null>
  write(frame: Buffer): void
  destroy(): void
}

/** Opens `path` (e.g. `/yjs/<doc>?token=…`) with a hand-made upgrade request; resolves once the server answered 101. */
export function wireSocket(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<WireSocket> {
  const u = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) })
    let buf = Buffer.alloc(0)
    let upgraded = false
    let resolveClosed!: (code: number | null) => void
    const closed = new Promise<number | null>((r) => (resolveClosed = r))
    let code: number | null = null
    socket.on('error', () => {})
    socket.on('close', () => {
      if (!upgraded) reject(new Error(`no upgrade: ${buf.toString('latin1').split('\r\n')[0]}`))
      resolveClosed(code)
    })
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const status = buf.subarray(0, end).toString('latin1').split('\r\n')[0]!
        if (!status.includes(' 101 ')) {
          socket.destroy()
          return reject(new Error(status))
        }
        upgraded = true
        buf = buf.subarray(end + 4)
        resolve({ socket, closed, write: (f) => socket.write(f), destroy: () => socket.destroy() })
      }
      // Parse server frames (unmasked) just far enough to find a close frame.
      while (buf.length >= 2) {
        const opcode = buf[0]! & 0x0f
        let len = buf[1]! & 0x7f
        let off = 2
        if (len === 126) {
          if (buf.length < 4) return
          len = buf.readUInt16BE(2)
          off = 4
        } else if (len === 127) {
          if (buf.length < 10) return
          len = Number(buf.readBigUInt64BE(2))
          off = 10
        }
        if (buf.length < off + len) return
        if (opcode === 0x8 && len >= 2) code = buf.readUInt16BE(off)
        buf = buf.subarray(off + len)
      }
    })
    const key = randomBytes(16).toString('base64')
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    )
  })
}

export interface FrameOptions {
  fin?: boolean
  rsv1?: boolean
  /** client frames must be masked (RFC 6455 §5.1); false sends one unmasked */
  mask?: boolean
  /** the length written in the header, when it should lie about the payload */
  declaredLength?: bigint
}

/** A websocket frame: opcode 0x1 text, 0x2 binary, 0x0 continuation, 0x8 close. */
export function frame(opcode: number, payload: Buffer, opts: FrameOptions = {}): Buffer {
  const { fin = true, rsv1 = false, mask = true } = opts
  const len = opts.declaredLength ?? BigInt(payload.length)
  const head: number[] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
  const maskBit = mask ? 0x80 : 0
  let ext = Buffer.alloc(0)
  if (len < 126n) head.push(maskBit | Number(len))
  else if (len < 65536n) {
    head.push(maskBit | 126)
    ext = Buffer.alloc(2)
    ext.writeUInt16BE(Number(len))
  } else {
    head.push(maskBit | 127)
    ext = Buffer.alloc(8)
    ext.writeBigUInt64BE(len)
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload])
  const key = randomBytes(4)
  const masked = Buffer.from(payload)
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ key[i % 4]!
  return Buffer.concat([Buffer.from(head), ext, key, masked])
}
