/**
 * [K1] What `npm start` prints about the admin token. An operator's
 * PARLEY_ADMIN_TOKEN never appears in the output (which often ends up in a
 * journal or a CI log): the banner says where it comes from and the curl
 * example reads `$PARLEY_ADMIN_TOKEN`. A token Parley generated is printed,
 * once, with the file in the data dir that keeps it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer, type ServerProcess } from '../helpers/server'

const running: ServerProcess[] = []

afterEach(async () => {
  for (const s of running.splice(0)) await s.close({ wipe: true })
})

/**
 * The real server/main.ts as a child process, with exactly `env` on top of this process's minus
 * the admin token, at the log level `npm start` runs at unless `env` says otherwise.
 */
async function start(env: Record<string, string>): Promise<ServerProcess> {
  const s = await startServer({ spawn: true, adminToken: null, env: { PARLEY_LOG_LEVEL: 'info', ...env } })
  running.push(s)
  return s
}

describe('[K1] the admin token at start', () => {
  it("[K1] an operator's PARLEY_ADMIN_TOKEN is never printed: the banner names the variable", async () => {
    const token = `operator-${randomBytes(18).toString('base64url')}`
    const s = await start({ PARLEY_ADMIN_TOKEN: token, PARLEY_LOG_LEVEL: 'debug' })
    // It works, and using it (well and badly) prints it nowhere either.
    const create = await fetch(`${s.url}/api/negotiations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Talks', parties: [{ name: 'A' }, { name: 'B' }] }),
    })
    expect(create.status).toBe(201)
    const wrong = await fetch(`${s.url}/api/negotiations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}x`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(wrong.status).toBe(401)
    await s.close()

    const printed = s.output.join('')
    expect(printed).toContain('Admin token: from PARLEY_ADMIN_TOKEN')
    expect(printed).toContain('authorization: Bearer $PARLEY_ADMIN_TOKEN')
    expect(printed).not.toContain(token)
    expect(printed).not.toContain(token.slice(9, 30))
  })

  it('[K1] a generated token is printed once, with the file in the data dir that keeps it', async () => {
    const s = await start({})
    const printed = s.output.join('')
    const file = join(s.dataDir, 'admin-token')
    const kept = readFileSync(file, 'utf8').trim()
    const line = printed.split('\n').find((l) => l.includes('Admin token:'))
    expect(line).toBe(`  Admin token: ${kept}   (new; kept in ${file})`)
    expect(printed.split(kept).length - 1, 'printed once').toBe(1)
    expect(printed).toContain(`authorization: Bearer $(cat '${file}')`)
    const create = await fetch(`${s.url}/api/negotiations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${kept}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Talks', parties: [{ name: 'A' }, { name: 'B' }] }),
    })
    expect(create.status).toBe(201)
  })
})
