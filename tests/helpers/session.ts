/**
 * One person's view of a negotiation through the public contract: the stock y-websocket client on the
 * board and the ledger, and the socket.io control channel — what the integration tests of negotiating
 * and concluding open for each delegation and watcher.
 */
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { synced, yClient, type YClient } from './clients'
import { connected, controlClient, type ControlClient } from './control'

export interface PersonSession {
  board: YClient
  ledger: YClient
  control: ControlClient
  token: string
}

/**
 * Opens the board, the ledger and the control channel for `who` — a party id (its negotiator) or a
 * watcher's role — and waits until all three are in sync. Everything opened is pushed to `open`, for
 * the test's cleanup.
 */
export async function openSession(
  server: { url: string; wsUrl: string },
  neg: CreatedNegotiation,
  who: string,
  name: string,
  open: Array<YClient | ControlClient>,
): Promise<PersonSession> {
  const token = who === 'observer' || who === 'reviewer' ? neg.tokens[who] : neg.tokens.negotiator[who]!
  const board = yClient(server.wsUrl, `${neg.id}/board`, { token, name })
  const ledger = yClient(server.wsUrl, `${neg.id}/ledger`, { token, name })
  const control = controlClient(server.url, token, name)
  open.push(board, ledger, control)
  await Promise.all([synced(board), synced(ledger), connected(control)])
  return { board, ledger, control, token }
}
