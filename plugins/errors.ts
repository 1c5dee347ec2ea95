import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AppError, badRequest, httpError, type ErrorCode } from '../src/core/errors.ts'
import { REQUEST_ID_HEADER } from '../src/request-id.ts'
import { MAX_ID_LENGTH } from '../schemas/common.ts'
import { isOpenAiUrl } from '../schemas/openai.ts'
import { openAiHttpError } from '../src/streaming/openai-errors.ts'

/**
 * The one place errors become HTTP answers: `{ error, message, retryable }` (httpError, the same
 * translation SSE and WebSocket use). Client mistakes keep their 4xx and a message naming the
 * field or saying what to send; anything unexpected is logged and answers a plain 500. Fastify's
 * own client errors (bad JSON, body too large, wrong media type, bad URL, an over-long path
 * segment, unknown route or method) and the HTTP parser's (431) answer in the same shape: see
 * frameworkErrors and clientErrorHandler, passed to Fastify(). The OpenAI-compatible facade
 * (src/routes/openai.ts) has its own handlers, in OpenAI's envelope; frameworkErrors, which runs
 * before any route, answers its URLs in that envelope too.
 */
export default fp(
  async (app) => {
    const { bodyLimitBytes } = app.config.limits
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const { status, body } = httpError(asAppError(err, request, bodyLimitBytes))
      logServerError(request, err, status)
      return reply.code(status).send(body)
    })

    // Every routed path and its methods, so an existing path with another method is a 405, not a 404.
    const routes: Array<{ path: RegExp; methods: string[] }> = []
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat().filter((method) => method !== 'OPTIONS') // CORS answers OPTIONS everywhere
      if (methods.length > 0 && route.url !== '*') routes.push({ path: routePattern(route.url), methods })
    })
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!
      const allowed = [...new Set(routes.filter((route) => route.path.test(path)).flatMap((route) => route.methods))]
      if (allowed.length > 0) {
        return send(reply.header('allow', allowed.join(', ')), new AppError('method_not_allowed', `${request.method} is not a method of ${path}: use ${allowed.join(', ')}`))
      }
      return send(reply, new AppError('not_found', `Route ${request.method} ${path} not found: the routes are listed at /docs`))
    })
  },
  { name: 'errors', dependencies: ['config'] },
)

function send(reply: FastifyReply, err: AppError) {
  const { status, body } = httpError(err)
  return reply.code(status).send(body)
}

/** A 5xx answer is logged once, by the error handler that wrote it (ours, or the /v1 routes'). */
export function logServerError(request: FastifyRequest, err: unknown, status: number): void {
  if (status < 500) return
  // A draining instance refuses every request: that is no news worth a line each.
  if (err instanceof AppError && err.code === 'shutting_down') return
  if (err instanceof AppError) request.log.warn({ err }, err.message)
  else request.log.error({ err }, 'unhandled error')
}

/** Fastify's own errors in our terms; anything else that is not an AppError stays as it is (a 500). */
export function asAppError(err: FastifyError, request: FastifyRequest, bodyLimitBytes: number): unknown {
  if (err instanceof AppError) return err
  if (err.validation) return badRequest(describeValidationError(err))
  const status = err.statusCode ?? 500
  // Fastify's own client errors (malformed JSON, body too large, ...) get our codes, not FST_ERR_*.
  if (status < 500) return new AppError(CLIENT_ERROR_CODES[status] ?? 'bad_request', frameworkMessage(err, request, bodyLimitBytes))
  return err
}

const CLIENT_ERROR_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  404: 'not_found',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

/** Fastify's wording, replaced where it would not tell a client what to send instead. */
function frameworkMessage(err: FastifyError, request: FastifyRequest, bodyLimitBytes: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type']
      return `${type ? `Content-Type '${type}' is not accepted` : 'The body has no Content-Type'}: send a JSON body with Content-Type: application/json`
    }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `The body is larger than ${bodyLimitBytes} bytes (BODY_LIMIT_BYTES): send less`
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'The body is not valid JSON: send a JSON object with Content-Type: application/json'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The body is empty but Content-Type is application/json: send a JSON object, or no Content-Type'
    default:
      return err.message
  }
}

/**
 * Fastify's `frameworkErrors` option: a path it cannot decode (`/animals/%ZZ`) and a path segment
 * longer than any id, before any route or hook has run (hence the request id set here).
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header(REQUEST_ID_HEADER, request.id)
  const error = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? new AppError('uri_too_long', `A path segment is longer than ${MAX_ID_LENGTH} characters: ids are 1..${MAX_ID_LENGTH} of A-Z a-z 0-9 _ . : -`)
    : badRequest('The URL is not valid: percent-encode reserved characters (e.g. %25 for %)')
  // No route has run, so the facade's own error handler cannot: its clients get OpenAI's envelope here.
  if (!isOpenAiUrl(request.url)) return void send(reply, error)
  const { status, body } = openAiHttpError(error)
  reply.code(status).send(body)
}

/** Fastify's `clientErrorHandler` option: errors of the HTTP parser, before there is a request. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { status, body } = httpError(err.code === 'HPE_HEADER_OVERFLOW'
    ? new AppError('headers_too_large', 'The request headers are larger than 16 KiB: send a shorter Authorization header and fewer or smaller headers')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('request_timeout', 'The request took too long to arrive: send it again')
      : badRequest('The request is not valid HTTP/1.1'))
  const text = JSON.stringify(body)
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`)
  }
  socket.destroy(err)
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }

/** '/animals/:animalId' → /^\/animals\/[^/]+$/; '/docs/*' → /^\/docs\/.*$/ */
function routePattern(url: string): RegExp {
  const source = url.split('/').map((segment) =>
    segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/')
  return new RegExp(`^${source}$`)
}

/**
 * "body.message must NOT have fewer than 1 characters", "body.animalId is required",
 * "querystring.format must be one of json, csv, md".
 */
function describeValidationError(err: FastifyError): string {
  // TypeBox reports an unknown field twice, first as a bare "schema is false": name it instead.
  const first = err.validation!.find((e) => e.keyword === 'additionalProperties') ?? err.validation![0]
  const params = first.params as {
    requiredProperties?: string[]; missingProperty?: string; additionalProperties?: string[]; additionalProperty?: string
    allowedValues?: unknown[]
  }
  const field = `${err.validationContext ?? 'request'}${first.instancePath.replaceAll('/', '.')}`
  const missing = params.requiredProperties?.[0] ?? params.missingProperty
  if (missing) return `${field}.${missing} is required`
  const extra = params.additionalProperties?.[0] ?? params.additionalProperty
  if (extra) return `${field}.${extra} is not allowed`
  if (params.allowedValues) return `${field} must be one of ${params.allowedValues.join(', ')}`
  return `${field} ${first.message}`
}
