// The SSE transport: writes a turn's events, in their cached SSE form (encoders.ts), to an HTTP
// response. No protocol logic: ids, order and replay come from the core. A disconnect only
// detaches; the turn goes on.
import type { ServerResponse } from 'node:http'
import { httpError } from '../core/errors.ts'
import { isFinalEvent, type TurnEvent } from '../core/events.ts'
import type { Subscription } from '../core/ports.ts'
import type { TurnStream } from '../core/turns.ts'
import { sseFrame } from './encoders.ts'
import type { Heartbeats } from './heartbeats.ts'

export interface SseOptions {
  /** Sends the `: heartbeat` comments while the stream is open. */
  heartbeats: Heartbeats
  /** Reconnect delay sent to browsers in the `retry:` field. */
  retryMs: number
  /** A consumer whose unsent bytes exceed this is disconnected (it can resume). */
  maxBufferedBytes: number
  /** Extra response headers (CORS and the like, set by hooks before the stream started). */
  headers?: Record<string, string | string[] | number | undefined>
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no', // nginx and friends: do not buffer the stream
} as const

/**
 * Starts an event stream, ours or the OpenAI facade's: the head (with `headers`, set by hooks),
 * no Nagle delay, and `comment` every heartbeat. Returns what stops the heartbeats.
 */
export function openEventStream(
  res: ServerResponse, options: { heartbeats: Heartbeats; headers?: SseOptions['headers'] }, comment: string,
): () => void {
  res.writeHead(200, { ...options.headers, ...SSE_HEADERS })
  res.socket?.setNoDelay(true)
  return options.heartbeats.add(() => res.write(comment))
}

/** Streams `stream` to `res`. A turn gone before its first event is answered with its JSON error (errorData). */
export async function streamSse(res: ServerResponse, stream: TurnStream, options: SseOptions): Promise<void> {
  let subscription: Subscription | undefined
  let open = true
  let stopHeartbeat: (() => void) | undefined
  // The head goes out with the first event, or once attached: a resume with nothing left to send
  // gets 204 instead, which tells EventSource to stop reconnecting.
  const start = () => {
    if (res.headersSent) return
    stopHeartbeat = openEventStream(res, options, ': heartbeat\n\n')
    res.write(`retry: ${options.retryMs}\n\n`)
  }
  const finish = () => {
    if (!open) return
    open = false
    stopHeartbeat?.()
    subscription?.close()
    if (!res.destroyed) res.end()
  }
  res.on('close', finish)

  // The replay a resume starts with is written at once (it is already in memory, shared by every
  // listener); the bound applies to live events piling up behind it.
  let backlog = Infinity
  const send = (event: TurnEvent) => {
    if (!open) return
    start()
    if (!res.write(sseFrame(event)) && res.writableLength > backlog + options.maxBufferedBytes) {
      res.destroy() // too far behind: drop it rather than buffer without bound; it can resume
      return
    }
    if (isFinalEvent(event)) finish()
  }
  try {
    subscription = await stream.attach(send)
  } catch (err) {
    if (res.headersSent) throw err
    const { status, body } = httpError(err)
    res.writeHead(status, { ...options.headers, 'content-type': 'application/json; charset=utf-8' })
    res.end(JSON.stringify(body))
    return
  }
  backlog = res.writableLength
  if (!res.headersSent && subscription.done) {
    res.writeHead(204, options.headers).end()
  } else if (open) {
    start()
  } else {
    subscription.close()
  }
}
