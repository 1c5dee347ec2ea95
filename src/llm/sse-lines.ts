// A small parser for the model's server-sent events: bytes in, parsed JSON payloads out, no
// promises. It replaces the SDK's line decoder, SSE decoder and chain of async generators on the
// streaming hot path: the provider reads the response body itself and feeds each network chunk
// here. Handles chunk boundaries anywhere (inside a line, inside a multi-byte UTF-8 character,
// between the \r and \n of a CRLF), comment lines, multi-line data, `event: error`, and the
// `data: [DONE]` sentinel (everything after it is ignored).
import { UpstreamError } from '../core/errors.ts'

const NO_EVENTS: readonly unknown[] = Object.freeze([])
const LF = 10
const COLON = 58
const SPACE = 32

export class SseJsonParser {
  readonly #decoder = new TextDecoder('utf-8')
  /** Text received after the last complete line. */
  #rest = ''
  /** The current event's data lines, joined with \n; undefined before its first data line. */
  #data: string | undefined
  #event = ''
  #done = false
  #events: unknown[] = []

  /** True once `data: [DONE]` has been received. */
  get done(): boolean {
    return this.#done
  }

  /** One network chunk: returns the payloads of the events it completes (often none or one). */
  feed(bytes: Uint8Array): readonly unknown[] {
    return this.#parse(this.#decoder.decode(bytes, { stream: true }), false)
  }

  /** The end of the stream: a last line without its newline and an undispatched event count too. */
  end(): readonly unknown[] {
    return this.#parse(this.#decoder.decode(), true)
  }

  #parse(text: string, final: boolean): readonly unknown[] {
    if (this.#done) return NO_EVENTS
    const buffer = this.#rest === '' ? text : this.#rest + text
    let start = 0
    let lf = buffer.indexOf('\n')
    let cr = buffer.indexOf('\r')
    while (start < buffer.length && !this.#done) {
      if (lf !== -1 && lf < start) lf = buffer.indexOf('\n', start)
      if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start)
      let end: number
      let next: number
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        if (lf === -1) break // an incomplete line: wait for the rest
        end = lf
        next = lf + 1
      } else {
        // \r ends the line; a \n right after it belongs to the same line ending, and may be
        // in the next chunk.
        if (cr === buffer.length - 1 && !final) break
        end = cr
        next = buffer.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1
      }
      this.#line(buffer, start, end)
      start = next
    }
    this.#rest = start === 0 ? buffer : buffer.slice(start)
    if (final && !this.#done) {
      if (this.#rest !== '') this.#line(this.#rest, 0, this.#rest.length)
      this.#rest = ''
      this.#dispatch()
    }
    if (this.#done) this.#rest = ''
    const events = this.#events
    if (events.length === 0) return NO_EVENTS
    this.#events = []
    return events
  }

  #line(buffer: string, start: number, end: number): void {
    if (start === end) return this.#dispatch()
    if (buffer.charCodeAt(start) === COLON) return // a comment (keep-alive)
    const colon = buffer.indexOf(':', start)
    const fieldEnd = colon === -1 || colon > end ? end : colon
    let valueStart = fieldEnd === end ? end : fieldEnd + 1
    if (valueStart < end && buffer.charCodeAt(valueStart) === SPACE) valueStart++
    const length = fieldEnd - start
    if (length === 4 && buffer.startsWith('data', start)) {
      const value = buffer.slice(valueStart, end)
      this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`
    } else if (length === 5 && buffer.startsWith('event', start)) {
      this.#event = buffer.slice(valueStart, end)
    }
    // id and retry mean nothing for a single response; unknown fields are ignored, as the spec says.
  }

  #dispatch(): void {
    const data = this.#data
    const event = this.#event
    this.#data = undefined
    this.#event = ''
    if (data === undefined) return
    if (data === '[DONE]') {
      this.#done = true
      return
    }
    let payload: unknown
    try {
      payload = JSON.parse(data)
    } catch (err) {
      throw new UpstreamError('the model sent a malformed stream event', { cause: err })
    }
    const error = (payload as { error?: unknown } | null)?.error
    if (event === 'error' || error) {
      const message = (error as { message?: unknown } | undefined)?.message
      throw new UpstreamError(`the model reported an error mid-stream${typeof message === 'string' ? `: ${message}` : ''}`, { cause: payload })
    }
    this.#events.push(payload)
  }
}
