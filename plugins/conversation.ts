import fp from 'fastify-plugin'
import { AccessControl } from '../src/core/access.ts'
import { ConversationEngine } from '../src/core/engine.ts'
import { SafetyLayer } from '../src/core/safety/layer.ts'
import { MemoryTurnSlots } from '../src/core/turn-slots.ts'
import { TurnService } from '../src/core/turns.ts'
import { RedisTurnSlots } from '../src/limits/redis-turn-slots.ts'
import { OpenAiModeration } from '../src/llm/openai-moderation.ts'

declare module 'fastify' {
  interface FastifyInstance {
    engine: ConversationEngine
    access: AccessControl
    /** The turn use cases every transport calls: start, follow, cancel. */
    turns: TurnService
  }
}

/** The conversation engine, the access policy and the turn API, wired to storage, the model, the hub and the safety alerts. */
export default fp(
  async (app) => {
    const { config } = app
    const { safety } = config
    const moderation = safety.moderation === 'openai' && config.llm.apiKey
      ? new OpenAiModeration({ apiKey: config.llm.apiKey, baseURL: config.llm.baseURL })
      : undefined
    // The per-user cap is shared by every instance through Redis (REDIS_URL), else per instance.
    const turnSlots = app.redis ? new RedisTurnSlots({ redis: app.redis, keyPrefix: config.redisKeyPrefix, log: app.log, leaseMs: config.streaming.turnLeaseMs }) : new MemoryTurnSlots()
    app.addHook('onClose', () => turnSlots.close())
    const engine = new ConversationEngine({
      storage: app.storage,
      llm: app.llm,
      hub: app.turnHub,
      log: app.log,
      contextMessages: config.llm.contextMessages,
      maxConcurrentTurnsPerUser: config.limits.concurrentTurnsPerUser,
      turnSlots,
      safety: new SafetyLayer({
        helpText: safety.helpText, moderation, moderationTimeoutMs: safety.moderationTimeoutMs,
        identifierSecret: safety.identifierSecret ?? config.auth.secret, log: app.log,
      }),
      onSafetyFlags: (turn) => app.safetyAlerts.turnFlagged(turn),
    })
    const access = new AccessControl(app.storage, engine)
    app.decorate('engine', engine)
    app.decorate('access', access)
    app.decorate('turns', new TurnService(engine, access))
  },
  { name: 'conversation', dependencies: ['config', 'redis', 'storage', 'llm', 'streaming', 'safety-alerts'] },
)
