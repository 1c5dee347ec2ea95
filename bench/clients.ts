// The load generator's clients: one streamed turn over HTTP (SSE) or over a WebSocket, timed on
// the client's clock. Events are told apart with a string test, not parsed, so the client spends
// as little CPU as it can and the same on every target.
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'

export const agent = new Agent({ keepAlive: true, maxSockets: Infinity })

/** No single turn may take longer than this: the run always ends. */
export const TURN_TIMEOUT_MS = 120_000

/** Arrival times (performance.now()) of one turn's content chunks, and when it was asked. */
export interface StreamTiming {
  start: number
  deltas: number[]
}

export interface SseTarget {
  url: string
  headers?: Record<string, string>
  body: string
  /** Is this SSE block (without its trailing blank line) a content chunk? */
  isDelta(block: string): boolean
}

export const upstreamDelta = (block: string) => block.startsWith('data: {') && block.includes('"content":"w')
export const messageEvent = (block: string) => block.includes('\nevent: message\n')

/** POSTs and reads the SSE answer to its end. Rejects on a non-200 answer or a socket error. */
export function sseTurn(target: SseTarget): Promise<StreamTiming> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const deltas: number[] = []
    const req = request(target.url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(target.body), ...target.headers },
    }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        return reject(new Error(`${target.url} answered ${res.statusCode}`))
      }
      res.setEncoding('utf8')
      let buffered = ''
      res.on('data', (part: string) => {
        const now = performance.now()
        buffered += part
        let end: number
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          if (target.isDelta(buffered.slice(0, end))) deltas.push(now)
          buffered = buffered.slice(end + 2)
        }
      })
      res.on('end', () => resolve({ start, deltas }))
      res.on('error', reject)
    })
    req.setTimeout(TURN_TIMEOUT_MS, () => req.destroy(new Error(`${target.url}: no answer in ${TURN_TIMEOUT_MS} ms`)))
    req.on('error', reject)
    req.end(target.body)
  })
}

/** A WebSocket that runs one turn at a time (a kiosk). */
export class WsClient {
  readonly socket: WebSocket
  #current: { timing: StreamTiming; resolve(t: StreamTiming): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined
  readonly #isEnd: (frame: string) => boolean

  private constructor(socket: WebSocket, isEnd: (frame: string) => boolean) {
    this.socket = socket
    this.#isEnd = isEnd
    socket.on('message', (raw) => {
      const now = performance.now()
      const current = this.#current
      if (!current) return
      const frame = raw.toString()
      if (frame.startsWith('{"type":"message"')) current.timing.deltas.push(now)
      else if (frame.startsWith('{"type":"error"')) this.#fail(new Error(`error frame: ${frame}`))
      else if (this.#isEnd(frame)) {
        clearTimeout(current.timer)
        this.#current = undefined
        current.resolve(current.timing)
      }
    })
    socket.on('error', (err) => this.#fail(err))
    socket.on('close', () => this.#fail(new Error('socket closed mid-turn')))
  }

  #fail(err: Error): void {
    const current = this.#current
    if (!current) return
    clearTimeout(current.timer)
    this.#current = undefined
    current.reject(err)
  }

  static open(url: string, isEnd: (frame: string) => boolean, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers, perMessageDeflate: false })
      socket.once('open', () => resolve(new WsClient(socket, isEnd)))
      socket.once('error', reject)
    })
  }

  /** Runs one turn; rejects on an error frame, a closed socket, or no end within TURN_TIMEOUT_MS. */
  turn(frame: string): Promise<StreamTiming> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('socket is closed'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`no end of turn in ${TURN_TIMEOUT_MS} ms`)), TURN_TIMEOUT_MS)
      this.#current = { timing: { start: performance.now(), deltas: [] }, resolve, reject, timer }
      this.socket.send(frame)
    })
  }

  close(): void {
    this.socket.terminate()
  }
}

export const gatewayWsEnd = (frame: string) => frame.startsWith('{"type":"storage"')
export const relayWsEnd = (frame: string) => frame.startsWith('{"type":"complete"')

/** Runs `task` `count` times with at most `concurrency` at once; `worker` is 0..concurrency-1. */
export async function pool<T>(count: number, concurrency: number, task: (i: number, worker: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count)
  let next = 0
  const run = async (worker: number) => {
    while (next < count) {
      const i = next++
      results[i] = await task(i, worker)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, worker) => run(worker)))
  return results
}
