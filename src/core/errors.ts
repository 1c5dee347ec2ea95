// Errors that carry their HTTP meaning. Thrown by the core and adapters; translated once,
// by the app's error handler (HTTP) or by the event stream (`error` events).

export class AppError extends Error {
  readonly statusCode: number
  /** Machine-readable code, also used as the `code` of `error` events. */
  readonly code: string
  readonly retryable: boolean

  constructor(statusCode: number, code: string, message: string, retryable = false) {
    super(message)
    this.name = 'AppError'
    this.statusCode = statusCode
    this.code = code
    this.retryable = retryable
  }
}

export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`)
export const forbidden = (message = 'Your role may not do this') => new AppError(403, 'forbidden', message)
export const badRequest = (message: string) => new AppError(400, 'bad_request', message)

export class StorageUnavailableError extends AppError {
  constructor(message = 'Storage is unavailable, please retry shortly', options?: { cause?: unknown }) {
    super(503, 'storage_unavailable', message, true)
    this.name = 'StorageUnavailableError'
    if (options?.cause) this.cause = options.cause
  }
}

/** The model upstream failed. `rateLimited` maps to 503, anything else to 502. */
export class UpstreamError extends AppError {
  readonly rateLimited: boolean
  constructor(message: string, options: { rateLimited?: boolean; cause?: unknown } = {}) {
    super(options.rateLimited ? 503 : 502, options.rateLimited ? 'upstream_rate_limited' : 'upstream_failed', message, true)
    this.name = 'UpstreamError'
    this.rateLimited = options.rateLimited ?? false
    if (options.cause) this.cause = options.cause
  }
}
