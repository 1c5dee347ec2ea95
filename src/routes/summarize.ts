// POST /summarize_convo: a short summary of a session the caller may read.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { summarizeSession } from '../core/summaries.ts'
import { summarySchema } from '../../schemas/summary.ts'

const summarizeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A summary asks the model too, so it spends from the same per-user budget as a turn.
  app.post('/summarize_convo', { schema: summarySchema, preHandler: app.turnRateLimit }, async (request, reply) => {
    const session = await app.access.readableSession(request.caller, request.body.sessionId)
    // A client that hangs up stops the model request (the provider's timeout bounds it otherwise).
    const abort = new AbortController()
    const onClose = () => { if (!reply.raw.writableFinished) abort.abort() }
    reply.raw.once('close', onClose)
    try {
      return await summarizeSession(app.storage, app.llm, session, abort.signal)
    } finally {
      reply.raw.off('close', onClose)
    }
  })
}

export default summarizeRoutes
