/**
 * Vitest global setup: client modules import Paraglide's compiled messages
 * (client/src/paraglide, generated, not committed). `npm test` compiles them in
 * its typecheck step; this makes a bare `npx vitest run` on a fresh clone work too.
 * scripts/i18n.ts skips the compile when the message files have not changed.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/i18n.ts'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: 'inherit',
  })
}
