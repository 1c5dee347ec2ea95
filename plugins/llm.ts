import fp from 'fastify-plugin'
import type { LlmProvider } from '../src/core/ports.ts'
import { createLlmProvider } from '../src/llm/index.ts'
import { MeteredProvider } from '../src/llm/metered.ts'

declare module 'fastify' {
  interface FastifyInstance {
    llm: LlmProvider
  }
}

/**
 * The model: the OpenAI-compatible upstream when OPENAI_API_KEY is set, else the offline
 * responder; its replies are counted and timed for /metrics.
 */
export default fp(
  async (app) => {
    app.decorate('llm', new MeteredProvider(createLlmProvider(app.config, app.log), app.metricsRegistry))
  },
  { name: 'llm', dependencies: ['config', 'metrics'] },
)
