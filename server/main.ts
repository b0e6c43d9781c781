/**
 * `npm start` / `npm run demo`: reads the configuration, starts Parley, prints
 * where it runs and how to begin, and stops cleanly on SIGTERM/SIGINT
 * (flushes the store, closes sockets with 1001).
 *
 * `--demo` seeds the two demo negotiations, or finds them in the store from an
 * earlier run and prints fresh links to them; `--demo=new` (or `npm run demo
 * -- --new`) seeds new ones whatever the store holds.
 */
import { join } from 'node:path'
import { loadConfig } from './config'
import { ADMIN_TOKEN_FILE } from './auth/secrets'
import { startParley } from './app'
import { seedDemos, type DemoLinks } from './demo'

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    console.error((err as Error).message)
    process.exit(2)
  }
  const parley = await startParley(config)
  // A promise nobody awaited failed: log it and keep serving everyone else.
  process.on('unhandledRejection', (err) => parley.log.error('unhandled rejection', err))
  const demoMode = process.argv.some((a) => a === '--demo' || a.startsWith('--demo='))
  // `npm run demo` passes --demo itself: `npm run demo -- --new` (or --demo=new) asks for new ones
  const freshDemo = process.argv.includes('--demo=new') || process.argv.includes('--new')
  const store = parley.store.kind === 'sqlite' ? `SQLite in ${config.dataDir}` : 'PostgreSQL'
  // An operator's own token is theirs to keep: it never reaches this output (or whatever collects it).
  const tokenFile = join(config.dataDir, ADMIN_TOKEN_FILE)
  const adminToken = config.adminToken
    ? { line: 'from PARLEY_ADMIN_TOKEN', shell: '$PARLEY_ADMIN_TOKEN' }
    : {
        line: `${parley.adminToken}   (${parley.adminTokenGenerated ? 'new; ' : ''}kept in ${tokenFile})`,
        shell: `$(cat ${shellQuote(tokenFile)})`,
      }
  const lines = [
    '',
    `  Parley is running at ${parley.url}`,
    `  Store: ${store}${config.redisUrl ? ', Redis fan-out on' : ''}`,
    ...(config.envFile ? [`  Settings: the environment and ${config.envFile}`] : []),
    `  Admin token: ${adminToken.line}`,
    '',
    `  Open ${parley.url}/admin and paste the admin token to create a negotiation,`,
    '  or from a shell:',
    `    curl -s -X POST ${parley.url}/api/negotiations \\`,
    `      -H "authorization: Bearer ${adminToken.shell}" -H 'content-type: application/json' \\`,
    `      -d '{"title":"Our deal","parties":[{"name":"Party A"},{"name":"Party B"}]}'`,
    ...(demoMode ? [] : ['  or run `npm run demo` for a ready-made sample negotiation.']),
    '',
  ]
  // Before anything is printed: whoever reads the banner may stop the server at once, and until a handler
  // is installed SIGTERM kills the process outright (no flush, exit by signal).
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    parley.log.info(`${signal}: closing connections and flushing the store`)
    parley
      .close()
      .then(() => process.exit(0))
      .catch((err) => {
        parley.log.error('shutdown failed', err)
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  console.log(lines.join('\n'))

  if (demoMode) {
    const { main: demo, concluding: closing } = await seedDemos(parley.service, freshDemo)
    const again = demo.reused || closing.reused
    console.log(
      `  Demo negotiation "${demo.title}" (${demo.id})${demo.reused ? ', from an earlier `npm run demo`: new links, the earlier ones still work' : ''}. Invite links:`,
    )
    printLinks(demo)
    console.log(
      `  One step from conclusion: "${closing.title}" (${closing.id})${closing.reused ? ', from an earlier `npm run demo`' : ''}.`,
    )
    if (closing.wasConcluded) console.log('  (The earlier one was concluded since, so this one is new.)')
    console.log('  Every term is closed and both delegations accepted the package; the United States initialled it.')
    console.log('  Open the Russian Federation’s link and press "Initial" to conclude. Invite links:')
    printLinks(closing)
    if (again) console.log('  `npm run demo -- --new` seeds new demo negotiations beside these.\n')
  }

}

/** A demo negotiation's invite links, one line each. */
function printLinks(demo: DemoLinks): void {
  for (const p of demo.parties) console.log(`    ${p.name.padEnd(20)} negotiator  ${demo.links.negotiator[p.id]}`)
  console.log(`    ${'Press pool'.padEnd(20)} observer    ${demo.links.observer}`)
  console.log(`    ${'Legal review'.padEnd(20)} reviewer    ${demo.links.reviewer}`)
  console.log('')
}

/** A word for a POSIX shell, whatever the path holds. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

main().catch((err) => {
  console.error('Parley could not start:', err instanceof Error ? err.message : err)
  process.exit(1)
})
