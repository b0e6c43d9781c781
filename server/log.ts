/**
 * A small leveled logger writing one line per event to stderr. Every line
 * goes through `redact`, so a capability token (a JWT) or a `token=` query
 * parameter can never reach a log, whatever a caller passes in. Hand-written
 * rather than pino because the whole need is "a line, a level, redaction".
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g
const TOKEN_PARAM = /([?&]token=)[^&\s"']+/gi
const BEARER = /(Bearer\s+)[^\s"']+/gi

export function redact(text: string): string {
  return text.replace(JWT, '[token]').replace(TOKEN_PARAM, '$1[token]').replace(BEARER, '$1[token]')
}

export interface Logger {
  debug(msg: string, err?: unknown): void
  info(msg: string, err?: unknown): void
  warn(msg: string, err?: unknown): void
  error(msg: string, err?: unknown): void
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, err?: unknown) => {
    if (ORDER[lvl] < ORDER[level]) return
    const detail = err === undefined ? '' : ` — ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`
    write(redact(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${detail}`))
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
