// Cancellation is not a failure: it travels as an error named 'AbortError' that no layer retries,
// wraps or falls back from.

export function abortError(message = 'The request was cancelled'): Error {
  const error = new Error(message)
  error.name = 'AbortError'
  return error
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError'
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError()
}
