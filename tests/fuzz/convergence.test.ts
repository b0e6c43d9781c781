/**
 * Issue #7, item 6 — seeded randomized convergence through the real server,
 * in the manner of Yjs's own `applyRandomTests` (yjs/tests/testHelper.js):
 * 3–5 users of 2–3 delegations, each with the stock y-websocket client on the
 * board, the ledger and its delegation's caucus and a socket.io session, do
 * random edits within the board layout (terms, notes, order, links — through
 * shared/docLayout.ts), random commands, disconnects and reconnects (editing
 * offline meanwhile), partial flushes, and server restarts (SIGKILL or
 * SIGTERM). At the end every user is online again and:
 *   - all copies of each doc are equal, content and state vectors;
 *   - a doc rebuilt from the stored log equals them;
 *   - the log has no gap, no duplicate, an intact chain and no row that adds nothing.
 *
 * PARLEY_FUZZ_RUNS runs (default 3; `npm run fuzz` runs 200) of
 * PARLEY_FUZZ_STEPS steps (default 60), seeds PARLEY_FUZZ_SEED, +1, +2, …
 * A failure prints its seed; failing seeds go into REGRESSIONS below.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as prng from 'lib0/prng'
import { io, type Socket } from 'socket.io-client'
import { board as boardOf, insertTerm, replaceText } from '../../shared/docLayout'

/**


 */
/** The commands of the first capability set, in their order: seeds replay the sequences they always did. */
const TERM_COMMANDS: string[] = ['term:accept', 'term:reject', 'term:withdraw', 'term:reopen', 'checkpoint:create', 'term:restore']
/**
 * The commands that conclude a negotiation (issue 17): a `term:accept` becomes one of these one time in
 * three, decided by a second generator so the main sequence of every seed stays as it was.
 */
const CONCLUDING_COMMANDS: string[] = ['term:confirm', 'term:choose', 'package:accept', 'negotiation:initial']
import { waitFor, yClient, type YClient } from '../helpers/clients'
import { Cleanup } from '../helpers/cleanup'
import { LogReader, verifyLog } from '../helpers/storeLog'
import { createNegotiation, expectAlive, startServer, type ServerProcess } from '../helpers/server'

const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 3)
const STEPS = Number(process.env.PARLEY_FUZZ_STEPS ?? 60)
const BASE_SEED = Number(process.env.PARLEY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))

/**
 * Seeds that once failed, kept as named cases (with what they found). Each runs in every
 * `npm test`; replay one alone with PARLEY_FUZZ_SEED=<seed> PARLEY_FUZZ_RUNS=1.
 */
const REGRESSIONS: Array<{ name: string; seed: number; steps?: number }> = [
  // Found the comparison itself wrong: Y.Map keys come out in integration order, which differs
  // between copies that converged; content is now compared with sorted keys.
  { name: 'copies list map keys in different orders', seed: 1610891507 },
]

/** Command refusals that are the domain's answer, not a failure of the server. */
const DOMAIN_REFUSALS = new Set([
  'unknown-term',
  'wrong-party',
  'term-closed',
  'term-open',
  'unknown-version',
  'rate-limited',
  'bracketed',
  'nothing-to-confirm',
  'text-changed',
  'package-open',
  'concluded',
  'pending-suggestions',
])

let server: ServerProcess
const cleanup = new Cleanup()
const ENV = { PARLEY_CHECKPOINT_EVERY: '25', PARLEY_ROOM_GRACE_MS: '200' }

beforeAll(async () => {
  server = await startServer({ spawn: true, env: ENV })
  cleanup.add(null, () => server.kill())
}, 60_000)

afterAll(async () => {
  await cleanup.run()
})

interface User {
  name: string
  party: string
  board: YClient
  ledger: YClient
  caucus: YClient
  ctl: Socket
  online: boolean
}

const PARTIES = ['a', 'b', 'c']

