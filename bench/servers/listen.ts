/**
 * What every bench-side server process does around its websocket handling
 * (bench/servers/*.ts): a plain HTTP server on 127.0.0.1 and PORT (0: any),
 * every upgrade handed to `wss`, `BENCH_LISTENING <port>` printed once it
 * accepts connections (the bench waits for that line), and a clean exit on
 * SIGTERM/SIGINT.
 */
import http from 'node:http'
import type { WebSocketServer } from 'ws'

export function listenForBench(wss: WebSocketServer, answer: string): void {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(answer)
  })
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const address = server.address()
    console.log(`BENCH_LISTENING ${typeof address === 'object' && address ? address.port : 0}`)
  })
  const stop = () => process.exit(0)
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
