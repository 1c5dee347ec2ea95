// The OpenAI-compatible facade's schemas: OpenAI's Chat Completions and Models shapes, as the
// animals speak them. Requests are validated strictly (an unknown or unsupported parameter is a
// 400 naming it, as OpenAI answers); responses are serialised from these; ChatCompletionChunk is
// what every streamed frame holds (test/openai-facade.test.ts checks each frame against it).
import { Type, type Static } from 'typebox'
import { Id, MAX_ID_LENGTH } from './common.ts'

/** Where the facade is mounted: every answer under it, errors included, is in OpenAI's shapes. */
export const OPENAI_PREFIX = '/v1'

/** Whether a request URL is the facade's (so its errors answer in OpenAI's envelope). */
export const isOpenAiUrl = (url: string) => url === OPENAI_PREFIX || url.startsWith(`${OPENAI_PREFIX}/`) || url.startsWith(`${OPENAI_PREFIX}?`)

const Integer = (description: string) => Type.Integer({ minimum: 0, description })

export const OpenAiErrorResponse = Type.Object(
  {
    error: Type.Object({
      message: Type.String({ description: 'what went wrong, naming the parameter where there is one' }),
      type: Type.String({ description: 'OpenAI\'s error type: invalid_request_error, requests, server_error, ...' }),
      code: Type.Union([Type.String(), Type.Null()], { description: 'e.g. model_not_found, invalid_api_key, rate_limit_exceeded, or the gateway\'s own error code' }),
      param: Type.Union([Type.String(), Type.Null()], { description: 'the request parameter at fault, e.g. model, messages[0].content, tools' }),
    }, { additionalProperties: false }),
  },
  { additionalProperties: false },
)
export type OpenAiErrorResponse = Static<typeof OpenAiErrorResponse>

/**
 * A /v1 route's own error answers, in OpenAI's envelope. Every one can answer 401 (the token),
 * 500 and 503 (storage); the framework's answers (400/414 for path parameters, 400/413/415 for
 * bodies, 429) are added by plugins/docs.ts, in the same envelope.
 */
const errors = (...statuses: number[]) =>
  Object.fromEntries([401, ...statuses, 500, 503].map((status) => [status, OpenAiErrorResponse]))

// --- Models ------------------------------------------------------------------------------------

export const OpenAiModel = Type.Object({
  id: Type.String({ description: 'the animalId: pass it as `model`' }),
  object: Type.Literal('model'),
  created: Integer('Unix seconds: when the animal was last written (0 when unknown)'),
  owned_by: Type.String(),
  name: Type.String({ description: 'the animal\'s own name, e.g. Leo' }),
  species: Type.String(),
}, { additionalProperties: false })

export const listModelsSchema = {
  tags: ['openai'],
  summary: 'Every animal as an OpenAI model (id = animalId)',
  response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(OpenAiModel) }), ...errors() },
}

export const getModelSchema = {
  tags: ['openai'],
  summary: 'One animal as an OpenAI model',
  // The router refuses a longer path segment with a 414 before the route runs (MAX_ID_LENGTH).
  params: Type.Object({ model: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }) }),
  response: { 200: OpenAiModel, ...errors(404) },
}

// --- Chat completions: the request -------------------------------------------------------------

/**
 * A message as clients send it. Only the last `user` message is read (the visitor's message);
 * `system`/`developer` messages never reach the model (the animal's persona and safety rules
 * stand), earlier turns come from the session's stored context. Extra fields clients echo back on
 * earlier messages (refusal, annotations, ...) are tolerated; tool messages and non-text content
 * parts are refused by the route, which names them.
 */
const ContentPart = Type.Object({ type: Type.String({ minLength: 1 }), text: Type.Optional(Type.String()) })
const ChatMessage = Type.Object({
  role: Type.Enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: Type.Optional(Type.Union([Type.String(), Type.Array(ContentPart), Type.Null()])),
  name: Type.Optional(Type.String()),
})

/**
 * Parameters the animals cannot honour, with the reason the 400 gives. Some are accepted at their
 * default value (n: 1, logprobs: false, ...): a parameter set to its default asks for nothing.
 */
export const UNSUPPORTED_PARAMETERS: Record<string, string> = {
  tools: 'the animals do not call tools',
  tool_choice: 'the animals do not call tools',
  parallel_tool_calls: 'the animals do not call tools',
  functions: 'the animals do not call functions',
  function_call: 'the animals do not call functions',
  n: 'an animal gives one answer at a time (n must be 1)',
  logprobs: 'log probabilities are not available',
  top_logprobs: 'log probabilities are not available',
  logit_bias: 'the gateway keeps the model\'s sampling',
  top_p: 'the gateway keeps the model\'s sampling (top_p must be 1)',
  presence_penalty: 'the gateway keeps the model\'s sampling (presence_penalty must be 0)',
  frequency_penalty: 'the gateway keeps the model\'s sampling (frequency_penalty must be 0)',
  seed: 'replies are not reproducible',
  stop: 'stop sequences are not supported',
  audio: 'the animals answer in text only',
  modalities: 'the animals answer in text only',
  response_format: 'the animals answer in plain text',
  prediction: 'predicted outputs are not supported',
  web_search_options: 'the animals do not search the web',
  reasoning_effort: 'the animal\'s model is chosen by the gateway',
  store: 'conversations are stored by the gateway itself',
  metadata: 'conversations are stored by the gateway itself',
  service_tier: 'the gateway chooses the upstream',
}

