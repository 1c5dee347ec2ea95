// One heartbeat timer for all of an app's long-lived connections (WebSocket pings, SSE comments),
// instead of an interval per connection. Each sweep visits every connection once, a slice at a
// time, yielding to the event loop between slices: a WebSocket ping costs about 25 µs (a write
// syscall), so 10,000 of them in one go held the loop for 250 to 300 ms.

/** One connection's heartbeat: send a ping or a comment, or drop a peer that stopped answering. */
export type Beat = () => void

/** Beats per slice: about a millisecond of WebSocket pings before other I/O gets its turn. */
const BEATS_PER_SLICE = 50

export class Heartbeats {
  readonly #beats = new Set<Beat>()
  readonly #timer: NodeJS.Timeout
  /** The sweep in progress (a live view of the set: beats removed meanwhile are skipped). */
  #sweep: Iterator<Beat> | undefined

  /** Every `intervalMs`, calls each registered beat once. */
  constructor(intervalMs: number) {
    this.#timer = setInterval(() => {
      if (this.#sweep) return // the last sweep is still going: its beats are recent enough
      this.#sweep = this.#beats.values()
      this.#runSlice()
    }, intervalMs)
  }

  /** Registers a connection's beat; the first comes within `intervalMs`. Returns its removal. */
  add(beat: Beat): () => void {
    this.#beats.add(beat)
    return () => { this.#beats.delete(beat) }
  }

  close(): void {
    clearInterval(this.#timer)
    this.#beats.clear() // also ends a sweep that is in progress
  }

  #runSlice = (): void => {
    for (let i = 0; i < BEATS_PER_SLICE; i++) {
      const next = this.#sweep!.next()
      if (next.done) {
        this.#sweep = undefined
        return
      }
      next.value()
    }
    setImmediate(this.#runSlice)
  }
}
