// Retention where the store has no TTL (the embedded dynalite): a periodic sweep deletes the
// items whose expiresAt has passed, so RETENTION_DAYS holds wherever the gateway runs.
import type { Log } from '../core/log.ts'

export interface Sweepable {
  /** Deletes expired items; returns how many. */
  sweepExpired(now?: number): Promise<number>
}

export class RetentionSweeper {
  readonly #storage: Sweepable
  readonly #log: Log
  readonly #timer: NodeJS.Timeout
  #running: Promise<void> | undefined

  /** Sweeps at once, then every `intervalMs`; a sweep still running when the next is due is not doubled. */
  constructor(storage: Sweepable, intervalMs: number, log: Log) {
    this.#storage = storage
    this.#log = log
    this.#timer = setInterval(() => this.#sweep(), intervalMs).unref()
    this.#sweep()
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#running
  }

  #sweep(): void {
    if (this.#running) return
    this.#running = this.#storage.sweepExpired()
      .then((swept) => { if (swept > 0) this.#log.info({ swept }, 'retention: deleted expired items') })
      // A store that is briefly down is swept next time; nothing to do now.
      .catch((err: unknown) => this.#log.warn({ err }, 'retention sweep failed; retrying at the next interval'))
      .finally(() => { this.#running = undefined })
  }
}
