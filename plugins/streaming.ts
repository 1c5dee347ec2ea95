import websocket from '@fastify/websocket'
import fp from 'fastify-plugin'
import { MemoryTurnHub, type TurnHub } from '../src/core/turn-hub.ts'

declare module 'fastify' {
  interface FastifyInstance {
    turnHub: TurnHub
  }
}

/** Streaming: the turn event logs (the hub) and WebSocket support for the /ws route. */
export default fp(
  async (app) => {
    const hub = new MemoryTurnHub({ bufferTtlMs: app.config.streaming.bufferTtlMs })
    app.decorate('turnHub', hub)
    app.addHook('onClose', () => hub.close())
    await app.register(websocket, { options: { maxPayload: app.config.limits.wsMaxPayloadBytes } })
  },
  { name: 'streaming', dependencies: ['config'] },
)
