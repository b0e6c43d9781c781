/**
 * Issue #11, items 6 and 7 — budgets and origins.
 * [BU1] Commands are budgeted per token, not per socket: ten sockets of one
 * negotiator's token firing `checkpoint:create` get what one socket gets,
 * and named checkpoints (permanent versions of the record) are capped.
 * [OR1] DNS rebinding: an Origin that matches the request's own Host header
 * but is not one of the server's configured origins is refused, on /yjs and
 * on socket.io (polling and websocket).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_NAMED_CHECKPOINTS, type CreatedNegotiation } from '../../server/negotiation/service'
import { startServer, type TestServer } from '../helpers/server'
import { rawClient, waitFor } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'

let server: TestServer
let neg: CreatedNegotiation

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Budgets',
    parties: [
      { id: 'a', name: 'Alpha' },
      { id: 'b', name: 'Beta' },
    ],
  })
})

afterAll(async () => {
  await server.close()
})

const versionsOf = async (kind: string) => {
  const res = await server.api(`/api/negotiations/${neg.id}/versions`, { token: neg.tokens.reviewer })
  const body = (await res.json()) as { versions: Array<{ kind: string }> }
  return body.versions.filter((v) => v.kind === kind).length
}

describe('[BU1] commands are budgeted per token', () => {
  it('10 sockets × 40 checkpoint:create of one token make a handful of checkpoints, not 400', async () => {
    const sockets: ControlClient[] = []
    try {
      for (let i = 0; i < 10; i++) sockets.push(controlClient(server.url, neg.tokens.negotiator.a!, `tab ${i}`))
      await Promise.all(sockets.map(connected))
      const answers = await Promise.all(
        sockets.flatMap((s, i) => Array.from({ length: 40 }, (_, k) => s.command('checkpoint:create', { name: `cp ${i}.${k}` }))),
      )
      const accepted = answers.filter((a) => a.ok).length
      const limited = answers.filter((a) => !a.ok && a.error.code === 'rate-limited').length
      expect(accepted + limited).toBe(400)
      // the checkpoint burst (5) — not 40 per socket
      expect(accepted).toBeLessThanOrEqual(5)
      expect(accepted).toBeGreaterThan(0)
      await waitFor(async () => (await versionsOf('checkpoint')) === accepted, { what: 'the accepted checkpoints as versions' })
      // Another delegation's token has its own budget.
      const other = controlClient(server.url, neg.tokens.negotiator.b!, 'other')
      try {
        await connected(other)
        expect((await other.command('checkpoint:create', { name: 'ours' })).ok).toBe(true)
      } finally {
        other.close()
      }
    } finally {
      for (const s of sockets) s.close()
    }
  })

  it('any command: a token gets its burst over all its sockets, then is refused', async () => {
    const sockets: ControlClient[] = []
    try {
      for (let i = 0; i < 5; i++) sockets.push(controlClient(server.url, neg.tokens.negotiator.b!, `b ${i}`))
      await Promise.all(sockets.map(connected))
      // an unknown term: refused by the rules, but each still costs a command
      const answers = await Promise.all(
        sockets.flatMap((s) => Array.from({ length: 30 }, () => s.command('term:accept', { termId: 't-nothing' }))),
      )
      const limited = answers.filter((a) => !a.ok && a.error.code === 'rate-limited').length
      // 150 sent, burst 40 (+ a little refill): most are over the token's budget
      expect(limited).toBeGreaterThanOrEqual(100)
    } finally {
      for (const s of sockets) s.close()
    }
  })
})

describe('[BU2] named checkpoints are capped per negotiation, whatever tokens the admin hands out', () => {
  it(`after ${MAX_NAMED_CHECKPOINTS} the next one is refused (rate-limited) and makes no version`, async () => {
    const n = await server.createNegotiation()
    const actor = { negotiationId: n.id, role: 'negotiator' as const, party: 'a', user: 'Ann', session: 's-test' }
    // The service directly: the per-token budgets above would take hours of tokens to get here.
    for (let i = 0; i < MAX_NAMED_CHECKPOINTS; i++) await server.parley.service.checkpoint(actor, `moment ${i}`)
    await expect(server.parley.service.checkpoint(actor, 'one too many')).rejects.toMatchObject({ code: 'rate-limited' })
    const ctl = controlClient(server.url, n.tokens.negotiator.b!, 'Bea')
    try {
      await connected(ctl)
      const answer = await ctl.command('checkpoint:create', { name: 'over the cap' })
      expect(answer).toMatchObject({ ok: false, error: { code: 'rate-limited' } })
    } finally {
      ctl.close()
    }
    const res = await server.api(`/api/negotiations/${n.id}/versions`, { token: n.tokens.reviewer })
    const list = (await res.json()) as { versions: Array<{ kind: string }> }
    expect(list.versions.filter((v) => v.kind === 'checkpoint').length).toBe(MAX_NAMED_CHECKPOINTS)
  }, 60_000)
})

describe('[OR1] the server’s own origins come from its configuration, not from the request’s Host', () => {
  it('a rebound name (Origin and Host both evil.example:PORT) is refused on /yjs and socket.io', async () => {
    const port = new URL(server.url).port
    const evil = `http://evil.example:${port}`
    const r = rawClient(
      server.wsUrl,
      `${neg.id}/board`,
      { token: neg.tokens.negotiator.a! },
      { headers: { origin: evil, host: `evil.example:${port}` } },
    )
    await expect(r.opened).rejects.toThrow('HTTP 403')
    const ctl = controlClient(server.url, neg.tokens.negotiator.a!, 'x', {
      extraHeaders: { origin: evil, host: `evil.example:${port}` },
    })
    try {
      await expect(connected(ctl)).rejects.toBeTruthy()
    } finally {
      ctl.close()
    }
    const polling = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { origin: evil, host: `evil.example:${port}` },
    })
    expect(polling.status).toBe(403)
  })

  it('the server’s own origins pass: the bind address and, on loopback, localhost', async () => {
    const port = new URL(server.url).port
    for (const origin of [server.url, `http://localhost:${port}`]) {
      const r = rawClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.a! }, { headers: { origin } })
      await r.opened
      r.ws.close()
    }
    const polling = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: server.url } })
    expect(polling.status).toBe(200)
  })

  it('PARLEY_PUBLIC_URL and PARLEY_ALLOWED_ORIGINS are let in too', async () => {
    const other = await startServer({
      env: {
        PARLEY_PUBLIC_URL: 'https://parley.example.org',
        PARLEY_ALLOWED_ORIGINS: 'https://partner.example.com',
      },
    })
    try {
      const n = await other.createNegotiation()
      for (const origin of ['https://parley.example.org', 'https://partner.example.com', other.url]) {
        const r = rawClient(other.wsUrl, `${n.id}/board`, { token: n.tokens.negotiator.a! }, { headers: { origin } })
        await r.opened
        r.ws.close()
      }
      const r = rawClient(
        other.wsUrl,
        `${n.id}/board`,
        { token: n.tokens.negotiator.a! },
        { headers: { origin: 'https://evil.example' } },
      )
      await expect(r.opened).rejects.toThrow('HTTP 403')
    } finally {
      await other.close()
    }
  })
})
