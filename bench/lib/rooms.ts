/**
 * Rooms for a run: on Parley, real negotiations created through the admin
 * API with a negotiator token per party and an observer token; on the peers,
 * the same doc names with no auth (they have none).
 */
import { ADMIN_TOKEN, isParley, protocolOf, type RunningServer } from './servers'

export interface Endpoint {
  /** websocket URL; y-websocket clients append `&name=…` */
  url: string
  /** Hocuspocus sends it in its auth message; Parley's is already in the URL */
  token: string
}

export interface RoomSpec {
  docName: string
  /** one per writer (party a, party b, …) */
  writers: Endpoint[]
  observer: Endpoint
}

interface Created {
  id: string
  tokens: { negotiator: Record<string, string>; observer: string; reviewer: string }
}

export async function createNegotiation(server: RunningServer, title: string, terms?: Array<{ title: string; body: string }>) {
  const res = await fetch(`${server.url}/api/negotiations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      title,
      parties: [
        { id: 'a', name: 'Party A' },
        { id: 'b', name: 'Party B' },
      ],
      ...(terms ? { terms } : {}),
    }),
  })
  if (res.status !== 201) throw new Error(`create negotiation: ${res.status} ${await res.text()}`)
  return (await res.json()) as Created & { links: Created['tokens'] }
}

export async function prepareRooms(server: RunningServer, count: number, writersPerRoom = 2): Promise<RoomSpec[]> {
  const ws = server.url.replace(/^http/, 'ws')
  const rooms: RoomSpec[] = []
  for (let i = 0; i < count; i++) {
    if (isParley(server.target)) {
      const neg = await createNegotiation(server, `Bench ${i}`)
      const docName = `${neg.id}/board`
      const url = (token: string) => `${ws}/yjs/${docName}?token=${encodeURIComponent(token)}`
      const parties = Object.keys(neg.tokens.negotiator)
      rooms.push({
        docName,
        writers: Array.from({ length: writersPerRoom }, (_, w) => {
          const token = neg.tokens.negotiator[parties[w % parties.length]!]!
          return { url: url(token), token }
        }),
        observer: { url: url(neg.tokens.observer), token: neg.tokens.observer },
      })
    } else {
      const docName = `bench-${i}/board`
      const url = protocolOf(server.target) === 'hocuspocus' ? ws : `${ws}/${docName}?bench=1`
      // The floor relays awareness from writers only, as Parley does; it knows them by their URL.
      const writerUrl = server.target === 'floor' ? `${url}&writer=1` : url
      rooms.push({
        docName,
        writers: Array.from({ length: writersPerRoom }, () => ({ url: writerUrl, token: 'bench' })),
        observer: { url, token: 'bench' },
      })
    }
  }
  return rooms
}
