// Errors in OpenAI's envelope, `{ error: { message, type, code, param } }`, for the /v1 routes and
// for `error` events in a streamed answer. The status and the codes come from the one table
// (ERROR_CODES in src/core/errors.ts); this adds OpenAI's `type` for each code, and OpenAI's own
// code where clients look for a well-known one (model_not_found, invalid_api_key,
// rate_limit_exceeded). Every other code is sent as it is, so nothing is invented here.
import { AppError, errorData, httpStatus, type ErrorCode, type ErrorData } from '../core/errors.ts'
import type { OpenAiErrorResponse } from '../../schemas/openai.ts'

type OpenAiErrorType = 'invalid_request_error' | 'request_forbidden' | 'requests' | 'server_error'

/** OpenAI's error type for each code (a new code is a compile error until it has one). */
const OPENAI_ERROR_TYPES = {
  bad_request: 'invalid_request_error',
  unauthorized: 'invalid_request_error',
  token_expired: 'invalid_request_error',
  forbidden: 'request_forbidden',
  not_found: 'invalid_request_error',
  not_running: 'invalid_request_error',
  turn_unavailable: 'invalid_request_error',
  cancelled: 'invalid_request_error',
  conflict: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  rate_limited: 'requests',
  too_many_turns: 'requests',
  client_closed_request: 'invalid_request_error',
  method_not_allowed: 'invalid_request_error',
  request_timeout: 'invalid_request_error',
  uri_too_long: 'invalid_request_error',
  upgrade_required: 'invalid_request_error',
  headers_too_large: 'invalid_request_error',
  internal: 'server_error',
  upstream_failed: 'server_error',
  upstream_rate_limited: 'server_error',
  storage_failed: 'server_error',
  storage_unavailable: 'server_error',
  shutting_down: 'server_error',
  hub_unavailable: 'server_error',
  interrupted: 'server_error',
} as const satisfies Record<ErrorCode, OpenAiErrorType>

/** OpenAI's well-known codes, where ours means the same. */
const OPENAI_CODES: Partial<Record<ErrorCode, string>> = {
  unauthorized: 'invalid_api_key',
  rate_limited: 'rate_limit_exceeded',
}

/** The core's turn input fields under their OpenAI names. */
const PARAMS: Record<string, string> = { animalId: 'model', message: 'messages', sessionId: 'X-Session-Id', clientTurnId: 'Idempotency-Key' }

/**
 * A request the facade refuses in OpenAI's terms: `param` names the parameter, `openAiCode` is
 * OpenAI's code for the mistake. Still a bad_request for the core's table (status 400).
 */
export class OpenAiRequestError extends AppError {
  readonly openAiCode: 'invalid_value' | 'unsupported_parameter' | 'unsupported_value' | 'unknown_parameter' | 'missing_required_parameter'
  constructor(param: string, message: string, openAiCode: OpenAiRequestError['openAiCode']) {
    super('bad_request', message, { field: param })
    this.name = 'OpenAiRequestError'
    this.openAiCode = openAiCode
  }
}

/** The OpenAI error body for an error data (an `error` event's, or errorData()'s) and its field. */
export function openAiErrorBody(data: ErrorData, field?: string, openAiCode?: string): OpenAiErrorResponse {
  const param = field === undefined ? null : (PARAMS[field] ?? field)
  const code = openAiCode ?? (data.code === 'not_found' && param === 'model' ? 'model_not_found' : (OPENAI_CODES[data.code] ?? data.code))
  return { error: { message: data.message, type: OPENAI_ERROR_TYPES[data.code], code, param } }
}

/** Any error as an HTTP answer of the facade: ERROR_CODES' status and OpenAI's body. */
export function openAiHttpError(err: unknown): { status: number; body: OpenAiErrorResponse } {
  const data = errorData(err)
  const field = err instanceof AppError ? err.field : undefined
  const openAiCode = err instanceof OpenAiRequestError ? err.openAiCode : undefined
  return { status: httpStatus(data.code), body: openAiErrorBody(data, field, openAiCode) }
}
