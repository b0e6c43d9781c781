/**
 * The stock y-websocket server (@y/websocket-server 0.1.1), in memory, set up
 * the way its own bin/server.js does: an HTTP server whose upgrades all go to
 * `setupWSConnection`. No auth, no persistence (its LevelDB option needs
 * leveldown, whose install script this project does not run).
 *
 * Prints `BENCH_LISTENING <port>` once it accepts connections.
 */
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' })
  res.end('okay')
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
