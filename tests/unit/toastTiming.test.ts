/** [TT1] a toast stays long enough to read: short ones 4 s (errors 8 s), long ones longer, never past 20 s. */
import { describe, expect, it } from 'vitest'
import { toastMs } from '../../client/src/lib/workspace/toastTiming'

describe('[TT1] toast timing', () => {
  it('[TT1] grows with the text past 60 characters, errors start longer, capped at 20 s', () => {
    expect(toastMs('Saved.', 'success')).toBe(4000)
    expect(toastMs('x'.repeat(60), 'info')).toBe(4000)
    expect(toastMs('Could not save.', 'error')).toBe(8000)
    const reason = `Rejected by RU: ${'the scope is too broad for our courts to accept as drafted; '.repeat(3)}`
    expect(toastMs(reason, 'info')).toBeGreaterThan(4000 + 100 * 60)
    expect(toastMs('x'.repeat(5000), 'info')).toBe(20_000)
  })
})
