import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { ErrorResponse } from '../schemas/common.ts'
import { OpenAiErrorResponse, isOpenAiUrl } from '../schemas/openai.ts'
import { UNLIMITED_ROUTES } from './rate-limit.ts'

type Responses = Record<string, unknown>

/**
 * OpenAPI document generated from the route schemas, served with Swagger UI at /docs. Routes
 * declare what they answer themselves; the answers the framework gives on any route are added
 * here, so they are documented wherever they can happen, on routes added later too:
 * 400 and 414 where there are path parameters (an undecodable or over-long segment),
 * 400, 413 and 415 where a body may be sent, 429 wherever the per-IP rate limit applies.
 * They are in the route's own error envelope: OpenAI's on the facade (/v1), ours elsewhere.
 * Public routes declare `security: []` in their schema, so Swagger UI shows them without a lock.
 */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Animal chat gateway',
          version: '1',
          description:
            'Errors are `{ error, message, retryable }`, except on the OpenAI-compatible facade (/v1), which answers in OpenAI\'s ' +
            '`{ error: { message, type, code, param } }`. The reference: docs/api.md in the repository.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        security: [{ bearer: [] }],
      },
      transform: ({ schema, url, route }) => {
        if (!schema || schema.hide) return { schema, url }
        const methods = [route.method].flat()
        const error = isOpenAiUrl(url) ? OpenAiErrorResponse : ErrorResponse
        const added: Responses = {}
        if (/[:*]/.test(url)) Object.assign(added, { 400: error, 414: error })
        if (methods.some((method) => method === 'POST' || method === 'PUT' || method === 'DELETE')) {
          Object.assign(added, { 400: error, 413: error, 415: error })
        }
        if (!UNLIMITED_ROUTES.has(url)) added[429] = error
        return { schema: { ...schema, response: { ...added, ...(schema.response as Responses | undefined) } }, url }
      },
    })
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      // Swagger UI sets style attributes as it renders (no inline script): on its pages only,
      // styles may be inline. Every other page keeps style-src 'self'.
      transformStaticCSP: (csp) => csp.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
    })
  },
  { name: 'docs' },
)
