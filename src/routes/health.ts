import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { healthSchema, readySchema } from '../../schemas/health.ts'

/** Liveness and readiness, without a token (load balancers and the Docker HEALTHCHECK call them). */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { schema: healthSchema, logLevel: 'warn' }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', { schema: readySchema, logLevel: 'warn' }, async (_request, reply) => {
    try {
      await app.storage.ping()
      return { status: 'ready' as const, storage: app.storage.kind }
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable' as const, storage: app.storage.kind, message: (err as Error).message })
    }
  })
}

export default healthRoutes
