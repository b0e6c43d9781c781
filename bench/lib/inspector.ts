/**
 * CPU profile of a server over the inspector protocol, for exactly the
 * measurement window (node --cpu-prof would also record start-up and the
 * connection phase). The server runs with --inspect=127.0.0.1:<port>; the
 * generator starts the profiler when the window opens and writes the
 * .cpuprofile (readable by `npm run bench:profile` and Chrome DevTools) when
 * it closes, with a sampling allocation profile (.heapprofile) next to it.
 */
import { writeFileSync } from 'node:fs'
import WebSocket from 'ws'

export class WindowProfiler {
  private ws: WebSocket | null = null
  private nextId = 1
  private pending = new Map<number, (result: unknown) => void>()

  static async attach(inspectPort: number): Promise<WindowProfiler> {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
      webSocketDebuggerUrl: string
    }>
    const p = new WindowProfiler()
    const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown }
      if (msg.id !== undefined) p.pending.get(msg.id)?.(msg.result)
    })
    p.ws = ws
    await p.call('Profiler.enable')
    await p.call('Profiler.setSamplingInterval', { interval: 200 })
    return p
  }

  private call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      this.ws!.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Starts the CPU profiler and the sampling heap profiler (where the window allocates). */
  async start(): Promise<void> {
    await this.call('HeapProfiler.startSampling', { samplingInterval: 16384 })
    await this.call('Profiler.start')
  }

  /** Writes `file` (.cpuprofile) and the allocation profile next to it (.heapprofile). */
  async stopTo(file: string): Promise<void> {
    const cpu = (await this.call('Profiler.stop')) as { profile: unknown }
    writeFileSync(file, JSON.stringify(cpu.profile))
    const heap = (await this.call('HeapProfiler.stopSampling')) as { profile: unknown }
    writeFileSync(file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap.profile))
    this.ws?.close()
  }
}