export const ChatCompletionRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256, description: 'the animalId, e.g. lion (GET /v1/models lists them)' }),
    messages: Type.Array(ChatMessage, { minItems: 1, maxItems: 1000, description: 'the last user message is the visitor\'s message' }),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    stream_options: Type.Optional(Type.Union([
      Type.Object({
        include_usage: Type.Optional(Type.Boolean({ description: 'a last chunk with usage and empty choices before [DONE]' })),
        include_obfuscation: Type.Optional(Type.Boolean({ description: 'accepted; chunks carry no obfuscation padding' })),
      }, { additionalProperties: false }),
      Type.Null(),
    ])),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()], { description: '0..2; default OPENAI_TEMPERATURE' })),
    max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'capped at OPENAI_MAX_TOKENS' })),
    max_completion_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'same as max_tokens (wins over it); capped at OPENAI_MAX_TOKENS' })),
    user: Type.Optional(Type.String({ maxLength: 256, description: 'accepted; the visitor is the token\'s sub (the upstream only ever sees a hash of it)' })),
    // Accepted at their defaults only (UNSUPPORTED_PARAMETERS says why).
    n: Type.Optional(Type.Union([Type.Literal(1), Type.Null()])),
    logprobs: Type.Optional(Type.Union([Type.Literal(false), Type.Null()])),
    top_p: Type.Optional(Type.Union([Type.Literal(1), Type.Null()])),
    presence_penalty: Type.Optional(Type.Union([Type.Literal(0), Type.Null()])),
    frequency_penalty: Type.Optional(Type.Union([Type.Literal(0), Type.Null()])),
  },
  { additionalProperties: false },
)
export type ChatCompletionRequest = Static<typeof ChatCompletionRequest>

export const ChatCompletionHeaders = Type.Object({
  'x-session-id': Type.Optional(Id('continue this session (the X-Session-Id of an earlier answer); omit to start a new one')),
  'idempotency-key': Type.Optional(Id('a retry with the same key returns (or re-streams) the same turn')),
})

// --- Chat completions: the answers -------------------------------------------------------------

const CompletionUsage = Type.Object({
  prompt_tokens: Integer('tokens sent to the model'),
  completion_tokens: Integer('tokens of the reply'),
  total_tokens: Integer('their sum'),
}, { additionalProperties: false })

const FinishReason = Type.Enum(['stop', 'length', 'content_filter'], {
  description: 'content_filter: the safety layer (or the provider\'s filter) replaced the reply with the animal\'s safe one',
})

export const ChatCompletion = Type.Object({
  id: Type.String({ pattern: '^chatcmpl-', description: 'chatcmpl-<turnId>' }),
  object: Type.Literal('chat.completion'),
  created: Integer('Unix seconds'),
  model: Type.String({ description: 'the animalId asked for' }),
  choices: Type.Array(Type.Object({
    index: Type.Literal(0),
    message: Type.Object({
      role: Type.Literal('assistant'),
      content: Type.String(),
      refusal: Type.Null(),
      annotations: Type.Array(Type.Unknown(), { maxItems: 0 }),
    }, { additionalProperties: false }),
    logprobs: Type.Null(),
    finish_reason: FinishReason,
  }, { additionalProperties: false }), { minItems: 1, maxItems: 1 }),
  usage: CompletionUsage,
}, { additionalProperties: false })
export type ChatCompletion = Static<typeof ChatCompletion>

/** One `data:` frame of a streamed answer, exactly as OpenAI sends them. */
export const ChatCompletionChunk = Type.Object({
  id: Type.String({ pattern: '^chatcmpl-' }),
  object: Type.Literal('chat.completion.chunk'),
  created: Integer('Unix seconds, the same on every chunk'),
  model: Type.String(),
  choices: Type.Array(Type.Object({
    index: Type.Literal(0),
    delta: Type.Object({
      role: Type.Optional(Type.Literal('assistant')),
      content: Type.Optional(Type.String()),
      refusal: Type.Optional(Type.Null()),
    }, { additionalProperties: false }),
    logprobs: Type.Null(),
    finish_reason: Type.Union([FinishReason, Type.Null()]),
  }, { additionalProperties: false }), { maxItems: 1, description: 'empty in the usage chunk' }),
  usage: Type.Optional(Type.Union([CompletionUsage, Type.Null()], { description: 'with stream_options.include_usage: null, except on the last chunk' })),
}, { additionalProperties: false })
export type ChatCompletionChunk = Static<typeof ChatCompletionChunk>

export const chatCompletionSchema = {
  tags: ['openai'],
  summary: 'Talk to an animal in OpenAI\'s Chat Completions format (model = animalId); streams chat.completion.chunk frames with stream: true',
  description:
    'The answer carries the session in X-Session-Id; send it back to continue the conversation. ' +
    'With stream: true the answer is Server-Sent Events: `data: <ChatCompletionChunk>` frames, then `data: [DONE]`; ' +
    'a client that disconnects cancels the turn (its partial reply is stored as cancelled).',
  body: ChatCompletionRequest,
  headers: ChatCompletionHeaders,
  response: {
    200: {
      description: 'A chat.completion (JSON), or with stream: true a text/event-stream of chat.completion.chunk frames',
      content: {
        'application/json': { schema: ChatCompletion },
        'text/event-stream': { schema: ChatCompletionChunk },
      },
    },
    // 404: an unknown model or session; 409: an Idempotency-Key in use; 429: the turn budget; 502: the model failed.
    ...errors(400, 404, 409, 429, 502),
  },
}
