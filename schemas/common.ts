import { Type } from 'typebox'

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

export const Id = (description: string) => Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$', description })

/** The usual error answers every authenticated route can give. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  429: ErrorResponse,
  503: ErrorResponse,
}
