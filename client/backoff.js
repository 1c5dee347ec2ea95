// Exponential backoff with full jitter (see "Exponential Backoff And Jitter", AWS Architecture
// Blog): the delay is drawn uniformly from [0, min(maxMs, baseMs * 2^attempt)). When a server
// restarts, its thousand kiosks then come back spread over the window instead of all at once.

/**
 * @param {number} attempt 0 for the first retry
 * @param {{ baseMs?: number, maxMs?: number, random?: () => number }} [options]
 */
export function backoffDelay(attempt, { baseMs = 500, maxMs = 15_000, random = Math.random } = {}) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.floor(random() * cap)
}
