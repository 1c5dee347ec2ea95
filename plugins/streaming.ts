import websocket from '@fastify/websocket'
import fp from 'fastify-plugin'
import type { TurnHub } from '../src/core/ports.ts'
import { StorageTurnArchive } from '../src/core/turn-archive.ts'
import { MemoryTurnHub } from '../src/core/turn-hub.ts'
import { Heartbeats } from '../src/streaming/heartbeats.ts'
import { RedisTurnHub } from '../src/streaming/redis-hub.ts'

declare module 'fastify' {
  interface FastifyInstance {
    turnHub: TurnHub
    heartbeats: Heartbeats
  }
}

/**
 * Streaming: the turn event logs (the hub: in memory, or in Redis Streams on app.redis when REDIS_URL is set so
 * any instance can resume and cancel any turn), one heartbeat timer for every open stream and
 * socket, and WebSocket support for the /ws route.
 */
export default fp(
  async (app) => {
    const { config } = app
    const hub: TurnHub = app.redis
      ? await RedisTurnHub.connect({
        redis: app.redis,
        keyPrefix: config.redisKeyPrefix,
        bufferTtlMs: config.streaming.bufferTtlMs,
        // A turn has at most one message event per token, plus metadata, typing, complete, storage.
        maxEventsPerTurn: 2 * config.llm.maxTokens + 16,
        leaseMs: config.streaming.turnLeaseMs,
        archive: new StorageTurnArchive(app.storage, app.log),
        log: app.log,
      })
      : new MemoryTurnHub({ bufferTtlMs: config.streaming.bufferTtlMs })
    app.decorate('turnHub', hub)
    app.addHook('onClose', () => hub.close())
    const heartbeats = new Heartbeats(config.streaming.heartbeatMs)
    app.decorate('heartbeats', heartbeats)
    app.addHook('onClose', () => heartbeats.close())
    await app.register(websocket, {
      options: { maxPayload: config.limits.wsMaxPayloadBytes },
      // On shutdown new sockets are refused at once (Node drops upgrades nobody listens to), while
      // open ones stay until running turns drain, then get close code 1012 (plugins/conversation.ts).
      preClose: (done) => {
        app.server.removeAllListeners('upgrade')
        done()
      },
    })
  },
  { name: 'streaming', dependencies: ['config', 'redis', 'storage'] },
)
