// The OpenAI-compatible facade under /v1: every animal is a model. The routes translate OpenAI's
// Chat Completions requests into the turn API (app.turns) and its events back through the OpenAI
// encoder (src/streaming/openai-chunks.ts); every error, the auth hook's 401 included, answers in
// OpenAI's envelope through this context's own error handler.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError } from 'fastify'
import { AppError } from '../core/errors.ts'
import type { TurnInput } from '../core/engine.ts'
import type { Animal, Sampling } from '../core/types.ts'
import {
  UNSUPPORTED_PARAMETERS, chatCompletionSchema, getModelSchema, listModelsSchema, type ChatCompletionRequest,
} from '../../schemas/openai.ts'
import { asAppError, logServerError } from '../../plugins/errors.ts'
import { turnResult } from '../streaming/json.ts'
import { chatCompletion, streamChatCompletion } from '../streaming/openai-chunks.ts'
import { OpenAiRequestError, openAiHttpError } from '../streaming/openai-errors.ts'

const OWNED_BY = 'zoo'

const openAiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, body } = openAiHttpError(err.validation ? openAiValidationError(err) : asAppError(err, request, app.config.limits.bodyLimitBytes))
    logServerError(request, err, status)
    return reply.code(status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    const message = `Unknown request URL: ${request.method} ${request.url.split('?')[0]}`
    reply.code(404).send({ error: { message, type: 'invalid_request_error', code: 'unknown_url', param: null } })
  })

  app.get('/models', { schema: listModelsSchema }, async () => ({
    object: 'list' as const,
    data: (await app.storage.listAnimals()).map(asModel),
  }))

  app.get('/models/:model', { schema: getModelSchema }, async (request) => {
    const animal = await app.storage.getAnimal(request.params.model)
    if (!animal) throw new AppError('not_found', `The model '${request.params.model}' does not exist`, { field: 'animalId' })
    return asModel(animal)
  })

  app.post('/chat/completions', { schema: chatCompletionSchema, preHandler: app.turnRateLimit }, async (request, reply) => {
    const { body, caller } = request
    if (body.stream_options && !body.stream) {
      throw new OpenAiRequestError('stream_options', 'The \'stream_options\' parameter is only allowed when \'stream\' is enabled', 'invalid_value')
    }
    const input: TurnInput = {
      animalId: body.model,
      message: visitorMessage(body.messages),
      sessionId: request.headers['x-session-id'],
      clientTurnId: request.headers['idempotency-key'],
      sampling: sampling(body),
    }
    const stream = await app.turns.start(caller, input)
    reply.header('x-session-id', stream.sessionId)
    if (!body.stream) return chatCompletion(await turnResult(stream))

    reply.hijack()
    await streamChatCompletion(reply.raw, stream, {
      heartbeats: app.heartbeats,
      maxBufferedBytes: app.config.streaming.maxBufferedBytes,
      includeUsage: body.stream_options?.include_usage === true,
      headers: reply.getHeaders(),
      // OpenAI clients stop generation by hanging up; the partial reply is stored as cancelled.
      onClientGone: () => {
        app.turns.cancel(caller, stream.turnId).catch((err) => {
          if (!(err instanceof AppError && err.code === 'not_running')) request.log.warn({ err, turnId: stream.turnId }, 'cancel after disconnect failed')
        })
      },
    }).catch((err) => request.log.error({ err }, 'chat completion stream failed'))
  })
}

export default openAiRoutes

function asModel(animal: Animal) {
  return {
    id: animal.animalId,
    object: 'model' as const,
    created: animal.updatedAt ? Math.floor(Date.parse(animal.updatedAt) / 1000) : 0,
    owned_by: OWNED_BY,
    name: animal.name,
    species: animal.species,
  }
}

/**
 * The visitor's message: the text of the last `user` message. The client's `system` and
 * `developer` messages are ignored (the animal's persona and safety rules stand), and so are its
 * earlier turns (the session's stored context is the animal's memory; a client could write
 * anything into an assistant message). Tool messages and non-text parts are refused, not dropped.
 */
function visitorMessage(messages: ChatCompletionRequest['messages']): string {
  messages.forEach((message, i) => {
    if (message.role === 'tool' || message.role === 'function') {
      throw new OpenAiRequestError(`messages[${i}].role`, `messages[${i}].role '${message.role}' is not supported: the animals do not call tools`, 'unsupported_value')
    }
    if (!Array.isArray(message.content)) return
    message.content.forEach((part, j) => {
      if (part.type !== 'text') {
        throw new OpenAiRequestError(`messages[${i}].content[${j}].type`, `messages[${i}].content[${j}]: '${part.type}' content is not supported: the animals read text only`, 'unsupported_value')
      }
    })
  })
  const last = messages.findLastIndex((message) => message.role === 'user')
  if (last < 0) throw new OpenAiRequestError('messages', 'messages must contain a user message (the visitor\'s message)', 'invalid_value')
  const { content } = messages[last]
  if (typeof content === 'string') return content
  return (content ?? []).map((part) => part.text ?? '').join('\n')
}

function sampling(body: ChatCompletionRequest): Sampling | undefined {
  const temperature = body.temperature ?? undefined
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined
  return temperature === undefined && maxTokens === undefined ? undefined : { temperature, maxTokens }
}

/**
 * A schema violation in OpenAI's words, naming the parameter: `messages[0].content`, `tools`.
 * Unsupported parameters say why (UNSUPPORTED_PARAMETERS); unknown ones are "unrecognized".
 */
function openAiValidationError(err: FastifyError): OpenAiRequestError {
  const first = err.validation!.find((e) => e.keyword === 'additionalProperties') ?? err.validation![0]
  const params = first.params as { requiredProperties?: string[]; missingProperty?: string; additionalProperties?: string[]; additionalProperty?: string }
  const path = first.instancePath.split('/').slice(1).reduce((to, key) => (/^\d+$/.test(key) ? `${to}[${key}]` : to ? `${to}.${key}` : key), '')
  const at = (key: string) => (path ? `${path}.${key}` : key)
  const missing = params.requiredProperties?.[0] ?? params.missingProperty
  if (missing) return new OpenAiRequestError(at(missing), `Missing required parameter: '${at(missing)}'`, 'missing_required_parameter')
  const extra = params.additionalProperties?.[0] ?? params.additionalProperty
  if (extra) {
    const reason = path === '' ? UNSUPPORTED_PARAMETERS[extra] : undefined
    return reason
      ? new OpenAiRequestError(extra, `'${extra}' is not supported: ${reason}`, 'unsupported_parameter')
      : new OpenAiRequestError(at(extra), `Unrecognized request argument supplied: ${at(extra)}`, 'unknown_parameter')
  }
  const param = path || (err.validationContext ?? 'request')
  const reason = UNSUPPORTED_PARAMETERS[param]
  return reason
    ? new OpenAiRequestError(param, `Invalid value for '${param}': ${reason}`, 'unsupported_value')
    : new OpenAiRequestError(param, `Invalid value for '${param}': ${first.message}`, 'invalid_value')
}
