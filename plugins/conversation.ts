import fp from 'fastify-plugin'
import { AccessControl } from '../src/core/access.ts'
import { ConversationEngine } from '../src/core/engine.ts'

declare module 'fastify' {
  interface FastifyInstance {
    engine: ConversationEngine
    access: AccessControl
  }
}

/** The conversation engine and the access policy, wired to storage, the model and the hub. */
export default fp(
  async (app) => {
    const { config } = app
    const engine = new ConversationEngine({
      storage: app.storage,
      llm: app.llm,
      hub: app.turnHub,
      log: app.log,
      contextMessages: config.llm.contextMessages,
      maxConcurrentTurnsPerUser: config.limits.concurrentTurnsPerUser,
    })
    app.decorate('engine', engine)
    app.decorate('access', new AccessControl(app.storage, engine))
    // Runs before storage closes (onClose hooks run in reverse order): running turns finish and are stored.
    app.addHook('onClose', () => engine.drain(config.streaming.shutdownGraceMs))
  },
  { name: 'conversation', dependencies: ['config', 'storage', 'llm', 'streaming'] },
)
