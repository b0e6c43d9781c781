/** [T1] What the CLIs print to a terminal: no control character a terminal acts on, text otherwise intact. */
import { describe, expect, it } from 'vitest'
import { forStream, terminalSafe } from '../../server/cli/terminalSafe'

const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/

describe('terminalSafe', () => {
  it('[T1] drops every C0 control but newline and tab, DEL and every C1 control', () => {
    for (let c = 0; c <= 0xa0; c++) {
      const ch = String.fromCharCode(c)
      const kept = c === 0x09 || c === 0x0a || (c >= 0x20 && c < 0x7f) || c === 0xa0
      expect(terminalSafe(`a${ch}b`), `U+${c.toString(16).padStart(4, '0')}`).toBe(kept ? `a${ch}b` : 'ab')
    }
  })

  it('[T1] leaves no escape sequence able to act: CSI, OSC (title, clipboard), reset, 8-bit CSI, overprinting', () => {
    const hostile =
      'Scope\x1b[2J\x1bc\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x1b\\\x9b2J\x9d0;t\x9c REJECTED\rAGREED\b\b\x7f\n\tnext line — ünïcode, العربية'
    const safe = terminalSafe(hostile)
    expect(safe).not.toMatch(CONTROL)
    expect(safe).toBe('Scope[2Jc]0;pwned]52;c;ZXZpbA==\\2J0;t REJECTEDAGREED\n\tnext line — ünïcode, العربية')
  })

  it('[T1] only a terminal gets the stripped text; a file or a pipe gets it exactly', () => {
    const text = 'a\x1b[2Jb\r\n'
    expect(forStream({ isTTY: true }, text)).toBe('a[2Jb\n')
    expect(forStream({ isTTY: false }, text)).toBe(text)
    expect(forStream({}, text)).toBe(text)
  })
})