async function run(seed: number, steps: number): Promise<void> {
  const gen = prng.create(seed)
  const concludingGen = prng.create(seed ^ 0x5bd1e995)
  const parties = PARTIES.slice(0, prng.int32(gen, 2, 3))
  const neg = await createNegotiation(server, {
    title: `fuzz ${seed}`,
    parties: parties.map((id) => ({ id, name: id.toUpperCase() })),
    terms: [{ title: 'Seeded', body: 'seeded body' }],
  })
  const docs = { board: `${neg.id}/board`, ledger: `${neg.id}/ledger`, caucus: (p: string) => `${neg.id}/caucus/${p}` }
  const local = new Cleanup()
  const users: User[] = []
  const nUsers = prng.int32(gen, 3, 5)
  for (let i = 0; i < nUsers; i++) {
    const party = parties[i % parties.length]!
    const name = `u${i}${party}`
    const token = neg.tokens.negotiator[party]!
    const params = { token, name }
    const ctl = io(server.url, {
      path: '/socket.io',
      auth: { token, name },
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    })
    local.add(ctl, (s) => s.close())
    users.push({
      name,
      party,
      board: local.add(yClient(server.wsUrl, docs.board, params), (c) => c.destroy()),
      ledger: local.add(yClient(server.wsUrl, docs.ledger, params), (c) => c.destroy()),
      caucus: local.add(yClient(server.wsUrl, docs.caucus(party), params), (c) => c.destroy()),
      ctl,
      online: true,
    })
  }
  const observer = local.add(yClient(server.wsUrl, docs.board, { token: neg.tokens.observer, name: 'observer' }), (c) =>
    c.destroy(),
  )
  let counter = 0
  let restarts = 0
  const trace: string[] = []

  const setOnline = (u: User, online: boolean) => {
    u.online = online
    for (const c of [u.board, u.ledger, u.caucus]) online ? c.provider.connect() : c.provider.disconnect()
    online ? u.ctl.connect() : u.ctl.disconnect()
  }

  try {
    for (let step = 0; step < steps; step++) {
      const u = prng.oneOf(gen, users)
      const roll = prng.int32(gen, 0, 99)
      if (roll < 50) {
        const doc = prng.int32(gen, 0, 3) === 0 ? u.caucus.doc : u.board.doc
        trace.push(`${step} ${u.name} edit ${doc === u.caucus.doc ? 'caucus' : 'board'}`)
        randomEdit(gen, doc, `${u.name}-${seed}-${counter++}`)
      } else if (roll < 62) {
        const termIds = [...u.ledger.doc.getMap('status').keys()]
        const first: string = prng.oneOf(gen, TERM_COMMANDS)
        const termId = termIds.length && prng.int32(gen, 0, 9) > 0 ? prng.oneOf(gen, termIds) : 'no-such-term'
        const concluding = first === 'term:accept' && prng.int32(concludingGen, 0, 2) === 0
        const name = concluding ? prng.oneOf(concludingGen, CONCLUDING_COMMANDS) : first
        const payload =
          name === 'checkpoint:create'
            ? { name: `cp ${step}` }
            : name === 'term:restore'
              ? { termId, n: prng.int32(gen, 1, 5) }
              : name === 'term:choose'
                ? { termId, group: 0, option: prng.int32(concludingGen, 0, 1) }
                : name === 'package:accept' || name === 'negotiation:initial'
                  ? {}
                  : first === 'term:accept' && prng.int32(concludingGen, 0, 3) === 0
                    ? { termId, adReferendum: { principal: 'Capital' } }
                    : { termId }
        trace.push(`${step} ${u.name} ${name} ${termId}`)
        if (u.ctl.connected) {
          const ack = (await u.ctl
            .timeout(10_000)
            .emitWithAck(name, payload)
            .catch((err: Error) => ({
              ok: false,
              error: { code: u.ctl.connected ? 'timeout' : 'disconnected', message: err.message },
            }))) as {
            ok: boolean
            error?: { code: string; message: string }
          }
          // A choice of a group or option the term does not have is bad input, as it should be.
          const badChoice = name === 'term:choose' && ack.error?.code === 'bad-request'
          if (!ack.ok && !DOMAIN_REFUSALS.has(ack.error!.code) && ack.error!.code !== 'disconnected' && !badChoice) {
            throw new Error(`${name} ${JSON.stringify(payload)} answered ${JSON.stringify(ack)}`)
          }
        }
      } else if (roll < 72) {
        trace.push(`${step} ${u.name} ${u.online ? 'disconnects' : 'reconnects'}`)
        setOnline(u, !u.online)
      } else if (roll < 75 && restarts < 2) {
        const signal = prng.bool(gen) ? 'SIGKILL' : 'SIGTERM'
        trace.push(`${step} server ${signal}`)
        restarts++
        await server.kill(signal)
        // edits while the server is away
        for (let k = prng.int32(gen, 0, 4); k > 0; k--)
          randomEdit(gen, prng.oneOf(gen, users).board.doc, `offline-${seed}-${counter++}`)
        server = await startServer({ spawn: true, port: server.port, dataDir: server.dataDir, env: ENV })
      } else {
        // let some messages through, as Yjs's tests flush part of the network
        await new Promise((r) => setTimeout(r, prng.int32(gen, 0, 40)))
      }
      if (step % 10 === 9) await new Promise((r) => setTimeout(r, 5))
    }

    // everyone back online; wait until every copy of every doc agrees
    for (const u of users) if (!u.online) setOnline(u, true)
    await expectAlive(server)
    const groups = (
      [
        [docs.board, [observer.doc, ...users.map((u) => u.board.doc)]],
        [docs.ledger, users.map((u) => u.ledger.doc)],
        ...parties.map((p): [string, Y.Doc[]] => [docs.caucus(p), users.filter((u) => u.party === p).map((u) => u.caucus.doc)]),
      ] as Array<[string, Y.Doc[]]>
    ).filter((g) => g[1].length > 0)
    const allClients = [observer, ...users.flatMap((u) => [u.board, u.ledger, u.caucus])]
    let why = ''
    const agreed = () => {
      const unsynced = allClients.filter((c) => !c.provider.synced)
      if (unsynced.length) return !(why = `unsynced: ${unsynced.map((c) => c.provider.roomname).join(', ')}`)
      const split = groups.filter(([, copies]) => !copies.every((d) => same(d, copies[0]!)))
      if (split.length) return !(why = `copies differ: ${split.map(([n]) => n).join(', ')}`)
      return true
    }
    await waitFor(agreed, { timeout: 30_000, interval: 50, what: 'every copy of every doc to agree' }).catch((err: Error) => {
      const lines = [`last check: ${why}`]
      for (const line of allClients
        .filter((c) => !c.provider.synced || c.closes.length || c.denied.length)
        .map(
          (c) =>
            `${c.provider.roomname}: synced=${c.provider.synced} closes=${JSON.stringify(c.closes)} denied=${JSON.stringify(c.denied)}`,
        ))
        lines.push(line)
      for (const [name, copies] of groups)
        copies.forEach((d, i) =>
          lines.push(`${name} copy ${i}: sv ${JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(d))])}`),
        )
      err.message += `\n${lines.join('\n')}\n${server.output
        .join('')
        .split('\n')
        .filter((l) => / (WARN|ERROR) /.test(l))
        .slice(-10)
        .join('\n')}`
      throw err
    })
    // … and with the log. The server may still be writing (the authors of new client ids, a bracket
    // recount, a reopen decided after its grace period): a row is committed before anyone receives it,
    // so the log may run ahead of the copies for a moment — never behind. Wait for both to settle.
    const log = new LogReader(server.dataDir)
    try {
      const matches = () =>
        agreed() &&
        groups.every(([name, copies]) => {
          try {
            return same(verifyLog(name, log.rows(name)), copies[0]!)
          } catch {
            return false // a broken log: the checks below say how
          }
        })
      await waitFor(matches, { timeout: 10_000, interval: 100, what: 'the log and the copies to agree' }).catch(() => {})
      for (const [name, copies] of groups) {
        const rebuilt = verifyLog(name, log.rows(name))
        expect(Y.encodeStateVector(rebuilt), `${name}: state vector of the doc rebuilt from the log`).toEqual(
          Y.encodeStateVector(copies[0]!),
        )
        expect(content(rebuilt), `${name}: content of the doc rebuilt from the log`).toEqual(content(copies[0]!))
        for (const d of copies) expect(d!.store.pendingStructs, `${name}: nothing pending`).toBeNull()
      }
    } finally {
      log.close()
    }
  } catch (err) {
    const e = err as Error
    e.message =
      `fuzz seed ${seed} (${steps} steps) failed — replay: PARLEY_FUZZ_SEED=${seed} PARLEY_FUZZ_RUNS=1 PARLEY_FUZZ_STEPS=${steps} ` +
      `npx vitest run tests/fuzz/convergence.test.ts\n${e.message}\nlast steps:\n  ${trace.slice(-15).join('\n  ')}`
    throw e
  } finally {
    await local.run()
  }
}

