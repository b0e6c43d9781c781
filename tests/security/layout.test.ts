/**
 * Issue #11, item 1 — layout violations. One negotiator's
 * `doc.getMap('terms').set('bad', 'not a map')` used to leave every browser
 * on "Loading the board…" and the versions that held it unreadable for good.
 * Now the server refuses, before applying or storing, any update that breaks
 * the document layouts of CONTRACT.md (permission-denied `bad-layout`), and
 * every reader tolerates a malformed entry that a store written before this
 * fix already holds: it is skipped, and said to be skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { CloseCode, MAX_REFUSED_WRITES, PermissionDeniedReason } from '../../shared/protocol'
import { board, insertTerm, malformedEntries, termsInOrder } from '../../shared/docLayout'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { SqliteStore } from '../../server/store/sqlite'
import { renderHtml, renderMarkdown } from '../../server/history/exportRender'
import { startServer, type TestServer } from '../helpers/server'
import { Canary, expectStillServing } from '../helpers/canary'
import { Cleanup } from '../helpers/cleanup'
import { Witness } from '../helpers/storeLog'
import { yClient, rawAdmitted, synced, updateFrom, updateMessage, type YClient, waitFor } from '../helpers/clients'
import { startHistoryStack } from '../helpers/historyStack'
import { breakingEdit, legalEdit } from '../helpers/layoutEdits'

let server: TestServer
let neg: CreatedNegotiation
let canary: Canary
const cleanup = new Cleanup()
const clients = new Cleanup()
const head = (doc: string) => server.parley.store.headSeq(doc)
const track = (c: YClient) => clients.add(c, (x) => x.destroy())
const boardName = () => `${neg.id}/board`

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Layout',
    parties: [
      { id: 'a', name: 'Alpha' },
      { id: 'b', name: 'Beta' },
    ],
    terms: [{ title: 'Scope', body: 'Each party extradites.' }],
  })
  canary = cleanup.add(await Canary.open(server), (c) => c.close())
})

afterAll(async () => {
  await clients.run()
  await cleanup.run()
  await server.close()
})

async function scene() {
  const watcher = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.observer, name: 'watcher' }))
  const barrier = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.b!, name: 'barrier' }))
  await Promise.all([synced(watcher), synced(barrier)])
  const witness = new Witness(boardName(), watcher, () => head(boardName()), barrier)
  await witness.snapshot()
  return { watcher, barrier, witness }
}

describe('[LY1] the reported case: a string where a term map belongs', () => {
  it('is refused with bad-layout before it is applied or stored, and every reader keeps drawing the board', async () => {
    const { watcher, witness } = await scene()
    const mallory = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.a!, name: 'Mallory', ack: '1' }))
    await synced(mallory)
    mallory.doc.getMap('terms').set('bad', 'not a map')
    await waitFor(() => mallory.denied.includes(PermissionDeniedReason.badLayout), { what: 'bad-layout' })
    await witness.expectUntouched()
    expect(watcher.doc.getMap('terms').has('bad')).toBe(false)
    expect(termsInOrder(watcher.doc).map((t) => t.title)).toEqual(['Scope'])
    // A newcomer gets the board without it, and the room's doc never held it.
    const late = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.observer, name: 'late' }))
    await synced(late)
    expect(late.doc.getMap('terms').has('bad')).toBe(false)
    expect(server.parley.registry.peek(boardName())!.doc.getMap('terms').has('bad')).toBe(false)
    // The history and exports are untouched by it.
    const versions = (await (
      await server.api(`/api/negotiations/${neg.id}/versions`, { token: neg.tokens.reviewer })
    ).json()) as {
      versions: Array<{ n: number }>
    }
    for (const v of versions.versions)
      expect((await server.api(`/api/negotiations/${neg.id}/versions/${v.n}`, { token: neg.tokens.reviewer })).status).toBe(200)
    await expectStillServing(server, canary)
  })
})

describe('[LY2] breaking updates at every depth, each refused, nothing stored or relayed', () => {
  const cases: Record<string, (d: Y.Doc, termId: string) => void> = {
    'an unknown key inside an existing term': (d, id) => (board(d).terms.get(id) as Y.Map<unknown>).set('proposedBy', 'b'),
    'a title replaced by a plain string': (d, id) => (board(d).terms.get(id) as Y.Map<unknown>).set('title', 'plain'),
    'a shared type typed into a body': (d, id) =>
      ((board(d).terms.get(id) as Y.Map<unknown>).get('body') as Y.Text).insertEmbed(2, new Y.Map() as never),
    'a formatting mark on a title': (d, id) =>
      ((board(d).terms.get(id) as Y.Map<unknown>).get('title') as Y.Text).format(0, 2, { href: 'javascript:alert(1)' }),
    'a term id that breaks out of a code span': (d) =>
      insertTerm(d, 'x` <img src=x onerror=alert(1)> `', { title: 'T', body: '' }),
    'a coordinate that is not a finite number': (d, id) => (board(d).terms.get(id) as Y.Map<unknown>).set('x', Number.NaN),
    'a number in the order': (d) => board(d).order.push([7 as never]),
    'a note that is a list': (d) => board(d).notes.set('n-list', new Y.Array() as never),
  }

  it('each answered with permission-denied bad-layout; 20 refusals close the socket with 4403', async () => {
    const { watcher, witness } = await scene()
    const termId = termsInOrder(watcher.doc)[0]!.id
    const base = Y.encodeStateAsUpdate(watcher.doc)
    const r = await rawAdmitted(server.wsUrl, boardName(), { token: neg.tokens.negotiator.a!, name: 'Mallory' })
    let clientID = 700_000
    for (const change of Object.values(cases)) {
      r.send(updateMessage(updateFrom((d) => change(d, termId), { base, clientID: clientID++ })))
    }
    await waitFor(() => r.denied().length === Object.keys(cases).length, { what: 'one refusal per case' })
    expect(new Set(r.denied())).toEqual(new Set([PermissionDeniedReason.badLayout]))
    await witness.expectUntouched()
    for (let i = r.denied().length; i < MAX_REFUSED_WRITES; i++)
      r.send(updateMessage(updateFrom((d) => board(d).terms.set(`bad-${i}`, i as never), { base, clientID: clientID++ })))
    expect(await r.closeCode()).toBe(CloseCode.forbidden)
    await witness.expectUntouched()
    await expectStillServing(server, canary)
  })

  it('the same updates from a legitimate negotiator’s own edits still pass when they fit the layout', async () => {
    const { watcher } = await scene()
    const ann = track(yClient(server.wsUrl, boardName(), { token: neg.tokens.negotiator.a!, name: 'Ann', ack: '1' }))
    await synced(ann)
    const termId = termsInOrder(ann.doc)[0]!.id
    ann.doc.transact(() => {
      ;((board(ann.doc).terms.get(termId) as Y.Map<unknown>).get('body') as Y.Text).insert(0, 'Hereby: ')
      insertTerm(ann.doc, 't-fits', { title: 'Fits', body: 'the layout', x: 10, y: 20 })
    })
    await waitFor(() => ann.receipts.length > 0, { what: 'a receipt' })
    expect(ann.denied).toEqual([])
    await waitFor(() => termsInOrder(watcher.doc).some((t) => t.id === 't-fits'), { what: 'the new term at the watcher' })
  })
})

describe('[LY3] a store written before the check holds a malformed entry: every reader skips it, visibly', () => {
  it('versions, redlines, exports and clients work; the entry is listed as skipped; writing under it stays refused', async () => {
    const own = await startServer()
    try {
      const n = await own.createNegotiation({
        title: 'Written before the fix',
        parties: [
          { id: 'a', name: 'Alpha' },
          { id: 'b', name: 'Beta' },
        ],
        terms: [{ title: 'Scope', body: 'Each party extradites.' }],
      })
      const name = `${n.id}/board`
      // A negotiator's edit before the bad entry, so a version comes before it too.
      const ann = yClient(own.wsUrl, name, { token: n.tokens.negotiator.a!, name: 'Ann', ack: '1' })
      await synced(ann)
      const termId = termsInOrder(ann.doc)[0]!.id
      ;((board(ann.doc).terms.get(termId) as Y.Map<unknown>).get('body') as Y.Text).insert(0, 'Hereby: ')
      await waitFor(() => ann.receipts.length > 0)
      const base = Y.encodeStateAsUpdate(ann.doc)
      ann.destroy()
      await own.close()

      // What the server accepted before this fix, written straight into its SQLite file.
      const store = new SqliteStore(`${own.dataDir}/parley.db`)
      const author = { user: 'Mallory', party: 'a', role: 'negotiator' as const, conn: 'c-old' }
      const at = Date.now()
      await store.appendUpdates([
        {
          doc: name,
          at,
          author,
          update: updateFrom((d) => board(d).terms.set('bad', 'not a map' as never), { base, clientID: 31 }),
        },
        {
          doc: name,
          at: at + 1,
          author,
          update: updateFrom((d) => board(d).notes.set('n-bad', 42 as never), { base, clientID: 32 }),
        },
        {
          doc: name,
          at: at + 2,
          author,
          update: updateFrom((d) => board(d).links.set('l-bad', new Y.Text('x') as never), { base, clientID: 33 }),
        },
      ])
      await store.close()

      const again = await startServer({ dataDir: own.dataDir })
      try {
        const get = (path: string) => again.api(`/api/negotiations/${n.id}${path}`, { token: n.tokens.reviewer })
        const list = (await (await get('/versions')).json()) as { versions: Array<{ n: number }> }
        expect(list.versions.length).toBeGreaterThan(0)
        const last = list.versions.at(-1)!.n
        for (const v of list.versions) {
          const res = await get(`/versions/${v.n}`)
          expect(res.status, `version ${v.n}`).toBe(200)
          const sheet = (await res.json()) as { terms: Array<{ id: string }> }
          expect(sheet.terms.map((t) => t.id)).not.toContain('bad')
        }
        expect((await get(`/diff?from=0&to=${last}`)).status).toBe(200)
        for (const format of ['md', 'html', 'json']) expect((await get(`/export?format=${format}`)).status, format).toBe(200)
        // The Markdown and HTML exports say what they left out.
        expect(await (await get('/export?format=md')).text()).toMatch(/## Left out[\s\S]*`terms\/bad`/)
        expect(await (await get('/export?format=html')).text()).toContain('<li><code>terms/bad</code></li>')
        const json = (await (await get('/export?format=json')).json()) as { skipped?: string[]; terms: Array<{ id: string }> }
        expect(json.skipped).toEqual(['links/l-bad', 'notes/n-bad', 'terms/bad'])
        expect(json.terms.map((t) => t.id)).toEqual([termId])

        // Clients load the board (the stock client, and an observer).
        const watcher = yClient(again.wsUrl, name, { token: n.tokens.observer, name: 'w' })
        const bob = yClient(again.wsUrl, name, { token: n.tokens.negotiator.b!, name: 'Bob', ack: '1' })
        try {
          await Promise.all([synced(watcher), synced(bob)])
          expect(termsInOrder(watcher.doc).map((t) => t.id)).toEqual([termId])
          expect(malformedEntries(watcher.doc)).toEqual(['links/l-bad', 'notes/n-bad', 'terms/bad'])
          // Work on the good terms goes on; nothing may be written under the malformed value.
          ;((board(bob.doc).terms.get(termId) as Y.Map<unknown>).get('body') as Y.Text).insert(0, 'Now: ')
          await waitFor(() => bob.receipts.length > 0)
          ;(board(bob.doc).links.get('l-bad') as unknown as Y.Text).insert(0, 'more')
          await waitFor(() => bob.denied.includes(PermissionDeniedReason.badLayout), { what: 'bad-layout' })
        } finally {
          watcher.destroy()
          bob.destroy()
        }
      } finally {
        await again.close()
      }
    } finally {
      await own.close().catch(() => {})
    }
  })
})

describe('[LY4] property: whatever malformed entries a log holds, every reader still works', () => {
  it('sheets at every version, redlines and exports never throw, and list what they skip', async () => {
    // The history stack wires rooms without a layout: a store written before the check, as it could be.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.oneof({ weight: 2, arbitrary: legalEdit }, breakingEdit)), {
          minLength: 3,
          maxLength: 12,
        }),
        async (edits) => {
          const s = await startHistoryStack({ terms: [{ id: 't-one', title: 'Scope', body: 'Each party extradites.' }] })
          try {
            const people = { a: await s.client('a', 'Ann'), b: await s.client('b', 'Bob') }
            for (const [party, edit] of edits) {
              s.clock.advance(7_000)
              people[party as 'a' | 'b'].edit((d) => edit.run(d))
              await s.settle()
            }
            const versions = await s.index.list(s.id)
            for (const v of [{ n: 0 }, ...versions]) {
              const sheet = await s.history.sheetAt(s.id, v.n)
              expect(sheet, `sheet at ${v.n}`).not.toBeNull()
              for (const t of sheet!.terms) expect(typeof t.title === 'string' && typeof t.body === 'string').toBe(true)
            }
            const last = versions.at(-1)?.n ?? 0
            await s.history.diff(s.id, 0, last)
            if (last > 1) await s.history.diff(s.id, last - 1, last)
            const doc = (await s.history.exportDoc(s.id))!
            renderMarkdown(doc)
            renderHtml(doc)
            const live = malformedEntries((await s.board()).doc)
            expect(doc.skipped ?? []).toEqual(live)
          } finally {
            await s.close()
          }
        },
      ),
      { numRuns: 15, seed: Number(process.env.PARLEY_LAYOUT_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    )
  }, 120_000)
})
