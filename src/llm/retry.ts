// Backoff between attempts at the model: exponential, with jitter so that many kiosks retrying
// after the same outage do not hit the upstream in lockstep.
import { abortError } from './abort.ts'

/** Delay before retry number `retry` (1-based): base * 2^(retry-1), jittered to 50-100 % of that. */
export function backoffDelay(retry: number, baseMs: number): number {
  const ceiling = baseMs * 2 ** (retry - 1)
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

/** Waits `ms`, or throws an AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError())
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError())
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
