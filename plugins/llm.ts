import fp from 'fastify-plugin'
import type { LlmProvider } from '../src/core/ports.ts'
import { createLlmProvider } from '../src/llm/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    llm: LlmProvider
  }
}

/** The model: the OpenAI-compatible upstream when OPENAI_API_KEY is set, else the offline responder. */
export default fp(
  async (app) => {
    app.decorate('llm', createLlmProvider(app.config, app.log))
  },
  { name: 'llm', dependencies: ['config'] },
)
