/**
 * Hocuspocus (@hocuspocus/server 4.7) with its defaults (debounced store
 * after 2 s, at most 10 s; broadcasts batched per event-loop turn), either in
 * memory or with @hocuspocus/extension-sqlite when HOCUSPOCUS_SQLITE names a
 * database file. No auth hooks: it accepts any token.
 *
 * A package of its own (./package.json, installed by `npm run bench:peers`
 * or on the first bench run that measures it): Hocuspocus 4 declares Node
 * ≥ 22, and Parley's own install is to be clean on the Node 20 it supports.
 * Plain JavaScript, so Parley's typecheck does not need it installed.
 *
 * Prints `BENCH_LISTENING <port>` once it accepts connections.
 */
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const database = process.env.HOCUSPOCUS_SQLITE
const server = new Server({
  port: Number(process.env.PORT ?? 0),
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: true,
  extensions: database ? [new SQLite({ database })] : [],
})

await server.listen()
console.log(`BENCH_LISTENING ${server.address.port}`)
