// POST /convo_turn and the stream routes: translate HTTP to the engine, nothing more.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError, badRequest } from '../core/errors.ts'
import { seqAfter } from '../core/events.ts'
import { errorResponses } from '../../schemas/common.ts'
import { StreamQuery, TurnParams, cancelTurnSchema, turnSchema } from '../../schemas/turn.ts'
import { streamSse, type Attach } from '../streaming/sse.ts'

const turnRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  const sse = (request: FastifyRequest, reply: FastifyReply, attach: Attach) => {
    reply.hijack()
    return streamSse(reply.raw, attach, {
      heartbeats: app.heartbeats,
      retryMs: 1000,
      maxBufferedBytes: app.config.streaming.maxBufferedBytes,
      headers: reply.getHeaders(),
    }).catch((err) => request.log.error({ err }, 'sse stream failed'))
  }

  app.post('/convo_turn', { schema: turnSchema, preHandler: app.turnRateLimit }, async (request, reply) => {
    const wantsStream = request.query.stream === true || (request.headers.accept ?? '').includes('text/event-stream')
    const { turnId } = await app.engine.startTurn(request.caller, request.body)
    if (wantsStream) return sse(request, reply, (listener) => app.engine.attach(turnId, -1, listener))
    return app.engine.result(turnId)
  })

  app.get('/convo_turn/:turnId/stream', {
    config: { queryToken: true },
    schema: {
      tags: ['conversation'],
      summary: 'Attach to a turn\'s event stream; resumes after Last-Event-ID (header) or ?lastEventId=',
      params: TurnParams,
      querystring: StreamQuery,
      response: errorResponses,
    },
  }, async (request, reply) => {
    const { turnId } = request.params
    await app.access.turn(request.caller, turnId, 'read')
    const lastEventId = (request.headers['last-event-id'] as string | undefined) ?? request.query.lastEventId
    let afterSeq: number
    try {
      afterSeq = seqAfter(turnId, lastEventId)
    } catch (err) {
      throw badRequest(`Last-Event-ID: ${(err as Error).message}`)
    }
    return sse(request, reply, (listener) => app.engine.attach(turnId, afterSeq, listener))
  })

  app.delete('/convo_turn/:turnId', { schema: cancelTurnSchema }, async (request, reply) => {
    const { turnId } = request.params
    await app.access.turn(request.caller, turnId, 'cancel')
    if (!(await app.engine.cancel(turnId))) throw new AppError(409, 'not_running', `turn '${turnId}' is not running`)
    // Accepted: the turn (perhaps on another instance) ends with an `error` event, code cancelled.
    return reply.code(202).send({ turnId, cancelled: true })
  })
}

export default turnRoutes
