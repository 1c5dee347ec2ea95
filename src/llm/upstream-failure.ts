// What a failed attempt at the model means: the UpstreamError to report, and whether another
// attempt may help. Only rate limits, server errors, broken connections and timeouts are worth
// retrying; any other 4xx (bad request, bad key, unknown model) would fail the same way again.
// A 400 whose code is `content_filter` is the provider's filter refusing: a safety event.
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai'
import { ContentFilterError, UpstreamError } from '../core/errors.ts'

export interface Failure {
  error: UpstreamError | ContentFilterError
  retryable: boolean
}

export function describeFailure(err: unknown, timedOut: boolean): Failure {
  if (timedOut || err instanceof APIConnectionTimeoutError) {
    return { error: new UpstreamError('model timed out', { cause: err }), retryable: true }
  }
  if (err instanceof UpstreamError) return { error: err, retryable: true }
  if (err instanceof APIConnectionError) {
    return { error: new UpstreamError('could not reach the model', { cause: err }), retryable: true }
  }
  if (err instanceof APIError && err.status === 400 && err.code === 'content_filter') {
    return { error: new ContentFilterError(undefined, { cause: err }), retryable: false }
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const { status } = err
    if (status === 429) {
      return { error: new UpstreamError('the model is rate limited', { rateLimited: true, cause: err }), retryable: true }
    }
    const retryable = status >= 500 || status === 408 || status === 409
    return { error: new UpstreamError(`the model request failed with status ${status}`, { cause: err }), retryable }
  }
  // An error event inside the stream, or the stream's socket closing mid-way.
  return { error: new UpstreamError('the model stream broke off', { cause: err }), retryable: true }
}
