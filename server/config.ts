/**
 * The one place the environment is read (docs/api.md, "Run and configure",
 * plus Parley's own tuning knobs documented in the README).
 *
 * `npm start`, `npm run demo`, `npm run export` and `npm run verify` all read
 * it here, so an operator's tools open the store the server writes: the same
 * defaults, and the same `.env` file when there is one. A `.env` only fills
 * in what the environment leaves unset (as dotenv and Node's --env-file do):
 * an explicit `PARLEY_DATA_DIR=… npm run export` still wins.
 */
import { z } from 'zod'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true')
const int = (dflt: number, min = 0) => z.coerce.number().int().min(min).default(dflt)

const EnvSchema = z.object({
  PORT: int(4000, 0),
  HOST: z.string().min(1).default('127.0.0.1'),
  PARLEY_DATA_DIR: z.string().min(1).default('./data'),
  PARLEY_ADMIN_TOKEN: z.string().min(16, 'PARLEY_ADMIN_TOKEN must be at least 16 characters').optional(),
  PARLEY_SECRET: z.string().min(32, 'PARLEY_SECRET must be at least 32 characters').optional(),
  /** the Ed25519 key that signs concluded records: PKCS#8 PEM or base64url private JWK (server/record/signingKey.ts) */
  PARLEY_SIGNING_KEY: z.string().min(1).optional(),
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  PARLEY_ALLOWED_ORIGINS: z.string().optional(),
  /** public base URL for invite links, when it differs from http://HOST:PORT (behind a proxy) */
  PARLEY_PUBLIC_URL: z.string().url().optional(),
  /** accept token-less websocket connections with full write access: local development only */
  PARLEY_DEV_OPEN: flag,
  PARLEY_ROOM_GRACE_MS: int(30_000),
  /**
   * checkpoints are spaced by bytes (the updates since the last one add up to its size, see
   * Room.maybeCheckpoint); this is the least number of updates between two, so small docs are
   * not checkpointed every few keystrokes
   */
  PARLEY_CHECKPOINT_EVERY: int(300, 1),
  PARLEY_RATE_MESSAGES: int(500, 1),
  PARLEY_RATE_BYTES: int(4 * 1024 * 1024, 1024),
  /** Yjs structs and delete ranges per second per token, all its connections together (burst: the larger of twice that and one maximal update) */
  PARLEY_RATE_STRUCTS: int(10_000, 1),
  PARLEY_MAX_CONNECTIONS_PER_ADDRESS: int(1000, 1),
  /** behind a reverse proxy: take the client address from X-Forwarded-For */
  PARLEY_TRUST_PROXY: flag,
  PARLEY_MAX_BUFFERED_BYTES: int(16 * 1024 * 1024, 1024),
  PARLEY_MAX_STRUCTS_PER_UPDATE: int(50_000, 1),
  PARLEY_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  PARLEY_REDIS_PREFIX: z.string().default('parley'),
})

export type Config = ReturnType<typeof loadConfig>

/** The process's environment over the `.env` file's, and which file that was (null: none). */
export interface Environment {
  env: NodeJS.ProcessEnv
  envFile: string | null
}

/**
 * `.env` in the directory Parley starts from (the project's root under npm), or the file
 * PARLEY_ENV_FILE names (empty: none), under the process's own environment.
 */
export function readEnvironment(processEnv: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Environment {
  const named = processEnv.PARLEY_ENV_FILE
  if (named === '') return { env: processEnv, envFile: null }
  const file = resolve(cwd, named ?? '.env')
  if (!existsSync(file)) {
    if (named !== undefined) throw new Error(`invalid configuration:\n  PARLEY_ENV_FILE: ${file} does not exist`)
    return { env: processEnv, envFile: null }
  }
  let fromFile: NodeJS.Dict<string>
  try {
    fromFile = parseEnv(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`invalid configuration:\n  ${file}: ${(err as Error).message}`)
  }
  return { env: { ...fromFile, ...processEnv }, envFile: file }
}

/**
 * The configuration from `env`; without one, from the process's environment and its `.env`
 * (readEnvironment). Tests pass their own and so never read a developer's `.env`.
 */
export function loadConfig(given?: NodeJS.ProcessEnv) {
  const { env, envFile } = given ? { env: given, envFile: null } : readEnvironment()
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`invalid configuration:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  return {
    /** the `.env` file read, if any */
    envFile,
    /** PARLEY_DATA_DIR as given (or its default), for messages that name the setting */
    dataDirSetting: e.PARLEY_DATA_DIR,
    port: e.PORT,
    host: e.HOST,
    dataDir: resolve(e.PARLEY_DATA_DIR),
    adminToken: e.PARLEY_ADMIN_TOKEN,
    secret: e.PARLEY_SECRET,
    signingKey: e.PARLEY_SIGNING_KEY,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.PARLEY_REDIS_PREFIX,
    allowedOrigins: e.PARLEY_ALLOWED_ORIGINS?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    publicUrl: e.PARLEY_PUBLIC_URL?.replace(/\/$/, ''),
    devOpen: e.PARLEY_DEV_OPEN,
    roomGraceMs: e.PARLEY_ROOM_GRACE_MS,
    checkpointEvery: e.PARLEY_CHECKPOINT_EVERY,
    rate: {
      messagesPerSecond: e.PARLEY_RATE_MESSAGES,
      bytesPerSecond: e.PARLEY_RATE_BYTES,
      structsPerSecond: e.PARLEY_RATE_STRUCTS,
    },
    maxConnectionsPerAddress: e.PARLEY_MAX_CONNECTIONS_PER_ADDRESS,
    trustProxy: e.PARLEY_TRUST_PROXY,
    maxBufferedBytes: e.PARLEY_MAX_BUFFERED_BYTES,
    maxStructsPerUpdate: e.PARLEY_MAX_STRUCTS_PER_UPDATE,
    logLevel: e.PARLEY_LOG_LEVEL,
  }
}
