// Delivers JSON payloads to one webhook URL in the background: a bounded queue, a few workers,
// a timeout per attempt, and bounded retries with exponential backoff. enqueue() never waits,
// so a slow or failing webhook never slows the caller; a full queue drops the payload (counted).
import { setTimeout as sleep } from 'node:timers/promises'
import type { Log } from '../core/log.ts'

export type DeliveryOutcome = 'delivered' | 'failed' | 'dropped'

export interface WebhookOptions {
  url: string
  /** Per attempt. */
  timeoutMs: number
  /** Attempts per payload, the first one included. */
  maxAttempts: number
  /** Wait before the second attempt; doubles each time (with jitter), at most MAX_BACKOFF_MS. */
  backoffMs: number
  /** Payloads waiting for a worker; more are dropped. */
  queueSize: number
  log: Log
  /** Told how each payload ended (metrics). */
  onOutcome?: (outcome: DeliveryOutcome) => void
}

const WORKERS = 4
const MAX_BACKOFF_MS = 60_000

/** 408 and 429 say "later"; any other 4xx will not get better by sending the same thing again. */
const retryable = (status: number) => status >= 500 || status === 408 || status === 429

export class WebhookQueue {
  readonly #options: WebhookOptions
  readonly #queue: unknown[] = []
  readonly #workers = new Set<Promise<void>>()
  /** Aborts waits and requests at close. */
  readonly #stop = new AbortController()

  constructor(options: WebhookOptions) {
    this.#options = options
  }

  /** Payloads waiting or being delivered. */
  get pending(): number {
    return this.#queue.length + this.#workers.size
  }

  /** Queues the payload; false when it was dropped (queue full, or closed). */
  enqueue(payload: unknown): boolean {
    if (this.#stop.signal.aborted || this.#queue.length >= this.#options.queueSize) {
      this.#options.log.error({ queued: this.#queue.length }, 'safety webhook queue full: payload dropped')
      this.#options.onOutcome?.('dropped')
      return false
    }
    this.#queue.push(payload)
    if (this.#workers.size < WORKERS) {
      const worker: Promise<void> = this.#work().finally(() => this.#workers.delete(worker))
      this.#workers.add(worker)
    }
    return true
  }

  /** Gives what is queued up to `graceMs` to go out, then abandons the rest (logged). */
  async close(graceMs: number): Promise<void> {
    const drained = Promise.all(this.#workers).then(() => 'drained' as const)
    const outcome = await Promise.race([drained, sleep(graceMs, 'timeout' as const, { ref: false })])
    this.#stop.abort()
    if (outcome === 'timeout') {
      this.#options.log.warn({ abandoned: this.pending }, 'safety webhook: shutting down with deliveries still pending')
    }
    await Promise.all(this.#workers)
  }

  async #work(): Promise<void> {
    for (let payload = this.#queue.shift(); payload !== undefined; payload = this.#queue.shift()) {
      if (this.#stop.signal.aborted) return
      this.#options.onOutcome?.((await this.#deliver(payload)) ? 'delivered' : 'failed')
    }
  }

  async #deliver(payload: unknown): Promise<boolean> {
    const { url, timeoutMs, maxAttempts, backoffMs, log } = this.#options
    const body = JSON.stringify(payload)
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let reason: string
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#stop.signal]),
        })
        await response.body?.cancel()
        if (response.ok) return true
        reason = `HTTP ${response.status}`
        if (!retryable(response.status)) {
          log.error({ status: response.status }, 'safety webhook refused the payload; not retrying')
          return false
        }
      } catch (err) {
        if (this.#stop.signal.aborted) return false
        reason = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String((err as Error).message)
      }
      if (attempt === maxAttempts) {
        log.error({ attempts: attempt, reason }, 'safety webhook failed; giving up on this payload')
        return false
      }
      // Equal jitter: half the backoff fixed, half random, so many instances do not retry in step.
      const wait = Math.min(backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS) * (0.5 + Math.random() / 2)
      log.warn({ attempt, reason, retryInMs: Math.round(wait) }, 'safety webhook attempt failed; retrying')
      try {
        await sleep(wait, undefined, { signal: this.#stop.signal })
      } catch {
        return false
      }
    }
    return false
  }
}
