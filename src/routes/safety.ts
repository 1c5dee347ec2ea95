// GET /safety/events: the flags for people, newest first. Who sees what comes from the policy.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { forbidden } from '../core/errors.ts'
import { mayReadUser, safetyEventReaders } from '../core/policy.ts'
import { safetyEventsSchema } from '../../schemas/safety.ts'

const safetyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/safety/events', { schema: safetyEventsSchema }, async (request) => {
    const { userId, animalId, severity, limit = 20, cursor } = request.query
    const { caller } = request
    const readers = await safetyEventReaders(caller, app.storage)
    if (!readers) throw forbidden('Only parents, zookeepers and admins may list safety events')
    if (userId && readers !== 'all' && !(await mayReadUser(caller, userId, app.storage))) {
      throw forbidden('You may not read this user\'s safety events')
    }
    const userIds = userId ? [userId] : readers === 'all' ? undefined : readers
    const page = await app.storage.listSafetyEvents({ userIds, animalId, severity, limit, cursor })
    return { events: page.items, nextCursor: page.nextCursor }
  })
}

export default safetyRoutes
