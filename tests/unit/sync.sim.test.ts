/**
 * The sync layer's commit protocol on a simulated network (tests/helpers/syncSim.ts):
 * a real Room, CommitQueue and Connection over fake sockets and an in-memory
 * store. Commit before broadcast, receipts, failed commits and the rebuild
 * after them, gaps in another instance's rows, checkpoints — message by
 * message, without a port.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CloseCode, MAX_REFUSED_WRITES, PermissionDeniedReason } from '../../shared/protocol'
import { SyncSim } from '../helpers/syncSim'

const type =
  (text: string, at = 0) =>
  (doc: Y.Doc) =>
    doc.getText('t').insert(at, text)
/** An update of a client of another instance, as its rows arrive here. */
function otherInstance(texts: string[]): Uint8Array[] {
  const doc = new Y.Doc()
  const out: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => out.push(u))
  for (const t of texts) doc.getText('t').insert(doc.getText('t').length, t)
  return out
}

describe('[SIM] the commit protocol on a simulated network', () => {
  it('[SIM1] an update reaches nobody before it is committed; then everyone else, and its writer gets a receipt with its seq', async () => {
    const sim = new SyncSim()
    const writer = sim.client({ user: 'Carter', party: 'us', receipts: true })
    const watcher = sim.client({ user: 'Okafor', role: 'observer', access: 'read' })
    await sim.commit()
    writer.read()
    watcher.read()
    writer.edit(type('Each party extradites'))
    expect(watcher.read()).toEqual([])
    expect(writer.read()).toEqual([])
    await sim.commit()
    expect(watcher.read().map((m) => m.type)).toEqual(['sync-update'])
    expect(watcher.text()).toBe('Each party extradites')
    expect(writer.read()).toEqual([{ type: 'receipt', seq: 1 }])
    expect(sim.store.rows.get('sim/board')).toHaveLength(1)
    // A resend (a reconnect) stores nothing but is receipted, with the seq the doc is at.
    writer.sendUpdate(Y.encodeStateAsUpdate(writer.doc))
    await sim.commit()
    expect(writer.read()).toEqual([{ type: 'receipt', seq: 1 }])
    expect(sim.store.rows.get('sim/board')).toHaveLength(1)
  })

  it('[SIM2] a failed commit: the doc is rebuilt without it, nobody receives it, its writer is told and asked to resend once the store is back', async () => {
    const sim = new SyncSim()
    const writer = sim.client({ user: 'Carter', party: 'us', receipts: true })
    const other = sim.client({ user: 'Volkova', party: 'ru' })
    writer.edit(type('kept '))
    await sim.commit()
    writer.read()
    other.read()
    sim.store.failNext = new Error('disk full')
    writer.edit(type('lost?', 5))
    await sim.commit()
    expect(writer.read()).toEqual([{ type: 'permission-denied', reason: PermissionDeniedReason.storeUnavailable }])
    expect(other.read()).toEqual([])
    expect(sim.room.doc.getText('t').toString()).toBe('kept ')
    // The store is back: the next batch goes through and the room asks the writer for what it lacks.
    other.edit(type('Yes. ', 0))
    await sim.commit()
    sim.room.resync()
    await sim.commit()
    const asked = writer.read()
    expect(asked.map((m) => m.type)).toContain('sync-step1')
    await sim.commit()
    expect(sim.store.docOf('sim/board').getText('t').toString()).toBe('Yes. kept lost?')
    expect(other.read().some((m) => m.type === 'sync-update')).toBe(true)
    expect(other.text()).toBe('Yes. kept lost?')
  })

  it('[SIM3] rows of another instance past a gap wait for it: the room asks the store, and relays each row once', async () => {
    const sim = new SyncSim()
    const watcher = sim.client({ user: 'Okafor', role: 'observer', access: 'read' })
    await sim.commit()
    watcher.read()
    const [r1, r2, r3] = otherInstance(['a', 'b', 'c'])
    sim.fromOtherInstance([{ seq: 1, update: r1! }])
    sim.fromOtherInstance([{ seq: 3, update: r3! }])
    expect(sim.room.committedSeq).toBe(1)
    expect(sim.room.hasGap).toBe(true)
    expect(sim.catchUps).toBe(1)
    sim.fromOtherInstance([
      { seq: 2, update: r2! },
      { seq: 3, update: r3! },
    ])
    expect(sim.room.committedSeq).toBe(3)
    expect(sim.room.hasGap).toBe(false)
    await sim.commit()
    watcher.read()
    expect(watcher.text()).toBe('abc')
  })

  it('[SIM4] refusals: a read-only write and a forged client id are refused and stored nowhere; 20 refusals close with 4403', async () => {
    const sim = new SyncSim()
    const carter = sim.client({ user: 'Carter', party: 'us' })
    const watcher = sim.client({ user: 'Okafor', role: 'observer', access: 'read' })
    carter.edit(type('mine'))
    await sim.commit()
    watcher.read()
    watcher.edit(type('not allowed'))
    expect(watcher.read()).toEqual([{ type: 'permission-denied', reason: PermissionDeniedReason.readOnly }])
    // Another negotiator writing under Carter's client id.
    const forger = sim.client({ user: 'Volkova', party: 'ru' })
    // (Yjs itself takes a new id when a remote update carries its own: take Carter's after syncing.)
    Y.applyUpdate(forger.doc, Y.encodeStateAsUpdate(carter.doc))
    forger.doc.clientID = carter.doc.clientID
    forger.read()
    forger.edit(type('forged ', 0))
    expect(forger.read()).toEqual([{ type: 'permission-denied', reason: PermissionDeniedReason.forgedClientId }])
    await sim.commit()
    expect(sim.store.rows.get('sim/board')).toHaveLength(1)
    for (let i = 1; i < MAX_REFUSED_WRITES; i++) watcher.edit(type('x'))
    expect(watcher.closedWith).toBe(CloseCode.forbidden)
  })

  it('[SIM5] checkpoints are spaced by bytes, and a failed commit after one rebuilds from it plus the committed tail', async () => {
    const sim = new SyncSim({ checkpointEvery: 5 })
    const writer = sim.client({ user: 'Carter', party: 'us' })
    for (let i = 0; i < 40; i++) {
      writer.edit(type(`w${i} `, writer.text().length))
      await sim.commit()
    }
    expect(sim.checkpoints.length).toBeGreaterThan(0)
    const last = sim.checkpoints.at(-1)!
    const fromCheckpoint = new Y.Doc()
    Y.applyUpdate(fromCheckpoint, last.state)
    expect(sim.store.rows.get('sim/board')!.length).toBeGreaterThan(last.seq)
    sim.store.failNext = new Error('connection reset')
    writer.edit(type('LOST', 0))
    await sim.commit()
    const committed = sim.store.docOf('sim/board').getText('t').toString()
    expect(sim.room.doc.getText('t').toString()).toBe(committed)
    expect(committed.startsWith('w0 ')).toBe(true)
  })
})
