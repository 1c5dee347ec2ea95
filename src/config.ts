// Configuration from the environment, validated once at start-up with a TypeBox schema
// (env-schema/Ajv coerces strings to numbers). A bad value stops start-up with one line naming it.
import { envSchema } from 'env-schema'
import Type, { type Static } from 'typebox'
import { normalizePem, publicKeyAlgorithm } from './jwt-keys.ts'

const HTTP_URL = '^https?://[^\\s]+$'

const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  // '*' (any origin, no credentials) or a comma-separated list of origins such as https://zoo.example
  CORS_ORIGINS: Type.String({ minLength: 1, default: '*' }),

  STORAGE: Type.Enum(['auto', 'dynamodb', 'memory'], { default: 'auto' }),
  DYNAMODB_ENDPOINT: Type.Optional(Type.String({ pattern: HTTP_URL })),
  AWS_REGION: Type.Optional(Type.String({ minLength: 1 })),
  CONVERSATION_DYNAMO_TABLE_NAME: Type.String({ minLength: 3, default: 'quest-dev-conversations' }),
  CONVERSATION_SESSION_TABLE_NAME: Type.String({ minLength: 3, default: 'quest-dev-conversation-sessions' }),
  ANIMAL_DYNAMO_TABLE_NAME: Type.String({ minLength: 3, default: 'quest-dev-animals' }),
  FAMILY_DYNAMO_TABLE_NAME: Type.String({ minLength: 3, default: 'quest-dev-families' }),
  SAFETY_DYNAMO_TABLE_NAME: Type.String({ minLength: 3, default: 'quest-dev-safety' }),
  ANALYTICS_DYNAMO_TABLE_NAME: Type.String({ minLength: 3, default: 'quest-dev-analytics' }),
  ANALYTICS_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 400 }),
  RETENTION_DAYS: Type.Integer({ minimum: 1, default: 90 }),
  RETENTION_SWEEP_MS: Type.Integer({ minimum: 100, default: 3_600_000 }),

  SAFETY_WEBHOOK_URL: Type.Optional(Type.String({ pattern: HTTP_URL })),
  SAFETY_WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  SAFETY_WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 20, default: 6 }),
  SAFETY_WEBHOOK_BACKOFF_MS: Type.Integer({ minimum: 1, default: 1000 }),
  SAFETY_WEBHOOK_QUEUE_SIZE: Type.Integer({ minimum: 1, default: 1000 }),

  OPENAI_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  OPENAI_BASE_URL: Type.Optional(Type.String({ pattern: HTTP_URL })),
  OPENAI_API_URL: Type.Optional(Type.String({ pattern: HTTP_URL })),
  OPENAI_MODEL: Type.String({ minLength: 1, default: 'gpt-4o-mini' }),
  OPENAI_TEMPERATURE: Type.Number({ minimum: 0, maximum: 2, default: 0.7 }),
  OPENAI_MAX_TOKENS: Type.Integer({ minimum: 1, maximum: 16384, default: 300 }),
  OPENAI_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 30000 }),
  OPENAI_MAX_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  LLM_FALLBACK: Type.Enum(['offline', 'none'], { default: 'offline' }),
  CONTEXT_MESSAGES: Type.Integer({ minimum: 0, maximum: 100, default: 10 }),

  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_CLOCK_TOLERANCE_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
  JWT_MAX_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 2592000, default: 86400 }),
  CURSOR_SECRET: Type.Optional(Type.String({ minLength: 32 })),

  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ minLength: 1, maxLength: 100, default: 'animal-chat:' }),
  RATE_LIMIT_TURNS_PER_MINUTE: Type.Integer({ minimum: 1, default: 30 }),
  RATE_LIMIT_IP_PER_MINUTE: Type.Integer({ minimum: 1, default: 600 }),
  MAX_CONCURRENT_TURNS_PER_USER: Type.Integer({ minimum: 1, default: 4 }),
  MAX_CONCURRENT_TURNS_PER_SOCKET: Type.Integer({ minimum: 1, default: 4 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 16384 }),
  WS_MAX_PAYLOAD_BYTES: Type.Integer({ minimum: 1024, default: 16384 }),

  HEARTBEAT_MS: Type.Integer({ minimum: 10, default: 15000 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 25000 }),
  STREAM_BUFFER_TTL_MS: Type.Integer({ minimum: 1000, default: 300000 }),
  STREAM_MAX_BUFFERED_BYTES: Type.Integer({ minimum: 1024, default: 1048576 }),
  TURN_LEASE_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 5000 }),

  MODERATION: Type.Enum(['local', 'openai'], { default: 'local' }),
  MODERATION_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 10000, default: 1500 }),
  SAFETY_HELP_TEXT: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  SAFETY_ID_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: HTTP_URL })),
  OTEL_SERVICE_NAME: Type.String({ minLength: 1, default: 'animal-chat-gateway' }),
  OTEL_METRIC_EXPORT_INTERVAL: Type.Integer({ minimum: 100, default: 60000 }),
})

