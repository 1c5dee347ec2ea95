// The WebSocket transport: one kiosk socket, many turns. It translates client frames into calls
// of the turn API (src/core/turns.ts) and sends each turn's events in their cached WebSocket form
// (encoders.ts), tagged with their turnId. A bad frame gets an `error` event; the socket stays
// open. Closing the socket detaches from turns, it cancels nothing.
import type { WebSocket } from 'ws'
import { AppError, badRequest, errorData, shuttingDown, unauthorized } from '../core/errors.ts'
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
export const CLOSE_TOO_SLOW = 1013
/** The token expired: reconnect with a fresh one (4000-4999 are application codes; 4401 mirrors HTTP 401). */
export const CLOSE_TOKEN_EXPIRED = 4401
/** setTimeout's longest delay; later expiries re-arm the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1
/**
 * How long a peer has to answer the restart's close frame before its connection is cut: `ws`
 * waits 30 s, and a peer that stopped reading held a shutdown that long.
 */
export const CLOSE_HANDSHAKE_MS = 2000

/** The server's handle on one open kiosk socket. */
export interface KioskSocket {
  /**
   * The server is shutting down: new turn and resume frames are refused with `shutting_down`,
   * and the socket closes with 1012 (reconnect elsewhere) once no turn is followed on it, at once
   * when none is or when `now`.
   */
  restart(now?: boolean): void
}

export function serveSocket(socket: WebSocket, options: WsSessionOptions): KioskSocket {
  const { turns } = options
  let { caller } = options.token
  /** The turns this socket follows live (their replay sent, their end not yet). */
  const attached = new Map<string, Subscription>()
  /** Attaches in progress, per turn: a resume of the same turn waits for the one before it. */
  const attaching = new Map<string, Promise<void>>()
  /** Turn frames between their cap check and their turn's attach (or refusal). */
  let starting = 0
  let alive = true
  let expired = false
  let restarting = false

  const close = (code: number, reason: string) => {
    if (socket.readyState === socket.OPEN) socket.close(code, reason)
  }
  /** Closes with 1012 and, should the peer not answer, cuts the connection after CLOSE_HANDSHAKE_MS. */
  const closeForRestart = () => {
    close(CLOSE_RESTARTING, 'server restarting; reconnect and resume')
    setTimeout(() => socket.terminate(), CLOSE_HANDSHAKE_MS).unref()
  }
  const closeIfIdle = () => {
    if (attached.size > 0) return
    if (restarting) closeForRestart()
    else if (expired) close(CLOSE_TOKEN_EXPIRED, 'token expired')
  }
  const expire = () => {
    expired = true
    closeIfIdle()
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
    deliver(wsErrorFrame(turnId, errorData(err)))
  }

  /** An `auth` frame: the socket goes on as the fresh token's caller (same sub), until its expiry. */
  const reauthenticate = async (token: string) => {
    const fresh = await options.verifyToken(token)
    if (fresh.caller.sub !== caller.sub) throw unauthorized('The token is for another user: a socket keeps its user; open a new socket instead')
    caller = fresh.caller
    expired = false
    armExpiry(fresh.expiresAt)
    deliver(JSON.stringify({ type: 'auth', id: null, turnId: null, data: { sub: caller.sub, role: caller.role, exp: fresh.exp ?? null } }))
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

  /**
   * True, and the peer is closed (1013; it can reconnect and resume), when it has more than
   * `allowance` + maxBufferedBytes unsent. Judged on what the kernel has not taken: this tick's
   * corked batch is flushed first.
   */
  const tooFarBehind = (allowance: number): boolean => {
    if (socket.bufferedAmount <= allowance + options.maxBufferedBytes) return false
    flush()
    if (socket.bufferedAmount <= allowance + options.maxBufferedBytes) return false
    close(CLOSE_TOO_SLOW, 'too far behind; reconnect and resume')
    return true
  }

  /** Sends one frame unless the peer is too far behind (see tooFarBehind); false when not sent. */
  const deliver = (frame: string, allowance = 0): boolean => {
    if (socket.readyState !== socket.OPEN || tooFarBehind(allowance)) return false
    batch()
    socket.send(frame)
    return true
  }

  const alreadyAttached = (turnId: string) => badRequest(`turn '${turnId}' is already being streamed on this socket`)

  /**
   * Streams a turn: its replay, then its live events until the end. One attach per turn at a
   * time: a resume arriving meanwhile waits, then replays too (a finished turn) or is refused (a
   * turn now followed live here). `repeat` says what a turn followed here already gets.
   */
  const follow = async (stream: TurnStream, repeat: 'refuse' | 'ignore'): Promise<void> => {
    const { turnId } = stream
    for (let earlier = attaching.get(turnId); earlier; earlier = attaching.get(turnId)) await earlier
    if (attached.has(turnId)) {
      if (repeat === 'refuse') throw alreadyAttached(turnId)
      return
    }
    const attachingNow = attach(stream)
    attaching.set(turnId, attachingNow.then(() => {}, () => {}))
    try {
      await attachingNow
    } finally {
      attaching.delete(turnId)
    }
  }

  const attach = async (stream: TurnStream): Promise<void> => {
    const { turnId } = stream
    // A replay is sent at once (it is in memory already), but only to a peer within the bound:
    // replays cannot pile up behind one another (a peer that stopped reading and keeps sending
    // `resume` frames is closed). Live events then count from where the replay left the buffer.
    if (socket.readyState !== socket.OPEN || tooFarBehind(0)) return
    let allowance = Infinity
    let ended = false
    const send = (event: TurnEvent) => {
      if (ended) return
      if (!deliver(wsFrame(event), allowance) || isFinalEvent(event)) {
        ended = true
        attached.get(turnId)?.close()
      }
    }
    const subscription = await stream.attach(send)
    // Replayed to its end, or the peer is gone or too slow: nothing to follow.
    if (ended || subscription.done || socket.readyState !== socket.OPEN) return subscription.close()
    flush() // the replay's bytes count once the kernel has had them
    allowance = socket.bufferedAmount
    attached.set(turnId, {
      close() {
        subscription.close()
        attached.delete(turnId)
        closeIfIdle()
      },
      done: false,
    })
  }

  const handle = async (frame: ClientFrame) => {
    if (frame.type === 'auth') return reauthenticate(frame.token)
    if (expired) throw new AppError('token_expired', 'The token expired: send an auth frame with a fresh token, or reconnect')
    if (restarting && frame.type !== 'cancel') throw shuttingDown()
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
          // A retried turn frame of a turn streaming here already: nothing more to do.
          return await follow(await turns.start(caller, input), 'ignore')
        } finally {
          starting--
        }
      }
      case 'resume':
        if (attached.has(frame.turnId)) throw alreadyAttached(frame.turnId)
        return follow(await turns.follow(caller, frame.turnId, frame.lastEventId), 'refuse')
      case 'cancel':
        return turns.cancel(caller, frame.turnId)
    }
  }

  socket.on('message', (raw, isBinary) => {
    if (socket.readyState !== socket.OPEN) return // closing: nothing more is sent, so nothing is done
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

  return {
    restart(now = false) {
      restarting = true
      if (now) closeForRestart()
      else closeIfIdle()
    },
  }
}
