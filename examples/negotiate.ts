/**
 * A whole negotiation through Parley's public contract only: the stock
 * y-websocket client for the documents and socket.io-client for commands —
 * no Parley code. Run against a server you started (`npm start`):
 *
 *   PARLEY_URL=http://127.0.0.1:4000 PARLEY_ADMIN_TOKEN=<token> npm run example
 *
 * It creates a negotiation, lets two delegations propose, counter, accept
 * and agree a term while an observer watches, then prints the history.
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { io, type Socket } from 'socket.io-client'
import WebSocket from 'ws'

const base = process.env.PARLEY_URL ?? 'http://127.0.0.1:4000'
const admin = process.env.PARLEY_ADMIN_TOKEN
if (!admin) throw new Error('set PARLEY_ADMIN_TOKEN (npm start prints it)')

async function api<T>(path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

function openDoc(docName: string, token: string, name: string) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(base.replace(/^http/, 'ws') + '/yjs', docName, doc, {
    params: { token, name },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  })
  const synced = new Promise<void>((resolve) => provider.once('sync', () => resolve()))
  return { doc, provider, synced }
}

function control(token: string, name: string): Socket {
  return io(base, { auth: { token, name }, transports: ['websocket'] })
}

const command = async (s: Socket, event: string, payload: unknown) => {
  const ack = (await s.emitWithAck(event, payload)) as { ok: boolean; error?: { code: string; message: string } }
  console.log(`  ${event} ${JSON.stringify(payload)} → ${ack.ok ? 'ok' : `${ack.error!.code}: ${ack.error!.message}`}`)
  return ack
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 20))
}

async function main() {
  type Created = { id: string; tokens: { negotiator: Record<string, string>; observer: string; reviewer: string } }
  const neg = await api<Created>('/api/negotiations', admin!, {
    title: 'Fisheries access',
    parties: [
      { id: 'north', name: 'Northland' },
      { id: 'south', name: 'Southland' },
    ],
  })
  console.log(`negotiation ${neg.id}`)
  const north = openDoc(`${neg.id}/board`, neg.tokens.negotiator.north!, 'North lead')
  const south = openDoc(`${neg.id}/board`, neg.tokens.negotiator.south!, 'South lead')
  const ledger = openDoc(`${neg.id}/ledger`, neg.tokens.observer, 'Observer')
  await Promise.all([north.synced, south.synced, ledger.synced])
  const ns = control(neg.tokens.negotiator.north!, 'North lead')
  const ss = control(neg.tokens.negotiator.south!, 'South lead')
  const status = () => (ledger.doc.getMap('status').get('quota') as Y.Map<unknown> | undefined)?.get('state')

  // North proposes a term: a Y.Map in `terms` with Y.Text title and body (CONTRACT.md layout).
  north.doc.transact(() => {
    const term = new Y.Map<unknown>()
    term.set('title', new Y.Text('Quota'))
    term.set('body', new Y.Text('Each party may catch 40% of the shared stock.'))
    term.set('x', 40)
    term.set('y', 40)
    north.doc.getMap('terms').set('quota', term)
    north.doc.getArray('order').push(['quota'])
  })
  await until(() => status() === 'proposed')
  console.log('ledger: proposed by north')

  // South counters by editing the text, then both accept the same text.
  await until(() => south.doc.getMap('terms').has('quota'))
  const body = (south.doc.getMap('terms').get('quota') as Y.Map<Y.Text>).get('body')!
  south.doc.transact(() => {
    const at = body.toString().indexOf('40%')
    body.delete(at, 3)
    body.insert(at, '35%')
  })
  await new Promise((r) => setTimeout(r, 200))
  await command(ns, 'term:withdraw', { termId: 'nope' })
  await command(ss, 'term:accept', { termId: 'quota' })
  await command(ns, 'term:accept', { termId: 'quota' })
  await until(() => status() === 'agreed')
  console.log(`ledger: agreed — "${(ledger.doc.getMap('status').get('quota') as Y.Map<string>).get('agreedText')}"`)

  const { versions } = await api<{ versions: Array<{ n: number; kind: string; summary: string }> }>(
    `/api/negotiations/${neg.id}/versions`,
    neg.tokens.reviewer,
  )
  for (const v of versions) console.log(`  v${v.n} ${v.kind.padEnd(8)} ${v.summary}`)

  for (const d of [north, south, ledger]) {
    d.provider.destroy()
    d.doc.destroy()
  }
  ns.close()
  ss.close()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
