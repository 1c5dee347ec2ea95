// The WebSocket transport: one kiosk socket, many turns. It translates client frames into calls
// of the turn API (src/core/turns.ts) and sends each turn's events in their cached WebSocket form
// (encoders.ts), tagged with their turnId. A bad frame gets an `error` event; the socket stays
// open. Closing the socket detaches from turns, it cancels nothing.
import type { WebSocket } from 'ws'
import { AppError, errorData, unauthorized } from '../core/errors.ts'
import { isFinalEvent, type TurnEvent } from '../core/events.ts'
import type { Log } from '../core/log.ts'
import type { Subscription } from '../core/ports.ts'
import type { TurnService, TurnStream } from '../core/turns.ts'
import type { Caller } from '../core/types.ts'
import { wsErrorFrame, wsFrame } from './encoders.ts'
import type { Heartbeats } from './heartbeats.ts'
import { parseClientFrame, type ClientFrame } from './ws-frames.ts'

/** A verified token: who it is for, its `exp` claim (s) and when it stops being accepted (ms, tolerance included). */
export interface SocketToken {
  caller: Caller
  exp?: number
  expiresAt?: number
}

export interface WsSessionOptions {
  turns: TurnService
  /** Called before each turn (the per-user rate limit); throws an AppError to refuse. */
  admitTurn(caller: Caller): Promise<void>
  /** Verifies the token of an `auth` frame; throws an AppError (unauthorized, token_expired) to refuse it. */
  verifyToken(token: string): Promise<SocketToken>
  /** The upgrade's token. When it expires, new frames are refused with `token_expired` and the
   * socket closes with 4401 once its running turns have finished, unless an `auth` frame brought
   * a fresh token (same sub) before. */
  token: SocketToken
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
  const { turns } = options
  let { caller } = options.token
  const attached = new Map<string, Subscription>()
  /** Turn frames between their cap check and their turn's attach (or refusal). */
  let starting = 0
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
  const armExpiry = (expiresAt: number | undefined) => {
    clearTimeout(expiryTimer)
    if (expiresAt === undefined) return
    const delay = expiresAt - Date.now()
    expiryTimer = delay > MAX_TIMER_MS ? setTimeout(() => armExpiry(expiresAt), MAX_TIMER_MS) : setTimeout(expire, Math.max(0, delay))
  }
  armExpiry(options.token.expiresAt)

  const sendError = (turnId: string | null, err: unknown) => {
    if (!(err instanceof AppError)) options.log.error({ err, turnId }, 'websocket frame failed')
    if (socket.readyState === socket.OPEN) socket.send(wsErrorFrame(turnId, errorData(err)))
  }

  /** An `auth` frame: the socket goes on as the fresh token's caller (same sub), until its expiry. */
  const reauthenticate = async (token: string) => {
    const fresh = await options.verifyToken(token)
    if (fresh.caller.sub !== caller.sub) throw unauthorized('The token is for another user: a socket keeps its user; open a new socket instead')
    caller = fresh.caller
    expired = false
    armExpiry(fresh.expiresAt)
    if (socket.readyState === socket.OPEN) {
      socket.send(JSON.stringify({ type: 'auth', id: null, turnId: null, data: { sub: caller.sub, role: caller.role, exp: fresh.exp ?? null } }))
    }
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

  const follow = async (stream: TurnStream) => {
    const { turnId } = stream
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
      socket.send(wsFrame(event))
      if (isFinalEvent(event)) {
        ended = true
        attached.get(turnId)?.close()
      }
    }
    let ended = false
    const subscription = await stream.attach(send)
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
    if (frame.type === 'auth') return reauthenticate(frame.token)
    if (expired) throw new AppError('token_expired', 'The token expired: send an auth frame with a fresh token, or reconnect')
    switch (frame.type) {
      case 'turn': {
        // Counted with the turns still starting, and taken before any await: frames that arrive
        // together cannot all pass the check before the first one is attached.
        if (attached.size + starting >= options.maxTurnsPerSocket) {
          throw new AppError('too_many_turns', `At most ${options.maxTurnsPerSocket} turns may run at once on one socket`)
        }
        starting++
        try {
          await options.admitTurn(caller)
          const { type: _, ...input } = frame
          return await follow(await turns.start(caller, input))
        } finally {
          starting--
        }
      }
      case 'resume':
        return follow(await turns.follow(caller, frame.turnId, frame.lastEventId))
      case 'cancel':
        return turns.cancel(caller, frame.turnId)
    }
  }

  socket.on('message', (raw, isBinary) => {
    let frame: ClientFrame
    try {
      if (isBinary) throw new AppError('bad_request', 'frames must be JSON text')
      frame = parseClientFrame(raw.toString())
    } catch (err) {
      return sendError(null, err)
    }
    const turnId = frame.type === 'turn' ? frame.clientTurnId ?? null : frame.type === 'auth' ? null : frame.turnId
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
