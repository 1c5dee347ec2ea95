// The one Redis connection of an app (REDIS_URL), shared by the rate limiter and the turn hub;
// connections that need their own socket (pub/sub, blocking reads) are duplicate()s of it, so
// every connection has the same reconnect policy. Without REDIS_URL, `app.redis` is undefined
// and both keep their state in memory.
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { connectRedis } from '../src/redis.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Connected at start-up; undefined without REDIS_URL. */
    redis: Redis | undefined
  }
}

export default fp(
  async (app) => {
    const { redisUrl } = app.config
    const redis = redisUrl ? await connectRedis(redisUrl, app.log) : undefined
    app.decorate('redis', redis)
    if (redis) app.addHook('onClose', async () => { await redis.quit().catch(() => redis.disconnect()) })
  },
  { name: 'redis', dependencies: ['config'] },
)