/** Equal content and equal state vectors. */
function same(a: Y.Doc, b: Y.Doc): boolean {
  return (
    Y.encodeStateVector(a).join() === Y.encodeStateVector(b).join() && JSON.stringify(content(a)) === JSON.stringify(content(b))
  )
}

/** The doc's roots as plain data with map keys sorted (Y.Map keys come in integration order). */
function content(doc: Y.Doc): unknown {
  const out: Record<string, unknown> = {}
  for (const name of ['terms', 'notes', 'links', 'meta', 'status']) out[name] = sorted(doc.getMap(name).toJSON())
  out.order = doc.getArray('order').toJSON()
  return out
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
  )
}

const words = (gen: prng.PRNG) => Array.from({ length: prng.int32(gen, 1, 4) }, () => prng.word(gen, 1, 7)).join(' ')

/** One random change within the board layout (CONTRACT.md "Yjs documents"), as a user would make it. */
function randomEdit(gen: prng.PRNG, doc: Y.Doc, id: string): void {
  const b = boardOf(doc)
  const terms = [...b.terms.keys()]
  const notes = [...b.notes.keys()]
  const links = [...b.links.keys()]
  const text = (m: Y.Map<unknown> | undefined, key: string) => {
    const t = m?.get(key)
    return t instanceof Y.Text ? t : null
  }
  doc.transact(() => {
    switch (prng.int32(gen, 0, 11)) {
      case 0:
      case 1:
        insertTerm(doc, `t-${id}`, {
          title: words(gen),
          body: words(gen),
          x: prng.int32(gen, 0, 3000),
          y: prng.int32(gen, 0, 3000),
        })
        break
      case 2:
      case 3: {
        // type into a title or body
        const t = text(terms.length ? b.terms.get(prng.oneOf(gen, terms)) : undefined, prng.bool(gen) ? 'title' : 'body')
        if (t) t.insert(prng.int32(gen, 0, t.length), words(gen))
        break
      }
      case 4: {
        // delete a run of a body, or rewrite it
        const t = text(terms.length ? b.terms.get(prng.oneOf(gen, terms)) : undefined, 'body')
        if (t && t.length > 0) {
          if (prng.bool(gen)) {
            const at = prng.int32(gen, 0, t.length - 1)
            t.delete(at, prng.int32(gen, 1, Math.min(8, t.length - at)))
          } else replaceText(t, words(gen))
        }
        break
      }
      case 5: {
        // drag a term
        const m = terms.length ? b.terms.get(prng.oneOf(gen, terms)) : undefined
        m?.set('x', prng.int32(gen, 0, 3000))
        m?.set('y', prng.int32(gen, 0, 3000))
        break
      }
      case 6:
        // remove a term (the server puts it back unless its proposer withdraws it)
        if (terms.length) b.terms.delete(prng.oneOf(gen, terms))
        break
      case 7: {
        const note = new Y.Map<unknown>()
        note.set('text', new Y.Text(words(gen)))
        note.set('x', prng.int32(gen, 0, 3000))
        note.set('y', prng.int32(gen, 0, 3000))
        note.set('color', prng.oneOf(gen, ['#ffd54f', '#81c784', '#64b5f6']))
        b.notes.set(`n-${id}`, note)
        break
      }
      case 8: {
        const n = notes.length ? b.notes.get(prng.oneOf(gen, notes)) : undefined
        const t = text(n, 'text')
        if (t && prng.int32(gen, 0, 3) > 0) t.insert(prng.int32(gen, 0, t.length), words(gen))
        else if (notes.length) b.notes.delete(prng.oneOf(gen, notes))
        break
      }
      case 9: {
        // reorder
        if (b.order.length > 1) {
          const from = prng.int32(gen, 0, b.order.length - 1)
          const item = b.order.get(from)
          b.order.delete(from, 1)
          b.order.insert(prng.int32(gen, 0, b.order.length), [item])
        }
        break
      }
      case 10:
        if (terms.length > 1) {
          const link = new Y.Map<unknown>()
          link.set('from', prng.oneOf(gen, terms))
          link.set('to', prng.oneOf(gen, terms))
          link.set('label', words(gen))
          b.links.set(`l-${id}`, link)
        }
        break
      case 11:
        if (links.length) {
          if (prng.bool(gen)) b.links.delete(prng.oneOf(gen, links))
          else (b.links.get(prng.oneOf(gen, links)) as Y.Map<unknown>).set('label', words(gen))
        }
        break
    }
  })
}

describe('[Z1] seeded random edits, commands, disconnects and restarts converge through the real server', () => {
  for (const r of REGRESSIONS) {
    it(`regression: ${r.name} (seed ${r.seed})`, { timeout: 180_000 }, async () => {
      await run(r.seed, r.steps ?? STEPS)
    })
  }

  it(`${RUNS} runs of ${STEPS} steps from seed ${BASE_SEED}`, { timeout: 60_000 + RUNS * 60_000 }, async () => {
    console.info(`[Z1] base seed ${BASE_SEED}, ${RUNS} runs of ${STEPS} steps`)
    for (let i = 0; i < RUNS; i++) await run(BASE_SEED + i, STEPS)
  })
})
