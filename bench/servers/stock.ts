/**
 * The stock y-websocket server (@y/websocket-server 0.1.1), in memory, set up
 * the way its own bin/server.js does: an HTTP server whose upgrades all go to
 * `setupWSConnection`. No auth, no persistence (its LevelDB option needs
 * leveldown, whose install script this project does not run).
 *
 * Prints `BENCH_LISTENING <port>` once it accepts connections.
 */
import { WebSocketServer } from 'ws'
import { listenForBench } from './listen'
import { setupWSConnection } from '@y/websocket-server/utils'

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)

listenForBench(wss, 'okay')
