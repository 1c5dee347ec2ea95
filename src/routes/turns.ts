// POST /convo_turn and the stream routes: translate HTTP to the turn API (app.turns), nothing more.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TurnStream } from '../core/turns.ts'
import { cancelTurnSchema, streamTurnSchema, turnSchema } from '../../schemas/turn.ts'
import { turnResult } from '../streaming/json.ts'
import { streamSse } from '../streaming/sse.ts'

const turnRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const sse = (request: FastifyRequest, reply: FastifyReply, stream: TurnStream) => {
    reply.hijack()
    return streamSse(reply.raw, stream, {
      heartbeats: app.heartbeats,
      retryMs: 1000,
      maxBufferedBytes: app.config.streaming.maxBufferedBytes,
      headers: reply.getHeaders(),
    }).catch((err) => request.log.error({ err }, 'sse stream failed'))
  }

  app.post('/convo_turn', { schema: turnSchema, preHandler: app.turnRateLimit }, async (request, reply) => {
    const wantsStream = request.query.stream === true || (request.headers.accept ?? '').includes('text/event-stream')
    const stream = await app.turns.start(request.caller, request.body)
    if (wantsStream) return sse(request, reply, stream)
    return turnResult(stream)
  })

  app.get('/convo_turn/:turnId/stream', { config: { queryToken: true }, schema: streamTurnSchema }, async (request, reply) => {
    const lastEventId = (request.headers['last-event-id'] as string | undefined) ?? request.query.lastEventId
    return sse(request, reply, await app.turns.follow(request.caller, request.params.turnId, lastEventId))
  })

  app.delete('/convo_turn/:turnId', { schema: cancelTurnSchema }, async (request, reply) => {
    const { turnId } = request.params
    await app.turns.cancel(request.caller, turnId)
    // Accepted: the turn (perhaps on another instance) ends with an `error` event, code cancelled.
    return reply.code(202).send({ turnId, cancelled: true })
  })
}

export default turnRoutes
