import { Type, type TSchema } from 'typebox'

export const ErrorResponse = Type.Object(
  {
    error: Type.String({ description: 'machine-readable code, e.g. bad_request, not_found' }),
    message: Type.String({ description: 'what went wrong, naming the field where there is one' }),
    retryable: Type.Optional(Type.Boolean()),
  },
  { $id: 'ErrorResponse' },
)

export const UsageSchema = Type.Object({
  promptTokens: Type.Integer({ minimum: 0 }),
  completionTokens: Type.Integer({ minimum: 0 }),
  totalTokens: Type.Integer({ minimum: 0 }),
  estimated: Type.Optional(Type.Boolean({ description: 'true when the upstream sent no usage and it was estimated' })),
})

/** The longest id; also the router's maxParamLength (src/app.ts), so a longer path segment is a 414. */
export const MAX_ID_LENGTH = 128

// Not only dots: `.` and `..` in a URL path are dot segments, which clients remove (`...` is fine).
export const Id = (description: string) => Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: '^([A-Za-z0-9_.:-]*[A-Za-z0-9_:-][A-Za-z0-9_.:-]*|\\.{3,})$', description })

/** The usual error answers every authenticated route can give. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  429: ErrorResponse,
  503: ErrorResponse,
}

/** For a public route's schema: no token needed, so no lock in the OpenAPI document. */
export const noToken = { security: [] as never[] }

/** A response documented in several content types (OpenAPI `content`), e.g. JSON or SSE. */
export function inContentTypes(description: string, types: Record<string, TSchema>) {
  return { description, content: Object.fromEntries(Object.entries(types).map(([type, schema]) => [type, { schema }])) }
}

export const EventStream = Type.String({
  description: 'Server-Sent Events: `id: <turnId>:<seq>`, `event: <type>`, `data: <json>` per event (metadata, typing, message, complete, storage, replace, error), and `:` comment heartbeats',
})
