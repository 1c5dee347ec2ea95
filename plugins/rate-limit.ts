// Rate limits, on @fastify/rate-limit:
// - per IP, every request (looser: RATE_LIMIT_IP_PER_MINUTE), counted before authentication so
//   unauthenticated routes, unknown paths and bad-token floods are covered too; liveness/readiness
//   probes and metrics scrapes are exempt so monitoring never trips it;
// - per user (the token's sub), every turn (RATE_LIMIT_TURNS_PER_MINUTE): `app.admitTurn(request)`
//   consumes one, for POST /convo_turn (a preHandler, after authentication) and for each
//   WebSocket turn frame (with the upgrade request), so both transports share one budget.
// With REDIS_URL the counters live in Redis (app.redis, plugins/redis.ts), so every instance shares them;
// without, in memory (SnapshotLocalStore). Either way a burst of N > budget admits exactly the budget.
import rateLimit from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AppError } from '../src/core/errors.ts'
import { SnapshotLocalStore } from '../src/limits/snapshot-local-store.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Consumes one turn from the caller's per-minute budget; throws RateLimitedError when it is spent. */
    admitTurn(request: FastifyRequest): Promise<void>
    /** preHandler for turn routes: admitTurn, plus the Retry-After header when refused. */
    turnRateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void>
  }
}

export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number
  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message)
    this.name = 'RateLimitedError'
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** Routes monitoring calls often, from few addresses: never rate limited. */
export const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz', '/metrics'])

export default fp(
  async (app) => {
    const { limits, redisKeyPrefix } = app.config
    const { redis } = app

    // The plugin's own options are the per-IP limit; it is added below as a root hook (rather than
    // per route) so it runs before every route's authentication hook and on 404s.
    await app.register(rateLimit, {
      global: false,
      max: limits.ipPerMinute,
      timeWindow: 60_000,
      allowList: (request) => UNLIMITED_ROUTES.has(request.routeOptions.url ?? ''),
      // Redis down: let requests through rather than fail them (the per-user concurrency cap still holds).
      skipOnError: true,
      ...(redis ? { redis, nameSpace: `${redisKeyPrefix}rate-limit:` } : { store: SnapshotLocalStore }),
      errorResponseBuilder: (_request, context) =>
        new RateLimitedError(`Too many requests from this address; retry in ${context.after}`, Math.ceil(context.ttl / 1000)),
    })

    app.addHook('onRequest', app.rateLimit())

    const turnLimit = app.createRateLimit({
      max: limits.turnsPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => `turns:${request.caller.sub}`,
    })

    app.decorate('admitTurn', async (request: FastifyRequest) => {
      const limit = await turnLimit(request)
      if (!limit.isAllowed && limit.isExceeded) {
        throw new RateLimitedError(
          `At most ${limit.max} turns per minute; retry in ${limit.ttlInSeconds} s`,
          limit.ttlInSeconds,
        )
      }
    })

    app.decorate('turnRateLimit', async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        await app.admitTurn(request)
      } catch (err) {
        if (err instanceof RateLimitedError) reply.header('retry-after', err.retryAfterSeconds)
        throw err
      }
    })
  },
  { name: 'rate-limit', dependencies: ['config', 'redis'] },
)
