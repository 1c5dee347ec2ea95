import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { AppError, badRequest, httpError, type ErrorCode } from '../src/core/errors.ts'

/**
 * The one place errors become HTTP answers: `{ error, message, retryable }` (httpError, the same
 * translation SSE and WebSocket use). Client mistakes keep their 4xx and a message naming the
 * field; anything unexpected is logged and answers a plain 500.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const { status, body } = httpError(asAppError(err))
      if (status >= 500) {
        if (err instanceof AppError) request.log.warn({ err }, err.message)
        else request.log.error({ err }, 'unhandled error')
      }
      return reply.code(status).send(body)
    })
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` })
    })
  },
  { name: 'errors' },
)

/** Fastify's own errors in our terms; anything else that is not an AppError stays as it is (a 500). */
export function asAppError(err: FastifyError): unknown {
  if (err instanceof AppError) return err
  if (err.validation) return badRequest(describeValidationError(err))
  const status = err.statusCode ?? 500
  // Fastify's own client errors (malformed JSON, body too large, ...) get our codes, not FST_ERR_*.
  if (status < 500) return new AppError(CLIENT_ERROR_CODES[status] ?? 'bad_request', err.message)
  return err
}

const CLIENT_ERROR_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

/** "body.message must not have fewer than 1 characters", "body.animalId is required". */
function describeValidationError(err: FastifyError): string {
  // TypeBox reports an unknown field twice, first as a bare "schema is false": name it instead.
  const first = err.validation!.find((e) => e.keyword === 'additionalProperties') ?? err.validation![0]
  const params = first.params as { requiredProperties?: string[]; missingProperty?: string; additionalProperties?: string[]; additionalProperty?: string }
  const field = `${err.validationContext ?? 'request'}${first.instancePath.replaceAll('/', '.')}`
  const missing = params.requiredProperties?.[0] ?? params.missingProperty
  if (missing) return `${field}.${missing} is required`
  const extra = params.additionalProperties?.[0] ?? params.additionalProperty
  if (extra) return `${field}.${extra} is not allowed`
  return `${field} ${first.message}`
}
