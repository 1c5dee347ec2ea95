// The in-memory rate-limit store (no REDIS_URL): @fastify/rate-limit's LocalStore, with each
// caller given its own copy of the count. LocalStore hands every caller the one record it keeps
// per key; the limiter reads it after an await, by which time the rest of a burst has counted
// on it too, so a burst of 40 saw counts near 40 and admitted 11 of a budget of 30.
import type { FastifyRateLimitStore, RateLimitOptions } from '@fastify/rate-limit'
import LocalStore from '@fastify/rate-limit/store/LocalStore.js'

type Result = { current: number; ttl: number }
type Callback = (error: Error | null, result?: Result) => void

export class SnapshotLocalStore implements FastifyRateLimitStore {
  readonly #store: FastifyRateLimitStore

  // The plugin constructs it with its options; child() wraps the store it derives.
  constructor(options: RateLimitOptions | FastifyRateLimitStore) {
    this.#store = 'incr' in options ? options : new LocalStore(options.continueExceeding, options.exponentialBackoff)
  }

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    this.#store.incr(key, (error, result) => callback(error, result && { current: result.current, ttl: result.ttl }), timeWindow, max)
  }

  child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
    return new SnapshotLocalStore(this.#store.child(routeOptions))
  }
}
