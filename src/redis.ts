// Redis connections: one policy for every connection the app opens (plugins/redis.ts makes the
// shared one; the turn hub duplicates it for pub/sub, blocking reads and queued writes).
import { Redis, type RedisOptions } from 'ioredis'
import type { Log } from './core/log.ts'

/**
 * Commands fail at once while Redis is unreachable instead of queueing (no offline queue, one
 * retry): a rate-limit check lets the request through (skipOnError) rather than stall it, a
 * resume or cancel answers an error rather than hang. A command unanswered for 2 s fails too (a
 * Redis that hangs rather than refuses). ioredis keeps reconnecting, backing off up to 2 s between attempts.
 */
export const REDIS_OPTIONS: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
}

/** Connects at start-up, so a wrong REDIS_URL stops the app with a message naming it. */
export async function connectRedis(url: string, log: Log): Promise<Redis> {
  const redis = new Redis(url, REDIS_OPTIONS)
  // ioredis reconnects by itself; say so in the log instead of on stderr.
  redis.on('error', (err: Error) => log.warn({ err }, 'redis connection error'))
  try {
    await redis.connect()
  } catch (err) {
    redis.disconnect()
    throw new Error(`REDIS_URL: cannot connect to Redis (${(err as Error).message})`)
  }
  return redis
}

/** A second connection with the same policy (options may differ, e.g. a queue for writes); connected before it is returned. */
export async function duplicateConnection(redis: Redis, log: Log, options: RedisOptions = {}): Promise<Redis> {
  const copy = redis.duplicate({ ...options, lazyConnect: true })
  copy.on('error', (err: Error) => log.warn({ err }, 'redis connection error'))
  await copy.connect()
  return copy
}
