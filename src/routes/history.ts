import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { eraseSession, eraseUser, userSessions } from '../core/data-rights.ts'
import { badRequest, forbidden, notFound } from '../core/errors.ts'
import { EXPORT_CONTENT_TYPES, exportSession, exportUser } from '../core/export-format.ts'
import { mayDo, mayEraseUser, mayReadUser } from '../core/policy.ts'
import type { Session } from '../core/types.ts'
import { deleteHistorySchema, exportSchema, historySchema } from '../../schemas/history.ts'

/** A session as the lists show it: its flag count, and whether it has any. */
const listed = (session: Session) => ({ ...session, safetyFlags: session.safetyFlags ?? 0, flagged: (session.safetyFlags ?? 0) > 0 })

/** `?sessionId=` or `?userId=`, exactly one. */
function oneTarget(query: { sessionId?: string; userId?: string }): void {
  if (query.sessionId && query.userId) throw badRequest('querystring: use sessionId or userId, not both')
  if (!query.sessionId && !query.userId) throw badRequest('querystring: sessionId or userId is required')
}

const historyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/convo_history', { schema: historySchema }, async (request) => {
    const { sessionId, userId, animalId, flagged, limit = 20, cursor } = request.query
    const { caller } = request
    if (sessionId) {
      if (userId || animalId || flagged !== undefined) throw badRequest('querystring: sessionId cannot be combined with userId, animalId or flagged')
      const session = await app.access.readableSession(caller, sessionId)
      const page = await app.storage.listTurns(sessionId, { limit, cursor })
      return { sessionId, animalId: session.animalId, userId: session.userId, turns: page.items, nextCursor: page.nextCursor }
    }
    if (userId && animalId) throw badRequest('querystring: use userId or animalId, not both')
    if (animalId && !mayDo(caller, 'list_by_animal')) throw forbidden('Only zookeepers and admins may list sessions by animal')
    if (userId && !(await mayReadUser(caller, userId, app.storage))) throw forbidden('You may not list this user\'s sessions')
    const page = await app.storage.listSessions({ userId: animalId ? undefined : (userId ?? caller.sub), animalId, flagged, limit, cursor })
    return { sessions: page.items.map(listed), nextCursor: page.nextCursor }
  })

  // Deleting also purges the resume buffers on every instance: nothing deleted can be replayed.
  app.delete('/convo_history', { schema: deleteHistorySchema }, async (request, reply) => {
    const { sessionId, userId } = request.query
    oneTarget(request.query)
    if (userId) {
      if (!(await mayEraseUser(request.caller, userId, app.storage))) throw forbidden('Only admins and the child\'s linked parent may delete a visitor\'s data')
      const { turnIds } = await eraseUser(app.storage, app.turnHub, userId)
      request.log.info({ userId, turns: turnIds.length }, 'deleted all data of a visitor')
    } else {
      if (!mayDo(request.caller, 'delete_history')) throw forbidden('Only admins may delete conversations')
      if (!(await eraseSession(app.storage, app.turnHub, sessionId!)).existed) throw notFound(`session '${sessionId}'`)
    }
    return reply.code(204).send(null)
  })

  // Streamed page by page from storage: a long session (or a user's many) is never held in memory whole.
  app.get('/convo_history/export', { schema: exportSchema }, async (request, reply) => {
    const { sessionId, userId, format = 'json' } = request.query
    oneTarget(request.query)
    let body: Readable
    let filename: string
    if (userId) {
      if (!(await mayReadUser(request.caller, userId, app.storage))) throw forbidden('You may not read this user\'s conversations')
      body = Readable.from(exportUser(format, userId, userSessions(app.storage, userId)))
      filename = `visitor-${userId}.${format}`
    } else {
      const session = await app.access.readableSession(request.caller, sessionId!)
      const animalName = (await app.storage.getAnimal(session.animalId))?.name ?? session.animalId
      body = Readable.from(exportSession(format, { session, animalName }, app.storage.iterateTurns(sessionId!)))
      filename = `session-${sessionId}.${format}`
    }
    return reply
      .type(EXPORT_CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="${filename}"`)
      .send(body)
  })
}

export default historyRoutes
