import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest, forbidden } from '../core/errors.ts'
import { mayDo, mayReadUser } from '../core/policy.ts'
import { historySchema } from '../../schemas/history.ts'

const historyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.get('/convo_history', { schema: historySchema }, async (request) => {
    const { sessionId, userId, animalId, limit = 20, cursor } = request.query
    const { caller } = request
    if (sessionId) {
      if (userId || animalId) throw badRequest('querystring: sessionId cannot be combined with userId or animalId')
      const session = await app.access.readableSession(caller, sessionId)
      const page = await app.storage.listTurns(sessionId, { limit, cursor })
      return { sessionId, animalId: session.animalId, userId: session.userId, turns: page.items, nextCursor: page.nextCursor }
    }
    if (userId && animalId) throw badRequest('querystring: use userId or animalId, not both')
    if (animalId && !mayDo(caller, 'list_by_animal')) throw forbidden('Only zookeepers and admins may list sessions by animal')
    if (userId && !(await mayReadUser(caller, userId, app.storage))) throw forbidden('You may not list this user\'s sessions')
    const page = await app.storage.listSessions({ userId: animalId ? undefined : (userId ?? caller.sub), animalId, limit, cursor })
    return { sessions: page.items, nextCursor: page.nextCursor }
  })
}

export default historyRoutes
