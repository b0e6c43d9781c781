/**
 * [T2] `npm run export` on the operator's terminal: term text carrying escape
 * sequences (clear screen, reset, OSC title and clipboard, 8-bit CSI,
 * overprinting with CR) reaches a real pseudo-terminal (util-linux `script`)
 * without a single control character, while a pipe and `--out` get the exact
 * text of the record.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHistoryStack } from '../helpers/historyStack'

const ROOT = new URL('../../', import.meta.url).pathname
const TITLE = 'Scope\x1b[2J\x1bc'
const BODY = 'Title \x1b]0;pwned\x07 clipboard \x1b]52;c;ZXZpbA==\x07 csi \x9b2J REJECTED\rAGREED bell\x07 del\x7f tab\tend'
/** What a terminal acts on: C0 but \t and \n, DEL, C1. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/

let dir: string
const ID = 'terminal-test'

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parley-terminal-'))
  const stack = await startHistoryStack({ dir, negotiationId: ID, terms: [{ id: 't-1', title: TITLE, body: BODY }] })
  await stack.close()
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const exportArgs = (...extra: string[]) => ['--import', 'tsx', 'scripts/export.ts', ID, '--format', 'html', ...extra]

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd: ROOT, env: { ...process.env, PARLEY_DATA_DIR: dir }, encoding: 'utf8', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
    child.stdin?.end()
  })
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

describe('export CLI on a terminal', () => {
  it('[T2] a pseudo-terminal gets no control character; the text is otherwise there', async () => {
    expect(spawnSync('script', ['--version']).status, 'util-linux `script` runs the CLI under a pseudo-terminal').toBe(0)
    const command = [process.execPath, ...exportArgs()].map(shellQuote).join(' ')
    const { code, stdout } = await run('script', ['-qec', command, '/dev/null'])
    expect(code, stdout).toBe(0)
    // The terminal's line discipline turns each \n into \r\n on its own: that CR is not the CLI's.
    const printed = stdout.replace(/\r\n/g, '\n')
    expect(printed).toContain('<h3 dir="auto">Scope[2Jc</h3>')
    expect(printed).toContain('Title ]0;pwned clipboard ]52;c;ZXZpbA== csi 2J REJECTEDAGREED bell del tab\tend')
    expect(printed).not.toMatch(CONTROL)
  })

  it('[T2] a pipe and --out get the exact text', async () => {
    const piped = await run(process.execPath, exportArgs())
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout).toContain(`<h3 dir="auto">${TITLE}</h3>`)
    expect(piped.stdout).toContain(BODY)

    const out = join(dir, 'record.html')
    const written = await run(process.execPath, exportArgs('--out', out))
    expect(written.code, written.stderr).toBe(0)
    expect(written.stdout).toBe('')
    const file = readFileSync(out, 'utf8')
    expect(file).toContain(`<h3 dir="auto">${TITLE}</h3>`)
    expect(file).toContain(BODY)
  })
})
