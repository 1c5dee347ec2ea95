// Errors that carry their meaning. Thrown by the core and adapters; every transport turns them
// into the same `{ code, message, retryable }` shape with errorData() (HTTP bodies, SSE and
// WebSocket `error` events alike), and HTTP takes the status from the one table below.

/**
 * Every error code a client can see, with its HTTP status and whether sending again may help.
 * The one list: the `error` event's `code`, the HTTP `error` field and the status all come from here.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, retryable: false },
  unauthorized: { status: 401, retryable: false },
  token_expired: { status: 401, retryable: false },
  forbidden: { status: 403, retryable: false },
  not_found: { status: 404, retryable: false },
  /** A known path with a method it does not have (the answer's Allow header lists them). */
  method_not_allowed: { status: 405, retryable: false },
  request_timeout: { status: 408, retryable: true },
  /** A cancel for a turn that has already ended (or never ran here). */
  not_running: { status: 409, retryable: false },
  /** A turn that cannot be followed right now (its key is being taken over, its log is gone). */
  turn_unavailable: { status: 409, retryable: true },
  cancelled: { status: 409, retryable: false },
  conflict: { status: 409, retryable: false },
  payload_too_large: { status: 413, retryable: false },
  /** A path segment longer than any id. */
  uri_too_long: { status: 414, retryable: false },
  unsupported_media_type: { status: 415, retryable: false },
  /** A plain GET on the WebSocket route. */
  upgrade_required: { status: 426, retryable: false },
  rate_limited: { status: 429, retryable: true },
  too_many_turns: { status: 429, retryable: true },
  headers_too_large: { status: 431, retryable: false },
  /** nginx's convention: the client went away before the answer was ready (nobody reads it). */
  client_closed_request: { status: 499, retryable: true },
  internal: { status: 500, retryable: true },
  upstream_failed: { status: 502, retryable: true },
  upstream_rate_limited: { status: 503, retryable: true },
  storage_failed: { status: 503, retryable: true },
  storage_unavailable: { status: 503, retryable: true },
  shutting_down: { status: 503, retryable: true },
  /** The shared turn state (Redis) is unreachable: turns of other instances cannot be followed, cancelled or retried now. */
  hub_unavailable: { status: 503, retryable: true },
  /** The instance producing the turn died; the partial reply is stored as failed. */
  interrupted: { status: 503, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>

export type ErrorCode = keyof typeof ERROR_CODES

/** The wire shape of an error: the `error` event's data; HTTP sends it as `{ error: code, message, retryable }`. */
export interface ErrorData {
  code: ErrorCode
  message: string
  retryable: boolean
}

export function httpStatus(code: ErrorCode): number {
  return ERROR_CODES[code].status
}

export class AppError extends Error {
  /** Machine-readable code, also used as the `code` of `error` events. */
  readonly code: ErrorCode
  readonly retryable: boolean
  /**
   * The turn input field the error is about (`animalId`, `sessionId`, `message`), when there is
   * one: a transport with its own names for them (the OpenAI facade's `param`) translates it.
   */
  readonly field: string | undefined

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown; field?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable
    this.field = options.field
  }

  /** The HTTP status, from ERROR_CODES. */
  get statusCode(): number {
    return httpStatus(this.code)
  }

  /** The error an `error` event stands for (a JSON caller gets it thrown). */
  static fromData(data: ErrorData): AppError {
    return new AppError(data.code, data.message, { retryable: data.retryable })
  }
}

export const notFound = (what: string, field?: string) => new AppError('not_found', `${what} not found`, { field })
export const forbidden = (message = 'Your role may not do this') => new AppError('forbidden', message)
export const badRequest = (message: string, field?: string) => new AppError('bad_request', message, { field })
export const unauthorized = (message: string) => new AppError('unauthorized', message)
/** The server is draining: whatever the request, it should go to another instance (or here again, after the restart). */
export const shuttingDown = () => new AppError('shutting_down', 'The server is restarting; please send again')

/** What a client is told when something unexpected failed: no internals. */
export const INTERNAL_ERROR: ErrorData = { code: 'internal', message: 'Something went wrong on our side', retryable: true }

/**
 * The one translation of an error into its wire shape, for every transport. AppErrors keep
 * their code and message; anything else is `internal` (the caller logs it, the client learns nothing).
 */
export function errorData(err: unknown): ErrorData {
  if (err instanceof AppError) return { code: err.code, message: err.message, retryable: err.retryable }
  return INTERNAL_ERROR
}

/** The HTTP form of errorData(): the status from ERROR_CODES and the body `{ error, message, retryable }`. */
export function httpError(err: unknown): { status: number; body: { error: ErrorCode; message: string; retryable: boolean } } {
  const { code, message, retryable } = errorData(err)
  return { status: httpStatus(code), body: { error: code, message, retryable } }
}

export class StorageUnavailableError extends AppError {
  constructor(message = 'Storage is unavailable, please retry shortly', options?: { cause?: unknown }) {
    super('storage_unavailable', message, { cause: options?.cause })
    this.name = 'StorageUnavailableError'
  }
}

/** The model upstream failed. `rateLimited` maps to 503, anything else to 502. */
export class UpstreamError extends AppError {
  readonly rateLimited: boolean
  constructor(message: string, options: { rateLimited?: boolean; cause?: unknown } = {}) {
    super(options.rateLimited ? 'upstream_rate_limited' : 'upstream_failed', message, { cause: options.cause })
    this.name = 'UpstreamError'
    this.rateLimited = options.rateLimited ?? false
  }
}

/**
 * The model provider's own content filter refused (an HTTP 400 `content_filter`): a safety event,
 * answered with the animal's safe reply, never an outage and never a reason to fall back.
 */
export class ContentFilterError extends Error {
  constructor(message = 'the model provider filtered this request', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ContentFilterError'
  }
}
