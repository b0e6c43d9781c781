/**
 * describeChange skips the word diff for a one-character edit (issue 19: the
 * word diff costs the text's length, and most versions are one keystroke
 * while two delegations type at once). A keystroke changes the text in one
 * place, so it is quoted, never counted "in N places" — which the word diff
 * alone would sometimes say of one keystroke: with a repeated token nearby it
 * splits the change in two (typing "." inside "charged." reads as
 * "charged" → "c" and "." → ".harged.").
 */
import { describe, expect, it } from 'vitest'
import { describeChange } from '../../shared/describeChange'

const SAMPLES = [
  'The parties shall extradite, within 30 days, persons charged.',
  'Стороны выдают лиц, обвиняемых в вымогательстве, в течение 30 дней.',
  'تلتزم الأطراف بتسليم الأشخاص خلال ٣٠ يومًا.',
  'a.b,c  d--e (f) “g”',
]
const QUOTED = /^(added “.*”|removed “.*”|.* → .*)$/s

describe('describeChange: one-character edits', () => {
  it('[DC1] every one-character insertion and deletion is quoted (or is no visible change), never counted in places', () => {
    let checked = 0
    const say = (a: string, b: string) => describeChange({ title: 't', body: a }, { title: 't', body: b })
    for (const text of SAMPLES) {
      for (let i = 0; i <= text.length; i++) {
        for (const ch of ['x', ' ', '.', 'ж']) {
          const words = say(text, text.slice(0, i) + ch + text.slice(i))
          if (words !== null) expect(words).toMatch(QUOTED)
          checked++
        }
        if (i < text.length) {
          const words = say(text, text.slice(0, i) + text.slice(i + 1))
          if (words !== null) expect(words).toMatch(QUOTED)
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThan(500)
    expect(say('persons charged.', 'persons c.harged.')).toBe('charged → c.harged')
  })

  it('[DC2] a one-character edit is still quoted; an edit in several places is still counted', () => {
    const before = { title: 't', body: 'within 30 days of the request' }
    expect(describeChange(before, { title: 't', body: 'within 300 days of the request' })).toBe('30 → 300 days')
    expect(
      describeChange(
        { title: 't', body: 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho' },
        { title: 't', body: 'alpha BETA gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi RHO and more' },
      ),
    ).toMatch(/in 2 places$/)
  })
})
