// The OpenTelemetry GenAI semantic-convention names this gateway reports under. They are still
// "incubating" upstream, and the OpenTelemetry project asks users to copy incubating names rather
// than import them (they may change between releases); test/otel.test.ts checks every one against
// @opentelemetry/semantic-conventions/incubating, so a rename upstream shows up as a failing test.

export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
  conversationId: 'gen_ai.conversation.id',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  tokenType: 'gen_ai.token.type',
} as const

export const GEN_AI_METRIC = {
  tokenUsage: 'gen_ai.client.token.usage',
  operationDuration: 'gen_ai.client.operation.duration',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
} as const

export const ERROR_TYPE = 'error.type'

/** The operations: a model call is `chat`; a whole turn is the animal (an agent) being invoked. */
export const OPERATION = { chat: 'chat', invokeAgent: 'invoke_agent' } as const

/** Bucket boundaries the conventions advise for these histograms. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
export const SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
