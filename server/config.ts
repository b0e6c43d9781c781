/**
 * The one place the environment is read (CONTRACT.md, "Run and configure",
 * plus Parley's own tuning knobs documented in the README).
 */
import { z } from 'zod'
import { resolve } from 'node:path'

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

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`invalid configuration:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  return {
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
