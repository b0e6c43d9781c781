/**
 * The client's count of unsaved edits (client/src/lib/connection/saveTracker.ts):
 * driven by save receipts, refusals, full-state answers and barriers, it may
 * say too many for a moment but never too few.
 */
import { describe, expect, it } from 'vitest'
import { SaveTracker } from '../../client/src/lib/connection/saveTracker'

function tracker() {
  let t = 0
  const tr = new SaveTracker(
    () => {},
    () => t,
  )
  return { tr, advance: (ms: number) => (t += ms), unsaved: () => tr.snapshot().unsaved, paused: () => tr.snapshot().paused }
}

describe('SaveTracker', () => {
  it('one receipt per sent edit brings the count to zero', () => {
    const { tr, unsaved } = tracker()
    tr.connected()
    tr.localEdit(true)
    tr.localEdit(true)
    tr.localEdit(true)
    expect(unsaved()).toBe(3)
    tr.receipt()
    expect(unsaved()).toBe(2)
    tr.receipt()
    tr.receipt()
    expect(unsaved()).toBe(0)
  })

  it('offline edits wait for the full state sent after reconnecting', () => {
    const { tr, unsaved } = tracker()
    tr.connected()
    tr.localEdit(true)
    tr.disconnected()
    tr.localEdit(false)
    tr.localEdit(false)
    expect(unsaved()).toBe(3)
    tr.connected()
    expect(tr.fullStateSent(false)).toBe(true)
    tr.localEdit(true)
    tr.receipt() // the full state
    expect(unsaved()).toBe(1)
    tr.receipt()
    expect(unsaved()).toBe(0)
  })

  it('edits restored from the local copy after a reload ride in the full state and wait for its receipt', () => {
    const { tr, unsaved } = tracker()
    tr.restored(2)
    expect(unsaved()).toBe(2)
    tr.connected()
    expect(tr.fullStateSent(false)).toBe(true)
    expect(unsaved()).toBe(2)
    tr.receipt() // the full state was committed
    expect(unsaved()).toBe(0)
  })

  it('restored edits the server already had: the full state is empty and they are saved', () => {
    const { tr, unsaved } = tracker()
    tr.restored(1)
    tr.connected()
    expect(tr.fullStateSent(true)).toBe(false)
    expect(unsaved()).toBe(0)
  })

  it('an empty full state means the server already had everything', () => {
    const { tr, unsaved } = tracker()
    tr.localEdit(false)
    tr.connected()
    expect(tr.fullStateSent(true)).toBe(false)
    expect(unsaved()).toBe(0)
  })

  it('store-unavailable refusals pause saving and keep the edits until the resync is receipted', () => {
    const { tr, unsaved, paused } = tracker()
    tr.connected()
    tr.localEdit(true)
    tr.localEdit(true)
    tr.denied(true)
    tr.localEdit(true)
    tr.denied(true)
    expect([unsaved(), paused()]).toEqual([3, true])
    tr.receipt() // a stray receipt with nothing queued confirms nothing
    expect(unsaved()).toBe(3)
    tr.fullStateSent(false)
    tr.receipt()
    expect([unsaved(), paused()]).toEqual([0, false])
  })

  it('a skipped update (no answer) is settled by the barrier after the full state, without drift', () => {
    const { tr, unsaved } = tracker()
    tr.connected()
    tr.localEdit(true) // the server skips this one and asks for a sync step 2
    expect(tr.fullStateSent(false)).toBe(true)
    tr.barrierSent()
    tr.receipt() // the full state's receipt pops the skipped entry: its edit is in the full state, now durable
    expect(unsaved()).toBe(0)
    tr.stepTwoReceived() // the connect step 1's reply
    tr.stepTwoReceived() // the barrier's reply: the leftover full-state entry is dropped
    tr.localEdit(true)
    tr.receipt()
    expect(unsaved()).toBe(0)
  })

  it('a barrier confirms nothing when a refusal came before its reply', () => {
    const { tr, unsaved } = tracker()
    tr.connected()
    tr.stepTwoReceived()
    tr.localEdit(true)
    tr.barrierSent()
    tr.denied(true)
    tr.stepTwoReceived()
    expect(unsaved()).toBe(1)
  })

  it('reports a stalled queue once, until the barrier answers', () => {
    const { tr, advance, unsaved } = tracker()
    tr.connected()
    tr.stepTwoReceived()
    tr.localEdit(true)
    expect(tr.stalled(3000)).toBe(false)
    advance(3500)
    expect(tr.stalled(3000)).toBe(true)
    tr.barrierSent()
    expect(tr.stalled(3000)).toBe(false)
    tr.stepTwoReceived()
    expect(unsaved()).toBe(0)
    expect(tr.stalled(3000)).toBe(false)
  })
})
