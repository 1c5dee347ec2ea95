// The WebSocket encoder: one kiosk socket, many turns. It translates client frames into engine
// calls and sends each turn's pre-serialised events, tagged with their turnId. A bad frame gets an
// `error` event; the socket stays open. Closing the socket detaches from turns, it cancels nothing.
import type { WebSocket } from 'ws'
import { AppError, notFound } from '../core/errors.ts'
import { isFinalEvent, seqAfter, type TurnEvent } from '../core/events.ts'
import type { Log } from '../core/log.ts'
import type { Subscription } from '../core/turn-hub.ts'
import type { Caller } from '../core/types.ts'
import type { ConversationEngine } from '../core/engine.ts'
import type { Heartbeats } from './heartbeats.ts'
import { parseClientFrame, type ClientFrame } from './ws-frames.ts'

export interface WsSessionOptions {
  engine: ConversationEngine
  /** The access policy's answer to "may this caller read / cancel this turn?" (404 when not). */
  authorize(caller: Caller, turnId: string, action: 'read' | 'cancel'): Promise<void>
  /** Called before each turn (the per-user rate limit); throws an AppError to refuse. */
  admitTurn(caller: Caller): Promise<void>
  caller: Caller
  /** When the caller's token expires (ms since epoch): then new frames are refused with
   * `token_expired` and the socket closes with 4401 once its running turns have finished. */
  expiresAt?: number
  log: Log
  /** Pings the peer; a peer that did not answer the previous ping is terminated. */
  heartbeats: Heartbeats
  maxTurnsPerSocket: number
  /** A peer whose unsent bytes exceed this is dropped (it can reconnect and resume). */
  maxBufferedBytes: number
  /** The TCP socket under the WebSocket (request.raw.socket): corked per tick to batch frames. */
  transport?: { cork(): void; uncork(): void }
}

/** Close codes: 1012 = service restart (reconnect elsewhere), 1013 = try again later. */
export const CLOSE_RESTARTING = 1012
const CLOSE_TOO_SLOW = 1013
/** The token expired: reconnect with a fresh one (4000-4999 are application codes; 4401 mirrors HTTP 401). */
export const CLOSE_TOKEN_EXPIRED = 4401
/** setTimeout's longest delay; later expiries re-arm the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1

export function serveSocket(socket: WebSocket, options: WsSessionOptions): void {
  const { engine, caller } = options
  const attached = new Map<string, Subscription>()
  let alive = true
  let expired = false
  const closeIfExpiredAndIdle = () => {
    if (expired && attached.size === 0) socket.close(CLOSE_TOKEN_EXPIRED, 'token expired')
  }
  const expire = () => {
    expired = true
    closeIfExpiredAndIdle()
  }
  let expiryTimer: NodeJS.Timeout | undefined
  const armExpiry = (expiresAt: number) => {
    const delay = expiresAt - Date.now()
    expiryTimer = delay > MAX_TIMER_MS ? setTimeout(() => armExpiry(expiresAt), MAX_TIMER_MS) : setTimeout(expire, Math.max(0, delay))
  }
  if (options.expiresAt !== undefined) armExpiry(options.expiresAt)

  const sendError = (turnId: string | null, err: unknown) => {
    const data = err instanceof AppError
      ? { code: err.code, message: err.message, retryable: err.retryable }
      : err instanceof RangeError
        ? { code: 'bad_request', message: err.message, retryable: false }
        : { code: 'internal', message: 'Something went wrong on our side', retryable: true }
    if (!(err instanceof AppError || err instanceof RangeError)) options.log.error({ err, turnId }, 'websocket frame failed')
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'error', id: null, turnId, data }))
  }

  // Frames sent in the same tick (a burst from the model) go out in one writev: ws writes each
  // frame with its own cork/uncork (header and payload), so one writev per frame; corking the TCP
  // socket at the tick's first frame and uncorking on process.nextTick, before any I/O, batches
  // them without delaying any.
  const { transport } = options
  let corked = false
  const flush = () => {
    if (!corked) return
    corked = false
    transport?.uncork()
  }
  const batch = () => {
    if (corked || !transport) return
    corked = true
    transport.cork()
    process.nextTick(flush)
  }

  const follow = async (turnId: string, afterSeq: number) => {
    if (attached.has(turnId)) return // already streaming this turn on this socket
    // As over SSE: the replay is sent at once; the bound applies to live events behind it.
    let backlog = Infinity
    const send = (event: TurnEvent) => {
      if (socket.readyState !== socket.OPEN) return
      if (socket.bufferedAmount > backlog + options.maxBufferedBytes) {
        flush() // judge what the peer has not taken, not this tick's batch
        if (socket.bufferedAmount > backlog + options.maxBufferedBytes) {
          socket.close(CLOSE_TOO_SLOW, 'too far behind; reconnect and resume')
          return
        }
      }
      batch()
      socket.send(event.ws)
      if (isFinalEvent(event)) {
        ended = true
        attached.get(turnId)?.close()
      }
    }
    let ended = false
    const subscription = await engine.attach(turnId, afterSeq, send)
    if (!subscription) throw notFound(`turn '${turnId}'`)
    if (ended || subscription.done) return subscription.close() // replayed to its end: nothing to follow
    flush() // the replay's bytes count once the kernel has had them, as before batching
    backlog = socket.bufferedAmount
    attached.set(turnId, {
      close() {
        subscription.close()
        attached.delete(turnId)
        closeIfExpiredAndIdle()
      },
      done: false,
    })
  }

  const handle = async (frame: ClientFrame) => {
    if (expired) throw new AppError(401, 'token_expired', 'The token expired: reconnect with a fresh token')
    switch (frame.type) {
      case 'turn': {
        if (attached.size >= options.maxTurnsPerSocket) {
          throw new AppError(429, 'too_many_turns', `At most ${options.maxTurnsPerSocket} turns may run at once on one socket`, true)
        }
        await options.admitTurn(caller)
        const { turnId } = await engine.startTurn(caller, frame)
        return follow(turnId, -1)
      }
      case 'resume':
        await options.authorize(caller, frame.turnId, 'read')
        return follow(frame.turnId, seqAfter(frame.turnId, frame.lastEventId))
      case 'cancel':
        await options.authorize(caller, frame.turnId, 'cancel')
        if (!(await engine.cancel(frame.turnId))) throw new AppError(409, 'not_running', `turn '${frame.turnId}' is not running`)
    }
  }

  socket.on('message', (raw, isBinary) => {
    let frame: ClientFrame
    try {
      if (isBinary) throw new RangeError('frames must be JSON text')
      frame = parseClientFrame(raw.toString())
    } catch (err) {
      return sendError(null, err)
    }
    const turnId = frame.type === 'turn' ? frame.clientTurnId ?? null : frame.turnId
    handle(frame).catch((err) => sendError(turnId, err))
  })

  socket.on('pong', () => { alive = true })
  const stopHeartbeat = options.heartbeats.add(() => {
    if (!alive) return socket.terminate() // no pong since the last ping: a dead peer
    alive = false
    socket.ping()
  })

  socket.on('close', () => {
    stopHeartbeat()
    clearTimeout(expiryTimer)
    for (const subscription of [...attached.values()]) subscription.close()
  })
}
