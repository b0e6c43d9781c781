/**
 * Issue #7, item 5 — crash and restart. Four stock y-websocket clients of two
 * delegations write as fast as they can; the server is killed with SIGKILL at
 * a random moment, PARLEY_CRASH_ROUNDS times in a row (default 20). After
 * each restart, before any writer is back:
 *   every edit for which a save receipt was sent is in the restarted server's doc;
 * then the writers reconnect, resend what never reached the store, and all
 * converge (content and state vectors). At the end the stored history has no
 * gap, no duplicate, an intact hash chain and no row that adds nothing, and a
 * doc rebuilt from it equals every client's.
 *
 * How a receipt maps to an edit: the server stores the bytes of an update as
 * the client sent them and answers with that row's seq. Each writer records
 * the bytes of every update it sends (an edit, or the sync step 2 of a
 * reconnect) with the number of its last note edit at that moment; after the
 * crash the rows of its receipts are read from the SQLite file and matched
 * back. Note edits append `w:n;` to the writer's own note, so edit n being
 * present means every earlier one is too.
 *
 * Seeded: the seed is printed, and PARLEY_CRASH_SEED replays a run.
 */
import { createHash } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as prng from 'lib0/prng'
import WebSocket from 'ws'
import { MessageType, SyncMessageType } from '../../shared/protocol'
import { board as boardOf } from '../../shared/docLayout'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { waitFor, yClient, rawAdmitted, step2Message as step2, updateMessage, synced, type YClient } from '../helpers/clients'
import { Canary } from '../helpers/canary'
import { Cleanup } from '../helpers/cleanup'
import { LogReader, verifyLog } from '../helpers/storeLog'
import { createNegotiation, WITH_OPENING_TERM, expectAlive, mintToken, startServer, type ServerProcess } from '../helpers/server'

