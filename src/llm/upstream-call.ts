// One HTTP request to the model, with its own AbortController: aborted when the caller cancels,
// or when the upstream stays silent for longer than the timeout (before the first token or
// between chunks). Aborting the controller makes the SDK close the socket.
import { abortError } from './abort.ts'

export class UpstreamCall {
  readonly signal: AbortSignal
  readonly #controller = new AbortController()
  readonly #caller: AbortSignal
  /** One timer for the whole call, re-armed with refresh(): no allocation per chunk. */
  readonly #timer: NodeJS.Timeout
  #paused = false
  #timedOut = false
  #responseRead = false
  readonly #onCallerAbort = () => this.#controller.abort(abortError())

  constructor(caller: AbortSignal, timeoutMs: number) {
    this.#caller = caller
    this.signal = this.#controller.signal
    this.#timer = setTimeout(() => {
      if (this.#paused) return // fired while the consumer had the turn; restartTimer() re-arms it
      this.#timedOut = true
      this.#controller.abort(new Error('model timed out'))
    }, timeoutMs)
    if (caller.aborted) this.#onCallerAbort()
    else caller.addEventListener('abort', this.#onCallerAbort, { once: true })
  }

  /** True when this call was aborted because the upstream went silent (not by the caller). */
  get timedOut(): boolean {
    return this.#timedOut && !this.#caller.aborted
  }

  /** Starts the silence timer again: call it whenever the upstream sends something. */
  restartTimer(): void {
    this.#paused = false
    this.#timer.refresh()
  }

  /** Stops the silence timer while the consumer, not the upstream, has the turn. */
  pauseTimer(): void {
    this.#paused = true
  }

  /**
   * The response was read to its end: the timer stops and close() has nothing left to abort
   * (aborting costs an AbortError with a stack trace, twice, as the SDK forwards it: per turn).
   */
  responseRead(): void {
    this.#paused = true
    this.#responseRead = true
  }

  /** Ends the call: stops the timer, unhooks from the caller, aborts the request if still open. */
  close(): void {
    clearTimeout(this.#timer)
    this.#caller.removeEventListener('abort', this.#onCallerAbort)
    if (!this.#responseRead) this.#controller.abort()
  }
}