export type Env = Static<typeof EnvSchema>

/** The validated configuration: whatever loadConfig returns, so the two cannot drift apart. */
export type Config = ReturnType<typeof loadConfig>

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Reads and validates the environment. Throws ConfigError with a message naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  // Empty strings mean "not set" (as in `FOO= npm start`), not an invalid value.
  const data = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  let e: Env
  try {
    e = envSchema<Env>({ schema: EnvSchema, data, dotenv: false })
  } catch (err) {
    throw new ConfigError(describeEnvError(err))
  }
  if (e.JWT_SECRET && e.JWT_PUBLIC_KEY) {
    throw new ConfigError('JWT_SECRET and JWT_PUBLIC_KEY are both set: set exactly one')
  }
  if (e.MODERATION === 'openai' && !e.OPENAI_API_KEY) {
    throw new ConfigError('MODERATION: openai needs OPENAI_API_KEY (or set MODERATION=local)')
  }
  const publicKey = e.JWT_PUBLIC_KEY && normalizePem(e.JWT_PUBLIC_KEY)
  if (publicKey) {
    try {
      publicKeyAlgorithm(publicKey)
    } catch (err) {
      throw new ConfigError(`JWT_PUBLIC_KEY: ${(err as Error).message}`)
    }
  }
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    /** Behind a load balancer: take the client address from X-Forwarded-For (per-IP rate limit, logs). */
    trustProxy: e.TRUST_PROXY,
    /** Origins allowed by CORS: '*' (any, without credentials) or an exact list. */
    corsOrigins: parseOrigins(e.CORS_ORIGINS),
    storage: {
      mode: e.STORAGE,
      endpoint: e.DYNAMODB_ENDPOINT,
      region: e.AWS_REGION,
      tables: {
        conversations: e.CONVERSATION_DYNAMO_TABLE_NAME,
        sessions: e.CONVERSATION_SESSION_TABLE_NAME,
        animals: e.ANIMAL_DYNAMO_TABLE_NAME,
        families: e.FAMILY_DYNAMO_TABLE_NAME,
        safety: e.SAFETY_DYNAMO_TABLE_NAME,
        analytics: e.ANALYTICS_DYNAMO_TABLE_NAME,
      },
      retentionDays: e.RETENTION_DAYS,
      /** Days each animal's daily analytics item is kept. */
      analyticsRetentionDays: e.ANALYTICS_RETENTION_DAYS,
      /** How often expired items are deleted on endpoints without TTL (the embedded store). */
      retentionSweepMs: e.RETENTION_SWEEP_MS,
    },
    /** Where `high` safety flags are POSTed, and how hard to try. */
    safetyWebhook: {
      url: e.SAFETY_WEBHOOK_URL,
      timeoutMs: e.SAFETY_WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.SAFETY_WEBHOOK_MAX_ATTEMPTS,
      backoffMs: e.SAFETY_WEBHOOK_BACKOFF_MS,
      queueSize: e.SAFETY_WEBHOOK_QUEUE_SIZE,
    },
    llm: {
      apiKey: e.OPENAI_API_KEY,
      baseURL: e.OPENAI_BASE_URL ?? e.OPENAI_API_URL,
      model: e.OPENAI_MODEL,
      temperature: e.OPENAI_TEMPERATURE,
      maxTokens: e.OPENAI_MAX_TOKENS,
      timeoutMs: e.OPENAI_TIMEOUT_MS,
      maxRetries: e.OPENAI_MAX_RETRIES,
      fallback: e.LLM_FALLBACK,
      contextMessages: e.CONTEXT_MESSAGES,
    },
    auth: {
      secret: e.JWT_SECRET, publicKey, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE,
      clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
      /** The longest lifetime a token may have (`exp` - `iat`, and `exp` from now). */
      maxTtlSeconds: e.JWT_MAX_TTL_SECONDS,
    },
    /** Signs pagination cursors; unset: derived from JWT_SECRET, else generated under DATA_DIR. */
    cursorSecret: e.CURSOR_SECRET,
    redisUrl: e.REDIS_URL,
    /** Prefix of every Redis key this app writes (instances sharing counters use the same one). */
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    limits: {
      turnsPerMinute: e.RATE_LIMIT_TURNS_PER_MINUTE,
      ipPerMinute: e.RATE_LIMIT_IP_PER_MINUTE,
      concurrentTurnsPerUser: e.MAX_CONCURRENT_TURNS_PER_USER,
      concurrentTurnsPerSocket: e.MAX_CONCURRENT_TURNS_PER_SOCKET,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      wsMaxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES,
    },
    streaming: {
      heartbeatMs: e.HEARTBEAT_MS,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      bufferTtlMs: e.STREAM_BUFFER_TTL_MS,
      /** A consumer with more unsent bytes than this is disconnected (it can resume). */
      maxBufferedBytes: e.STREAM_MAX_BUFFERED_BYTES,
      /** With Redis: a running turn's owner lease; another instance ends the turn (interrupted) once it lapses. */
      turnLeaseMs: e.TURN_LEASE_MS,
    },
    safety: {
      /** `local`: the gateway's own checks; `openai`: OpenAI's moderation endpoint as well. */
      moderation: e.MODERATION,
      /** How long the moderation endpoint may take before the local verdict stands alone. */
      moderationTimeoutMs: e.MODERATION_TIMEOUT_MS,
      /** Appended to every support reply (a helpline, where the zoo's first aid is). */
      helpText: e.SAFETY_HELP_TEXT,
      /** Key of the hashed `safety_identifier` sent upstream. */
      identifierSecret: e.SAFETY_ID_SECRET,
    },
    /** OpenTelemetry: off unless an OTLP endpoint is set. */
    telemetry: {
      otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: e.OTEL_SERVICE_NAME,
      metricExportIntervalMs: e.OTEL_METRIC_EXPORT_INTERVAL,
    },
  }
}