const ROUNDS = Number(process.env.PARLEY_CRASH_ROUNDS ?? 20)
const SEED = Number(process.env.PARLEY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
const cleanup = new Cleanup()
afterAll(async () => {
  await cleanup.run()
})

const sha = (u: Uint8Array) => createHash('sha1').update(u).digest('hex')

/** One writer: a stock client whose outgoing updates are fingerprinted. */
class Writer {
  /** number of this writer's last note edit */
  edits = 0
  /** fingerprint of each update sent → the note edit count when it was sent */
  readonly sent = new Map<string, number>()
  /** receipts received before the last kill */
  readonly client: YClient

  constructor(
    readonly name: string,
    wsUrl: string,
    doc: string,
    token: string,
  ) {
    const self = this
    class Recording extends WebSocket {
      override send(data: unknown, ...rest: unknown[]): void {
        if (data instanceof Uint8Array) self.record(data)
        ;(super.send as (...a: unknown[]) => void)(data, ...rest)
      }
    }
    this.client = yClient(wsUrl, doc, { token, name, ack: '1' }, { WebSocket: Recording as unknown as typeof WebSocket })
  }

  private record(message: Uint8Array): void {
    const d = decoding.createDecoder(message)
    if (decoding.readVarUint(d) !== MessageType.sync) return
    const sub = decoding.readVarUint(d)
    if (sub !== SyncMessageType.step2 && sub !== SyncMessageType.update) return
    const key = sha(decoding.readVarUint8Array(d))
    if (!this.sent.has(key)) this.sent.set(key, this.edits)
  }

  get note(): Y.Text {
    return (boardOf(this.client.doc).notes.get(`note-${this.name}`) as Y.Map<unknown>).get('text') as Y.Text
  }

  /** Appends the next note edit; every few edits also types into the shared term and moves it. */
  edit(gen: prng.PRNG, termId: string): void {
    const n = ++this.edits
    const doc = this.client.doc
    doc.transact(() => this.note.insert(this.note.length, `${this.name}:${n};`))
    if (n % 5 === 0) {
      const term = boardOf(doc).terms.get(termId)
      const body = term?.get('body')
      if (body instanceof Y.Text) doc.transact(() => body.insert(prng.int32(gen, 0, body.length), prng.word(gen, 1, 3)))
      if (n % 15 === 0) doc.transact(() => term?.set('x', prng.int32(gen, 0, 2000)))
    }
  }
}

/** Text of every writer's note, from any doc. */
const noteText = (doc: Y.Doc, name: string) =>
  ((boardOf(doc).notes.get(`note-${name}`) as Y.Map<unknown> | undefined)?.get('text') as Y.Text | undefined)?.toString() ?? ''

/** Why the clients differ (printed when they do not converge). */
function divergence(observer: YClient, writers: Writer[]): string {
  const sv = (d: Y.Doc) => JSON.stringify(Object.fromEntries(Y.decodeStateVector(Y.encodeStateVector(d))))
  const state = (c: YClient, name: string) =>
    `${name}: synced=${c.provider.synced} connected=${c.provider.wsconnected} closes=${JSON.stringify(c.closes.slice(-3))} ` +
    `pending=${c.doc.store.pendingStructs !== null}/${c.doc.store.pendingDs !== null} sv=${sv(c.doc)}`
  return [
    state(observer, 'observer'),
    ...writers.map(
      (w) => `${state(w.client, w.name)} note=${w.note.length} observer's copy=${noteText(observer.doc, w.name).length}`,
    ),
  ].join('\n')
}

/** Every client's doc has the observer's state vector and every writer's note text. */
function converged(observer: YClient, writers: Writer[]): boolean {
  if (!observer.provider.synced || !writers.every((w) => w.client.provider.synced)) return false
  const sv = Y.encodeStateVector(observer.doc).join()
  return writers.every(
    (w) => Y.encodeStateVector(w.client.doc).join() === sv && noteText(observer.doc, w.name) === w.note.toString(),
  )
}

describe('[C1] SIGKILL at random moments while four clients write as fast as they can', () => {
  it(
    `${ROUNDS} rounds: receipted edits survive every crash, the rest is resent, all converge, the log is whole`,
    { timeout: 60_000 + ROUNDS * 20_000 },
    async () => {
      console.info(`[C1] seed ${SEED} (replay: PARLEY_CRASH_SEED=${SEED} PARLEY_CRASH_ROUNDS=${ROUNDS})`)
      const gen = prng.create(SEED)
      const env = {
        // as fast as they can: the limits under test elsewhere must not throttle these writers
        PARLEY_RATE_MESSAGES: '100000',
        PARLEY_RATE_BYTES: String(64 * 1024 * 1024),
        PARLEY_RATE_STRUCTS: '1000000',
        // checkpoints every 40 updates, so crashes land before, between and after them
        PARLEY_CHECKPOINT_EVERY: '40',
      }
      let server: ServerProcess = await startServer({ spawn: true, env })
      cleanup.add(null, () => server.kill())
      const neg: CreatedNegotiation = await createNegotiation(server, WITH_OPENING_TERM)
      const doc = `${neg.id}/board`
      const tokens = [
        ['a1', await mintToken(server, neg.id, { role: 'negotiator', party: 'a' })],
        ['a2', await mintToken(server, neg.id, { role: 'negotiator', party: 'a' })],
        ['b1', await mintToken(server, neg.id, { role: 'negotiator', party: 'b' })],
        ['b2', await mintToken(server, neg.id, { role: 'negotiator', party: 'b' })],
      ] as const
      const writers = tokens.map(([name, t]) =>
        cleanup.add(new Writer(name, server.wsUrl, doc, t.token), (w) => w.client.destroy()),
      )
      const observer = cleanup.add(yClient(server.wsUrl, doc, { token: neg.tokens.observer, name: 'observer' }), (c) =>
        c.destroy(),
      )
      await Promise.all([...writers.map((w) => synced(w.client)), synced(observer)])
      const termId = [...boardOf(observer.doc).terms.keys()][0]!
      for (const w of writers) {
        w.client.doc.transact(() => {
          const note = new Y.Map<unknown>()
          note.set('text', new Y.Text())
          boardOf(w.client.doc).notes.set(`note-${w.name}`, note)
        })
      }
      await waitFor(() => writers.every((w) => observer.doc.getMap('notes').has(`note-${w.name}`)), { timeout: 15_000 })
      let canary = await Canary.open(server)

      /** Writes as fast as the event loop allows for `ms`; resolves with a function that stops it. */
      const write = (ms: number) => {
        let writing = true
        const loop = (async () => {
          while (writing) {
            for (const w of writers) if (w.client.provider.wsconnected) w.edit(gen, termId)
            await new Promise((r) => setImmediate(r))
          }
        })()
        const stop = async () => {
          writing = false
          await loop
        }
        return new Promise<() => Promise<void>>((resolve) => setTimeout(() => resolve(stop), ms))
      }

      let totalReceipted = 0
      let convergedRounds = 0
      let receiptsBefore = writers.map((w) => w.client.receipts.length)
      let stopWriting = await write(prng.int32(gen, 60, 500))
      for (let round = 1; round <= ROUNDS; round++) {
        // the kill lands at a random moment of the writing
        await server.kill('SIGKILL')
        await stopWriting()
        for (const w of writers) w.client.provider.disconnect()
        canary.close()

        // What the writers were told is saved, read back from the file the dead server left.
        const log = new LogReader(server.dataDir)
        const rows = new Map(log.rows(doc).map((r) => [r.seq, r]))
        const head = log.headSeq(doc)
        log.close()
        const receipted = writers.map((w, i) => {
          let upTo = 0
          for (const seq of w.client.receipts.slice(receiptsBefore[i])) {
            expect(seq, `${w.name}: a receipt for seq ${seq}, but the store's head is ${head}`).toBeLessThanOrEqual(head)
            const edits = w.sent.get(sha(new Uint8Array(rows.get(seq)!.data)))
            // (a receipt for a resend that added nothing names someone else's row)
            if (edits !== undefined) upTo = Math.max(upTo, edits)
          }
          return upTo
        })

        server = await startServer({ spawn: true, port: server.port, dataDir: server.dataDir, env })
        await expectAlive(server)
        // before any writer is back: every receipted edit is in the restarted server's doc
        const fresh = yClient(server.wsUrl, doc, { token: neg.tokens.observer, name: `after-${round}` })
        await synced(fresh)
        writers.forEach((w, i) => {
          if (receipted[i]! > 0)
            expect(noteText(fresh.doc, w.name), `round ${round}: ${w.name}'s receipted edit ${receipted[i]} survived`).toContain(
              `${w.name}:${receipted[i]};`,
            )
        })
        fresh.destroy()
        totalReceipted += receipted.reduce((a, b) => a + b, 0)
        receiptsBefore = writers.map((w) => w.client.receipts.length)

        // The writers come back and keep typing while they resync: their first updates reach a server
        // that lacks what died with the crash. Half the time the next kill lands in this resync;
        // otherwise everyone first converges, then writes again until the next kill.
        for (const w of writers) w.client.provider.connect()
        if (prng.bool(gen)) {
          stopWriting = await write(prng.int32(gen, 5, 300))
          continue
        }
        await (
          await write(prng.int32(gen, 5, 200))
        )()
        await waitFor(() => converged(observer, writers), {
          timeout: 30_000,
          what: `round ${round}: convergence after the restart`,
        }).catch((err: Error) => {
          throw new Error(`${err.message}\n${divergence(observer, writers)}`)
        })
        convergedRounds++
        canary = await Canary.open(server)
        expect(await canary.check()).toBeLessThan(10_000)
        stopWriting = await write(prng.int32(gen, 60, 500))
      }
      await stopWriting()
      await waitFor(() => converged(observer, writers), {
        timeout: 30_000,
        what: 'convergence after the last restart',
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${divergence(observer, writers)}`)
      })
      canary = await Canary.open(server)
      expect(await canary.check()).toBeLessThan(10_000)
      canary.close()
      console.info(
        `[C1] ${ROUNDS} crashes (${convergedRounds} followed by full convergence before the next kill); ` +
          `${writers.map((w) => `${w.name}: ${w.edits} edits`).join(', ')}; ${totalReceipted} receipted edits checked`,
      )
      expect(totalReceipted).toBeGreaterThan(0)

      // every edit of every writer made it in the end
      for (const w of writers) {
        const text = noteText(observer.doc, w.name)
        for (let n = 1; n <= w.edits; n++) expect(text.includes(`${w.name}:${n};`), `${w.name}:${n}`).toBe(true)
      }
      await server.kill('SIGTERM')
      const log = new LogReader(server.dataDir)
      try {
        const rebuilt = verifyLog(doc, log.rows(doc))
        expect(Y.encodeStateVector(rebuilt)).toEqual(Y.encodeStateVector(observer.doc))
        expect(rebuilt.getMap('notes').toJSON()).toEqual(observer.doc.getMap('notes').toJSON())
        expect(rebuilt.getMap('terms').toJSON()).toEqual(observer.doc.getMap('terms').toJSON())
        verifyLog(`${neg.id}/ledger`, log.rows(`${neg.id}/ledger`))
      } finally {
        log.close()
      }
    },
  )
})

describe('[C2] an update whose predecessors died with a crash is not stored or receipted; the sender is asked for them', () => {
  it('a gap in the sender’s own clocks, and a delete of content the server never got', async () => {
    const server = await startServer({ spawn: true })
    cleanup.add(server, (s) => s.kill())
    const neg = await createNegotiation(server, {
      title: 'Gaps',
      parties: [{ name: 'A' }, { name: 'B' }].map((p, i) => ({ ...p, id: 'ab'[i] })),
    })
    const doc = `${neg.id}/board`
    const watcher = cleanup.add(yClient(server.wsUrl, doc, { token: neg.tokens.observer, name: 'w' }), (c) => c.destroy())
    await synced(watcher)
    const log = cleanup.add(new LogReader(server.dataDir), (l) => l.close())
    const local = new Y.Doc()
    local.clientID = 990_001
    const updates: Uint8Array[] = []
    local.on('update', (u: Uint8Array) => updates.push(u))
    const order = local.getArray<string>('order')
    order.push(['one']) // reached the server
    order.push(['two']) // "died with the crash"
    order.push(['three']) // sent after the reconnect, before the sync step 2
    order.delete(1, 1) // deletes "two", which the server never had

    const r = await rawAdmitted(server.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'gap', ack: '1' })
    const receipts = () => r.messages.filter((m) => m[0] === MessageType.saveReceipt).length
    const asks = () => r.messages.filter((m) => m[0] === MessageType.sync && m[1] === SyncMessageType.step1)
    const asksBefore = asks().length
    r.send(updateMessage(updates[0]!))
    await waitFor(() => receipts() === 1)
    const head = log.headSeq(doc)
    r.send(updateMessage(updates[2]!)) // gap
    r.send(updateMessage(updates[3]!)) // delete of unseen content
    await waitFor(() => asks().length > asksBefore, { what: 'the server to ask for what it lacks' })
    await new Promise((res) => setTimeout(res, 150))
    expect(receipts()).toBe(1)
    expect(log.headSeq(doc)).toBe(head)
    expect(asks().length - asksBefore).toBe(1) // one question, not one per update
    expect(watcher.doc.getArray('order').toArray()).toEqual(['one'])

    // the answer: a sync step 2 against the state vector the server sent
    const ask = asks().at(-1)!
    const d = decoding.createDecoder(ask)
    decoding.readVarUint(d)
    decoding.readVarUint(d)
    r.send(step2(Y.encodeStateAsUpdate(local, decoding.readVarUint8Array(d))))
    await waitFor(() => receipts() === 2)
    await waitFor(() => watcher.doc.getArray('order').toArray().join() === 'one,three')
    const rebuilt = verifyLog(doc, log.rows(doc))
    expect(rebuilt.store.pendingStructs).toBeNull()
    expect(rebuilt.store.pendingDs).toBeNull()
    expect(rebuilt.getArray('order').toArray()).toEqual(['one', 'three'])
    r.ws.close()
  })
})
