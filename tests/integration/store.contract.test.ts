/**
 * The store contract (server/store/types.ts): one suite
 * (tests/helpers/storeContractSuite.ts), registered against the SQLite store
 * and the PostgreSQL store, so both keep the same semantics (STYLE.md, "one
 * storage interface, two implementations, one contract test suite"). Then
 * what only PostgreSQL has to show: several instances appending
 * to one doc at once, migrations, and refusing visibly when the database is gone.
 *
 * PostgreSQL comes from tests/helpers/services.ts: each test gets a fresh
 * schema; without a reachable server that half is skipped with one line (a
 * failure under PARLEY_REQUIRE_SERVICES=1).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteStore } from '../../server/store/sqlite'
import { PostgresStore } from '../../server/store/postgres'
import { MIGRATIONS } from '../../server/store/postgres/migrations'
import {
  CommitOutcomeUnknownError,
  StoreUnavailableError,
  type AppendResult,
  type NewUpdate,
  type Store,
} from '../../server/store/types'
import { row, serverAuthor, storeContractSuite, verifyChain, version } from '../helpers/storeContractSuite'
import { createTestSchema, postgresForTests, type TestSchema } from '../helpers/services'
import { startTcpProxy } from '../helpers/tcpProxy'

// ── SQLite ─────────────────────────────────────────────────────────────────

{
  let dir: string | null = null
  storeContractSuite('sqlite', {
    async open() {
      dir ??= mkdtempSync(join(tmpdir(), 'parley-store-'))
      return new SqliteStore(join(dir, 'parley.db'))
    },
    async cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true })
      dir = null
    },
  })
}

// ── PostgreSQL ───────────────────────────────────────────────────────────

const pgUrl = await postgresForTests('store contract: postgres')

if (pgUrl) {
  const schemas: TestSchema[] = []
  const freshSchema = async () => {
    const s = await createTestSchema(pgUrl)
    schemas.push(s)
    return s
  }
  afterAll(async () => {
    await Promise.all(schemas.map((s) => s.drop()))
  })

  {
    let schema: TestSchema | null = null
    storeContractSuite('postgres', {
      async open() {
        schema ??= await freshSchema()
        return PostgresStore.connect(schema.url)
      },
      async cleanup() {
        await schema?.drop()
        schema = null
      },
    })
  }

  describe('PostgreSQL store: several instances, migrations, outages', () => {
    const opened: Store[] = []
    const open = async (url: string, opts?: Parameters<typeof PostgresStore.connect>[1]) => {
      const s = await PostgresStore.connect(url, opts)
      opened.push(s)
      return s
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()))
    })

    it('[ST20] two instances appending to the same docs at once make one gap-free total order with a valid chain', async () => {
      const { url } = await freshSchema()
      const one = await open(url)
      const two = await open(url)
      // each instance fires many batches at once; some touch both docs, in both orders
      const sent = new Map<string, NewUpdate>()
      let k = 0
      const make = (doc: string, inst: string): NewUpdate => {
        const id = `${inst}-${k++}`
        const u = row(doc, new TextEncoder().encode(id), { user: inst, party: 'a', role: 'negotiator', conn: inst })
        sent.set(id, u)
        return u
      }
      // Each instance runs 5 writers (a server's commit queue has one batch in
      // flight; several would be several processes) of 12 batches each, so up
      // to 10 transactions contend for the same doc rows at any moment.
      const done: Array<{ batch: NewUpdate[]; results: AppendResult[] }> = []
      const writer = async (store: Store, inst: string, w: number) => {
        for (let j = 0; j < 12; j++) {
          const i = w * 12 + j
          const batch =
            i % 3 === 0
              ? [make('t/board', inst), make('t/ledger', inst)]
              : i % 3 === 1
                ? [make('t/ledger', inst), make('t/board', inst), make('t/board', inst)]
                : [make('t/board', inst)]
          const results = await store.appendUpdates(batch, [{ doc: 't/board', clientId: i, owner: inst }])
          done.push({ batch, results })
        }
      }
      await Promise.all(
        [one, two].flatMap((store, k) => Array.from({ length: 5 }, (_, w) => writer(store, k === 0 ? 'one' : 'two', w))),
      )

      for (const doc of ['t/board', 't/ledger']) {
        const rows = await one.readUpdates(doc, 0)
        const expected = [...sent.values()].filter((u) => u.doc === doc).length
        expect(rows).toHaveLength(expected)
        expect(await two.headSeq(doc)).toBe(expected)
        verifyChain(doc, rows) // also checks seqs are 1..n
        expect(new Set(rows.map((r) => new TextDecoder().decode(r.update))).size).toBe(expected)
        // gseq follows seq in each doc, whichever instance appended
        rows.slice(1).forEach((r, i) => expect(r.gseq, `gseq of ${doc}#${r.seq}`).toBeGreaterThan(rows[i]!.gseq))
        // each append's reported seq points at the row it wrote
        for (const { batch, results } of done)
          batch.forEach((u, i) => {
            if (u.doc !== doc) return
            expect(rows[results[i]!.seq - 1]!.update).toEqual(u.update)
            expect(results[i]!.doc).toBe(doc)
          })
      }
      // one order of all rows: no gseq given twice, and each batch's in batch order
      const all = [...(await one.readUpdates('t/board', 0)), ...(await one.readUpdates('t/ledger', 0))].map((r) => r.gseq)
      expect(new Set(all).size).toBe(all.length)
      for (const { results } of done) results.slice(1).forEach((r, i) => expect(r.gseq).toBeGreaterThan(results[i]!.gseq))
      // the first claim of each client id wins, whichever instance made it
      const owners = await two.clientOwners('t/board')
      expect(owners.size).toBe(60)
      expect([...owners.values()].every((o) => o === 'one' || o === 'two')).toBe(true)
    })

    it('[ST21] migrations run once, also when instances start together, and are recorded', async () => {
      const { url } = await freshSchema()
      const [a, b, c] = await Promise.all([open(url), open(url), open(url)])
      await a!.appendUpdates([row('mig/board', [1])])
      expect(await b!.headSeq('mig/board')).toBe(1)
      expect(await c!.headSeq('mig/board')).toBe(1)
      const again = await open(url)
      expect(await again.headSeq('mig/board')).toBe(1)
      const { rows } = await (again as PostgresStore).pool.query('SELECT version FROM parley_migrations ORDER BY version')
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version))
    })

    it('[ST22] the log refuses UPDATE, DELETE and TRUNCATE', async () => {
      const { url } = await freshSchema()
      const store = (await open(url)) as PostgresStore
      await store.appendUpdates([row('ro/board', [1])])
      await expect(store.pool.query('UPDATE updates SET at = 0')).rejects.toThrow(/append-only/)
      await expect(store.pool.query('DELETE FROM updates')).rejects.toThrow(/append-only/)
      await expect(store.pool.query('TRUNCATE updates')).rejects.toThrow(/append-only/)
      expect(await store.headSeq('ro/board')).toBe(1)
      verifyChain('ro/board', await store.readUpdates('ro/board', 0))
    })

    it('[ST42] sealed rows from two instances at once: one gap-free order per doc; the rows refuse UPDATE, DELETE and TRUNCATE', async () => {
      const { url } = await freshSchema()
      const one = (await open(url)) as PostgresStore
      const two = (await open(url)) as PostgresStore
      const sealedRow = (doc: string, tag: number) => ({
        doc,
        at: Date.now(),
        author: { user: 'Ann', party: 'a', role: 'negotiator' as const, conn: `c${tag % 2}` },
        nonce: new Uint8Array(12).fill(tag),
        ciphertext: new Uint8Array(20).fill(tag),
      })
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          (i % 2 === 0 ? one : two).appendSealed([
            sealedRow('s/sealed/a', i),
            sealedRow(i % 3 === 0 ? 's/sealed/b' : 's/sealed/a', 100 + i),
          ]),
        ),
      )
      for (const doc of ['s/sealed/a', 's/sealed/b']) {
        const rows = await one.readSealed(doc, 0, 1000)
        expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1))
        expect(await two.sealedHead(doc)).toBe(rows.length)
        // each append's reported seq points at the row it wrote
        results.forEach((batch, i) =>
          batch.forEach((r, j) => {
            if (r.doc === doc) expect(rows[r.seq - 1]!.nonce[0]).toBe(j === 0 ? i : 100 + i)
          }),
        )
      }
      expect((await one.readSealed('s/sealed/a', 0, 1000)).length + (await one.readSealed('s/sealed/b', 0, 1000)).length).toBe(48)
      await expect(one.pool.query('UPDATE sealed_rows SET at = 0')).rejects.toThrow(/append-only/)
      await expect(one.pool.query('DELETE FROM sealed_rows')).rejects.toThrow(/append-only/)
      await expect(one.pool.query('TRUNCATE sealed_rows')).rejects.toThrow(/append-only/)
      expect(await one.sealedHead('s/sealed/a')).toBe((await one.readSealed('s/sealed/a', 0, 1000)).length)
    })

    it('[ST23] unreachable at start: connect fails with StoreUnavailableError', async () => {
      const started = Date.now()
      await expect(PostgresStore.connect('postgres://postgres@127.0.0.1:1/test')).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - started).toBeLessThan(3000)
    })

    it('[ST24] database gone: ping and writes fail fast with StoreUnavailableError, and work again when it returns', async () => {
      const { url } = await freshSchema()
      const proxy = await startTcpProxy(url)
      const store = await open(proxy.via(url), { pingTimeoutMs: 500, connectTimeoutMs: 800, queryTimeoutMs: 1500 })
      await store.appendUpdates([row('down/board', [1])])
      await store.ping()

      proxy.mode('refuse')
      let started = Date.now()
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(store.appendUpdates([row('down/board', [2])])).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(store.readUpdates('down/board', 0)).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - started).toBeLessThan(3000)

      // a host that accepts connections and then says nothing
      proxy.mode('blackhole')
      started = Date.now()
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - started).toBeLessThan(1500)
      await expect(store.appendUpdates([row('down/board', [3])])).rejects.toBeInstanceOf(StoreUnavailableError)

      proxy.mode('forward')
      await retry(() => store.ping())
      const [r] = await store.appendUpdates([row('down/board', [4])])
      expect(r!.seq).toBe(2)
      const rows = await store.readUpdates('down/board', 0)
      expect(rows.map((x) => [...x.update])).toEqual([[1], [4]])
      verifyChain('down/board', rows)
      await proxy.close()
    })

    it('[ST27] the connection dies in the middle of an append: StoreUnavailableError, and the process lives on', async () => {
      const { url } = await freshSchema()
      const proxy = await startTcpProxy(url)
      const store = await open(proxy.via(url), { connectTimeoutMs: 800, queryTimeoutMs: 3000 })
      await store.appendUpdates([row('mid/board', [1])])
      // Another session holds the doc's head row, so the append waits inside its transaction.
      const blocker = await open(url)
      const c = await (blocker as PostgresStore).pool.connect()
      try {
        await c.query('BEGIN')
        await c.query(`SELECT 1 FROM docs WHERE name = 'mid/board' FOR UPDATE`)
        const append = store.appendUpdates([row('mid/board', [2])])
        append.catch(() => undefined)
        await new Promise((r) => setTimeout(r, 200))
        proxy.mode('refuse')
        await expect(append).rejects.toBeInstanceOf(StoreUnavailableError)
      } finally {
        await c.query('ROLLBACK')
        c.release()
      }
      proxy.mode('forward')
      await retry(() => store.appendUpdates([row('mid/board', [3])]))
      expect((await store.readUpdates('mid/board', 0)).map((r) => [...r.update])).toEqual([[1], [3]])
      await proxy.close()
    })

    it('[ST28] the connection dies after COMMIT was sent: the store finds the rows committed and reports success, stored once', async () => {
      const { url } = await freshSchema()
      const proxy = await startTcpProxy(url)
      const store = await open(proxy.via(url), { connectTimeoutMs: 800, queryTimeoutMs: 3000 })
      await store.appendUpdates([row('lost/board', [1])])
      const cut = proxy.cutAtNextCommit({ deliver: true })
      const results = await store.appendUpdates([
        row('lost/board', [2]),
        row('lost/ledger', [3], serverAuthor, { kind: 'propose' }),
      ])
      await cut
      expect(results.map((r) => `${r.doc}#${r.seq}`)).toEqual(['lost/board#2', 'lost/ledger#1'])
      const board = await store.readUpdates('lost/board', 0)
      expect(board.map((r) => [...r.update])).toEqual([[1], [2]])
      expect(board[1]!.gseq).toBe(results[0]!.gseq)
      expect(verifyChain('lost/board', board)).toBe(results[0]!.hash)
      const [next] = await store.appendUpdates([row('lost/board', [4])])
      expect(next!.seq).toBe(3)
      expect((await store.readUpdates('lost/ledger', 0)).map((r) => [...r.update])).toEqual([[3]])
      await proxy.close()
    })

    it('[ST29] the connection dies before COMMIT reaches the server: a plain StoreUnavailableError, nothing stored', async () => {
      const { url } = await freshSchema()
      const proxy = await startTcpProxy(url)
      const store = await open(proxy.via(url), { connectTimeoutMs: 800, queryTimeoutMs: 3000 })
      await store.appendUpdates([row('unsent/board', [1])])
      const cut = proxy.cutAtNextCommit({ deliver: false })
      const err = await store.appendUpdates([row('unsent/board', [2])]).catch((e: unknown) => e)
      await cut
      expect(err).toBeInstanceOf(StoreUnavailableError)
      expect(err).not.toBeInstanceOf(CommitOutcomeUnknownError)
      expect((await store.readUpdates('unsent/board', 0)).map((r) => [...r.update])).toEqual([[1]])
      const [next] = await store.appendUpdates([row('unsent/board', [3])])
      expect(next!.seq).toBe(2)
      await proxy.close()
    })

    it('[ST30] answer lost and the database out of reach: CommitOutcomeUnknownError with the planned rows; settleAppend tells once it is back', async () => {
      const { url } = await freshSchema()
      const proxy = await startTcpProxy(url)
      const store = await open(proxy.via(url), { connectTimeoutMs: 500, queryTimeoutMs: 2000, settleTimeoutMs: 600 })
      await store.appendUpdates([row('dark/board', [1])])
      for (const deliver of [true, false]) {
        const cut = proxy.cutAtNextCommit({ deliver, then: () => proxy.mode('refuse') })
        const err = await store.appendUpdates([row('dark/board', [deliver ? 2 : 3])]).catch((e: unknown) => e)
        await cut
        expect(err).toBeInstanceOf(CommitOutcomeUnknownError)
        const planned = (err as CommitOutcomeUnknownError).planned
        expect(planned.map((p) => `${p.doc}#${p.seq}`)).toEqual([`dark/board#${deliver ? 2 : 3}`])
        await expect(store.settleAppend(planned)).rejects.toBeInstanceOf(StoreUnavailableError)
        proxy.mode('forward')
        let landed: boolean | null = null
        await retry(async () => (landed = await store.settleAppend(planned)))
        expect(landed).toBe(deliver)
      }
      const rows = await store.readUpdates('dark/board', 0)
      expect(rows.map((r) => [...r.update])).toEqual([[1], [2]])
      verifyChain('dark/board', rows)
      await proxy.close()
    })

    it('[ST25] withLock across instances: no two holders at once, a dead holder frees the lock, a long wait is StoreUnavailableError', async () => {
      const { url } = await freshSchema()
      // A generous wait for the counter (30 holders queue behind each other on a busy machine), a short one below.
      const one = (await open(url, { lockWaitMs: 30_000 })) as PostgresStore
      const two = (await open(url, { lockWaitMs: 30_000 })) as PostgresStore
      // Read-decide-write of a counter in the log from both instances at once: no decision is lost.
      const step = (s: Store) =>
        s.withLock('neg-x', async () => {
          const head = await s.headSeq('x/ledger')
          await new Promise((r) => setTimeout(r, 2))
          await s.appendUpdates([row('x/ledger', new TextEncoder().encode(String(head + 1)))])
        })
      await Promise.all(Array.from({ length: 30 }, (_, i) => step(i % 2 === 0 ? one : two)))
      const rows = await one.readUpdates('x/ledger', 0)
      expect(rows.map((r) => new TextDecoder().decode(r.update))).toEqual(rows.map((r) => String(r.seq)))
      expect(rows).toHaveLength(30)

      // held by one instance: the other waits, then gives up with StoreUnavailableError
      const impatient = (await open(url, { lockWaitMs: 1500 })) as PostgresStore
      let release!: () => void
      let holds!: () => void
      const held = new Promise<void>((r) => (holds = r))
      const holding = one.withLock('neg-y', () => {
        holds()
        return new Promise<void>((r) => (release = r))
      })
      await held
      const started = Date.now()
      await expect(impatient.withLock('neg-y', async () => 'never')).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1300)
      expect(Date.now() - started).toBeLessThan(8000)
      release()
      await holding
      expect(await impatient.withLock('neg-y', async () => 'now')).toBe('now')

      // the holder's session dies (a SIGKILLed instance): the lock goes with it
      const three = (await open(url, { lockWaitMs: 10_000 })) as PostgresStore
      let entered!: () => void
      let finish!: () => void
      const inside = new Promise<void>((r) => (entered = r))
      const orphan = three.withLock('neg-z', async () => {
        entered()
        await new Promise<void>((r) => (finish = r))
      })
      orphan.catch(() => undefined)
      await inside
      await one.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() AND granted
            AND pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = 'parley' AND query LIKE '%pg_advisory_lock%')`,
      )
      expect(await two.withLock('neg-z', async () => 'taken over')).toBe('taken over')
      finish()
      await orphan // the unlock on the dead session fails quietly and the connection is dropped
      expect(await three.withLock('neg-z', async () => 'again')).toBe('again')
    })

    it('[ST26] withLock while the database is gone fails fast with StoreUnavailableError, and works when it returns', async () => {
      const { url } = await freshSchema()
      const proxy = await startTcpProxy(url)
      const store = await open(proxy.via(url), { connectTimeoutMs: 800, queryTimeoutMs: 1500, lockWaitMs: 1000 })
      expect(await store.withLock('k', async () => 1)).toBe(1)
      proxy.mode('refuse')
      let started = Date.now()
      await expect(store.withLock('k', async () => 2)).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - started).toBeLessThan(3000)
      proxy.mode('blackhole')
      started = Date.now()
      await expect(store.withLock('k', async () => 3)).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - started).toBeLessThan(6000)
      proxy.mode('forward')
      await retry(() => store.withLock('k', async () => 4))
      expect(await store.withLock('k', async () => 5)).toBe(5)
      await proxy.close()
    })
  })
} else {
  describe.skip('store contract: postgres (PostgreSQL not reachable)', () => {
    it('skipped', () => {})
  })
}

async function retry(fn: () => Promise<unknown>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    try {
      await fn()
      return
    } catch (err) {
      if (Date.now() > until) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}
