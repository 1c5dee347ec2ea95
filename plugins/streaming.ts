import websocket from '@fastify/websocket'
import fp from 'fastify-plugin'
import type { TurnHub } from '../src/core/ports.ts'
import { StorageTurnArchive } from '../src/core/turn-archive.ts'
import { MemoryTurnHub } from '../src/core/turn-hub.ts'
import { Heartbeats } from '../src/streaming/heartbeats.ts'
import { RedisTurnHub } from '../src/streaming/redis-hub.ts'
import type { KioskSocket } from '../src/streaming/ws-session.ts'

declare module 'fastify' {
  interface FastifyInstance {
    turnHub: TurnHub
    heartbeats: Heartbeats
    /** Every open /ws socket (src/routes/ws.ts adds and removes them): a drain tells each to reconnect elsewhere. */
    kioskSockets: Set<KioskSocket>
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
    app.decorate('kioskSockets', new Set<KioskSocket>())
    await app.register(websocket, {
      options: { maxPayload: config.limits.wsMaxPayloadBytes },
      // Open sockets were closed by the drain (plugins/shutdown.ts), which also answered upgrades
      // with shutting_down; once the app closes, upgrades are dropped (nobody listens to them).
      preClose: (done) => {
        app.server.removeAllListeners('upgrade')
        done()
      },
    })
  },
  { name: 'streaming', dependencies: ['config', 'redis', 'storage'] },
)
