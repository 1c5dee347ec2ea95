import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../core/errors.ts'
import { redactToken } from '../core/log.ts'
import { wsSchema } from '../../schemas/ws.ts'
import { serveSocket } from '../streaming/ws-session.ts'

/**
 * GET /ws: the kiosk WebSocket. The token is checked at the upgrade (401, no socket). Each turn
 * frame spends from the caller's per-user turn budget, shared with POST /convo_turn. When the
 * token expires the socket takes no new frames and closes with 4401 once its turns have finished;
 * an `auth` frame with a fresh token (same sub) keeps it going. A plain GET (no Upgrade header)
 * is a 426 saying how to connect; the route is documented in OpenAPI like any other.
 */
const wsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.route({
    method: 'GET',
    url: '/ws',
    config: { queryToken: true },
    schema: wsSchema,
    handler: async () => {
      throw new AppError('upgrade_required', 'GET /ws is a WebSocket: connect with a WebSocket client (Connection: Upgrade, Upgrade: websocket)')
    },
    wsHandler: (socket, request) => {
      // An upgraded request never reaches onResponse: its access-log line is written here.
      request.log.info({ method: request.method, url: redactToken(request.url), statusCode: 101 }, 'websocket opened')
      const kiosk = serveSocket(socket, {
        turns: app.turns,
        admitTurn: () => app.admitTurn(request),
        verifyToken: app.verifyToken,
        token: request.token,
        log: request.log,
        heartbeats: app.heartbeats,
        maxTurnsPerSocket: app.config.limits.concurrentTurnsPerSocket,
        maxBufferedBytes: app.config.streaming.maxBufferedBytes,
        transport: request.raw.socket,
      })
      app.kioskSockets.add(kiosk)
      socket.once('close', () => app.kioskSockets.delete(kiosk))
    },
  })
}

export default wsRoutes
