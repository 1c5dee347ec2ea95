import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest, forbidden, notFound } from '../core/errors.ts'
import { EXPORT_CONTENT_TYPES, exportSession } from '../core/export-format.ts'
import { mayDo, mayReadUser } from '../core/policy.ts'
import { deleteHistorySchema, exportSchema, historySchema } from '../../schemas/history.ts'

const historyRoutes: FastifyPluginAsyncTypebox = async (app) => {
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

  app.delete('/convo_history', { schema: deleteHistorySchema }, async (request, reply) => {
    const { sessionId } = request.query
    if (!mayDo(request.caller, 'delete_history')) throw forbidden('Only admins may delete conversations')
    if (!(await app.storage.deleteSession(sessionId))) throw notFound(`session '${sessionId}'`)
    return reply.code(204).send(null)
  })

  // Streamed page by page from storage: a long session is never held in memory whole.
  app.get('/convo_history/export', { schema: exportSchema }, async (request, reply) => {
    const { sessionId, format = 'json' } = request.query
    const session = await app.access.readableSession(request.caller, sessionId)
    const animalName = (await app.storage.getAnimal(session.animalId))?.name ?? session.animalId
    const body = Readable.from(exportSession(format, { session, animalName }, app.storage.iterateTurns(sessionId)))
    return reply
      .type(EXPORT_CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="session-${sessionId}.${format}"`)
      .send(body)
  })
}

export default historyRoutes
