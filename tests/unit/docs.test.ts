/** Every error code and close code declared in shared/ is documented in the README. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../shared/errors'
import { CloseCode } from '../../shared/protocol'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('README documents the codes', () => {
  it.each(Object.values(ErrorCode).map((c) => [c.name, c.status]))('[D1] error code %s (%i)', (name, status) => {
    expect(readme).toMatch(new RegExp(`\\| \`${name}\` \\| ${status} \\|`))
  })

  it.each(Object.entries(CloseCode).filter(([k]) => k !== 'normal'))('[D2] close code %s (%i)', (_name, code) => {
    expect(readme).toContain(String(code))
  })
})
