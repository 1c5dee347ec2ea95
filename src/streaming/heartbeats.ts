// One heartbeat timer for all of an app's long-lived connections (WebSocket pings, SSE comments),
// instead of an interval per connection. Each sweep visits every connection once, a slice at a
// time, its slices spread over the first half of the interval. A WebSocket ping costs about 25 µs
// (a write syscall), so 10,000 of them in one go held the loop for 250 to 300 ms; sent in quick
// slices, their 10,000 pongs came back at once and still held it for up to 90 ms.

/** One connection's heartbeat: send a ping or a comment, or drop a peer that stopped answering. */
export type Beat = () => void

/** Beats per slice: about a millisecond of WebSocket pings. */
const BEATS_PER_SLICE = 50

export class Heartbeats {
  readonly #beats = new Set<Beat>()
  readonly #timer: NodeJS.Timeout
  /** The connections of the sweep in progress, as they were when it started. */
  #sweep: Beat[] = []
  #swept = 0
  #sliceGapMs = 0
  #nextSlice: NodeJS.Timeout | undefined

  /** Every `intervalMs`, calls each registered beat once. */
  constructor(intervalMs: number) {
    this.#timer = setInterval(() => {
      if (this.#swept < this.#sweep.length) return // the last sweep is still going (a slow loop)
      this.#sweep = [...this.#beats]
      this.#swept = 0
      this.#sliceGapMs = intervalMs / 2 / Math.ceil(this.#sweep.length / BEATS_PER_SLICE)
      this.#runSlice()
    }, intervalMs)
  }

  /** Registers a connection's beat; the first comes within two intervals. Returns its removal. */
  add(beat: Beat): () => void {
    this.#beats.add(beat)
    return () => { this.#beats.delete(beat) }
  }

  close(): void {
    clearInterval(this.#timer)
    clearTimeout(this.#nextSlice)
    this.#beats.clear()
  }

  #runSlice = (): void => {
    const end = Math.min(this.#swept + BEATS_PER_SLICE, this.#sweep.length)
    while (this.#swept < end) {
      const beat = this.#sweep[this.#swept++]
      if (this.#beats.has(beat)) beat() // not if its connection ended meanwhile, or on close
    }
    const more = this.#swept < this.#sweep.length && this.#beats.size > 0 // none left after close
    if (more) this.#nextSlice = setTimeout(this.#runSlice, this.#sliceGapMs)
    else this.#sweep = []
  }
}
