// What the client does with each error code of the contract: one table, used for WebSocket
// error frames and events, SSE error events and HTTP error answers alike.
//
//   fail      the request itself is wrong: the turn ends with this error
//   retry     a passing condition: the turn is sent again after a backoff (bounded attempts)
//   refresh   the token is stale: get a fresh one (getToken), reconnect, send again
//   resume    the stream was cut, the turn goes on elsewhere: follow it again from the last
//             event after a backoff (asking again would ask the model twice)
//   cancelled the turn was cancelled (by this client): it ends as cancelled
//   unsaved   the reply was generated and shown but not stored: the turn ends, `saved` false
//             (asking again would ask the model again for an answer the visitor already read)
export const ERROR_POLICY = Object.freeze({
  bad_request: 'fail',
  payload_too_large: 'fail',
  unauthorized: 'refresh',
  token_expired: 'refresh',
  forbidden: 'fail',
  not_found: 'fail',
  rate_limited: 'retry',
  too_many_turns: 'retry',
  cancelled: 'cancelled',
  upstream_failed: 'retry',
  upstream_rate_limited: 'retry',
  storage_failed: 'unsaved',
  storage_unavailable: 'retry',
  shutting_down: 'retry',
  interrupted: 'retry',
  turn_unavailable: 'retry',
  hub_unavailable: 'resume',
  internal: 'retry',
})

/** The policy for a code; a code this client does not know follows the server's `retryable`. */
export function policyFor(code, retryable) {
  return Object.hasOwn(ERROR_POLICY, code) ? ERROR_POLICY[code] : retryable ? 'retry' : 'fail'
}

export class GatewayError extends Error {
  constructor(code, message, { retryable = false, status } = {}) {
    super(message)
    this.name = 'GatewayError'
    this.code = code
    this.retryable = retryable
    this.status = status
  }

  /** From an `error` event's data or an HTTP error body ({ error, message, retryable }). */
  static from(data, status) {
    const code = String(data?.code ?? data?.error ?? 'internal')
    return new GatewayError(code, String(data?.message ?? code), { retryable: Boolean(data?.retryable), status })
  }
}