/**
 * `*`, or origins as a browser sends them (`https://zoo.example`, `http://localhost:3000`):
 * scheme, host and port only. `null` is refused: sandboxed frames and file:// pages share it.
 */
function parseOrigins(value: string): '*' | string[] {
  if (value.trim() === '*') return '*'
  const origins = value.split(',').map((origin) => origin.trim()).filter(Boolean)
  for (const origin of origins) {
    let parsed: URL | undefined
    try { parsed = new URL(origin) } catch { /* reported below */ }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(`CORS_ORIGINS: '${origin}' is not an origin (write it as https://host[:port], comma-separated, or *)`)
    }
  }
  if (origins.length === 0) throw new ConfigError('CORS_ORIGINS: list at least one origin, or * for any')
  return origins
}

/** Turns Ajv's first error into "PORT: must be integer". */
function describeEnvError(err: unknown): string {
  const errors = (err as { errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> }).errors
  const first = errors?.[0]
  if (!first) return String((err as Error).message ?? err)
  const name = first.instancePath.replace(/^\//, '') || String(first.params?.missingProperty ?? 'environment')
  const allowed = first.params?.allowedValues ? ` (one of ${(first.params.allowedValues as unknown[]).join(', ')})` : ''
  return `${name}: ${first.message ?? 'is invalid'}${allowed}`
}
