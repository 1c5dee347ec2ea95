// The gateway client: one long-lived connection (a WebSocket, or SSE over fetch where WebSockets
// cannot get through), many turns on it, and everything a kiosk on shaky Wi-Fi needs:
//
// - a dropped connection (network loss, close 1012 on a redeploy, 1013, anything) is reconnected
//   with exponential backoff and full jitter, and every unfinished turn resumes from the last
//   event id it saw (the server replays the rest exactly once; the turn also drops any event it
//   has already seen, by sequence number);
// - a message sent while offline waits in a queue and goes out once, with its clientTurnId, when
//   the connection is back (a resend of the same key gets the same turn: the model is asked once);
// - the token is rotated before it expires: getToken({ reason: 'rotate' }) is asked for a new one, which replaces the
//   socket's token with an `auth` frame (no reconnect); a server that does not know the frame gets
//   the new token on the next connection instead;
// - every error code of the contract has one policy (errors.js): fail, retry, refresh the token,
//   cancelled, or unsaved.
//
// Turn frames are sent one at a time: the server's metadata event does not name the
// clientTurnId, so the next turn frame waits until the previous one has been answered (its
// metadata or its error). Turns still stream side by side once started.
import { backoffDelay } from './backoff.js'
import { Emitter } from './emitter.js'
import { GatewayError, policyFor } from './errors.js'
import { readSse } from './sse.js'
import { expiresAt } from './token.js'
import { Turn } from './turn.js'

/** Ask for a new token this long before the current one expires (at most half its remaining life). */
const REFRESH_BEFORE_MS = 60_000
/** A token this close to expiry is not used to open a connection. */
const MIN_TOKEN_LIFE_MS = 2_000
/** Application close code this client uses when it gives up on a socket itself. */
const CLOSE_CLIENT_RECONNECT = 4000
/** Failed WebSocket opens (with the server reachable over HTTP) before 'auto' falls back to SSE. */
const WS_FAILURES_BEFORE_SSE = 2

export class GatewayClient extends Emitter {
  #url
  #getToken
  #WebSocket
  #fetch
  #transport
  #backoff
  #retryBackoff
  #maxRetries
  #stallMs
  #connectTimeoutMs
  #connectTimer
  #refreshBeforeMs
  #state = 'idle'
  #closed = false
  #started = false

  #token
  #tokenExpiresAt
  #tokenStale = false
  /** false once the server answered an `auth` frame with bad_request (it does not know it). */
  #authFrames = true
  #pendingAuth
  #rotateTimer

  #socket
  #connecting = false
  #reconnectAttempt = 0
  #reconnectTimer
  #stallTimer
  #wsFailures = 0

  /** Unfinished turns, in the order they were sent. */
  #turns = new Set()
  #byClientTurnId = new Map()
  #byTurnId = new Map()
  /** The turn whose turn frame awaits its answer (metadata or error) on the current socket. */
  #awaitingStart
  #retryTimers = new Map()
  #sseAborts = new Map()
  #unlisten = []

  /**
   * @param {import('./index.js').GatewayClientOptions} options
   */
  constructor(options) {
    super()
    if (typeof options?.getToken !== 'function') throw new TypeError('getToken must be a function that returns the token')
    const base = options.url ?? globalThis.location?.origin
    if (!base) throw new TypeError('url is required outside a browser')
    this.#url = new URL(base)
    this.#getToken = options.getToken
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.#transport = options.transport ?? 'auto'
    if (this.#transport !== 'sse' && !this.#WebSocket) this.#transport = 'sse'
    this.#backoff = { baseMs: 500, maxMs: 15_000, ...options.backoff }
    this.#retryBackoff = { baseMs: 1000, maxMs: 15_000, ...options.retryBackoff }
    this.#maxRetries = options.maxRetries ?? 3
    this.#stallMs = options.stallMs ?? 45_000
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.#refreshBeforeMs = options.refreshBeforeMs ?? REFRESH_BEFORE_MS

    // Browsers say when the network comes and goes: reconnect at once when it is back.
    if (typeof globalThis.addEventListener === 'function') {
      const online = () => this.#networkBack()
      const offline = () => { if (this.#state !== 'online') this.#setState('offline') }
      globalThis.addEventListener('online', online)
      globalThis.addEventListener('offline', offline)
      this.#unlisten.push(() => globalThis.removeEventListener('online', online), () => globalThis.removeEventListener('offline', offline))
    }
  }

  /** 'idle' | 'connecting' | 'online' | 'reconnecting' | 'offline' | 'signed-out' | 'closed' */
  get state() { return this.#state }

  /** 'websocket' or 'sse': the transport in use (or to be used). */
  get transport() { return this.#transport === 'sse' ? 'sse' : 'websocket' }

  /** The unfinished turns (queued, sending or streaming). */
  get pending() { return [...this.#turns] }

  /** Opens the connection (turns open it too). Resolves once it is open, or the client gives up. */
  connect() {
    this.#started = true
    if (this.transport === 'websocket') this.#openSocket()
    else this.#setState('online')
  }

  /** Starts a turn; it is queued when offline and sent once the connection is back. */
  startTurn(input) {
    return this.submit(new Turn(input, this))
  }

  /** Sends a Turn built elsewhere (Conversation builds them, to hold one until its session is known). */
  submit(turn) {
    if (this.#closed) throw new Error('the client is closed')
    if (turn.message.trim() === '') throw new RangeError('message must not be empty')
    this.#turns.add(turn)
    this.#byClientTurnId.set(turn.clientTurnId, turn)
    turn.once('end', () => this.#forget(turn))
    if (this.transport === 'sse') this.#runSse(turn)
    else {
      if (!this.#started) this.connect()
      this.#pump()
    }
    return turn
  }

  /** Cancels a turn (Turn.cancel calls this): the server stores the partial reply as cancelled. */
  cancel(turn) {
    if (!turn.turnId) {
      // Not started (queued, or its frame not answered yet): a queued one simply never goes.
      if (turn.state === 'queued') turn.finish('cancelled', new GatewayError('cancelled', 'The turn was cancelled'))
      return // a sending one is cancelled as soon as its metadata names it
    }
    if (this.transport === 'sse') {
      this.#http('DELETE', `/convo_turn/${encodeURIComponent(turn.turnId)}`).catch(() => {})
    } else {
      this.#send({ type: 'cancel', turnId: turn.turnId })
    }
  }

  /** Asks getToken() for a new token now and puts it to use (on the open socket, with `auth`). */
  async rotateToken() {
    const token = await this.#getToken({ reason: 'rotate', current: this.#token })
    if (!token || token === this.#token) return false
    return this.#useToken(token)
  }

  /** Closes the connection and stops every timer; unfinished turns end as cancelled locally. */
  close() {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#reconnectTimer)
    clearTimeout(this.#rotateTimer)
    clearTimeout(this.#stallTimer)
    clearTimeout(this.#connectTimer)
    for (const timer of this.#retryTimers.values()) clearTimeout(timer)
    for (const abort of this.#sseAborts.values()) abort.abort()
    for (const off of this.#unlisten) off()
    const socket = this.#socket
    this.#socket = undefined
    if (socket) this.#detach(socket, 1000)
    for (const turn of [...this.#turns]) turn.finish('cancelled', new GatewayError('cancelled', 'The client was closed'))
    this.#setState('closed')
  }

  // ---- state and tokens ----

  #setState(state) {
    if (this.#state === state || (this.#closed && state !== 'closed')) return
    this.#state = state
    this.emit('state', state)
  }

  /** A token good enough to connect with: the current one, or a new one from getToken(). */
  async #freshToken() {
    const usable = (token) => token && (expiresAt(token) ?? Infinity) - Date.now() > MIN_TOKEN_LIFE_MS
    if (!this.#tokenStale && usable(this.#token)) return this.#token
    // 'connect' the first time; 'refused' when the server turned the current one down (401,
    // token_expired, close 4401) or it is about to run out.
    const reason = this.#token === undefined ? 'connect' : 'refused'
    const token = await this.#getToken({ reason, current: this.#token })
    this.#tokenStale = false
    if (!usable(token)) {
      this.#setState('signed-out')
      this.emit('signed-out', { reason: token ? 'expired' : 'missing' })
      return undefined
    }
    this.#setToken(token)
    return token
  }

  #setToken(token) {
    const changed = token !== this.#token
    this.#token = token
    this.#tokenExpiresAt = expiresAt(token)
    if (changed) this.emit('token', { expiresAt: this.#tokenExpiresAt })
  }

  /** Schedules the next rotation: shortly before expiry, at most half the remaining life away. */
  #scheduleRotation() {
    clearTimeout(this.#rotateTimer)
    if (this.#tokenExpiresAt === undefined || this.#closed) return
    const left = this.#tokenExpiresAt - Date.now()
    const delay = Math.max(0, left - Math.min(this.#refreshBeforeMs, left / 2))
    this.#rotateTimer = setTimeout(() => this.#rotate(), Math.min(delay, 2 ** 31 - 1))
  }

  async #rotate() {
    let rotated = false
    try {
      rotated = await this.rotateToken()
    } catch (err) {
      this.emit('warning', { code: 'token_refresh_failed', message: String(err?.message ?? err) })
    }
    if (rotated) return
    // No new token yet: ask again in a while, until the old one runs out (then the server closes
    // the socket with 4401 and the reconnect asks getToken() once more).
    const left = (this.#tokenExpiresAt ?? 0) - Date.now()
    if (left > MIN_TOKEN_LIFE_MS) this.#rotateTimer = setTimeout(() => this.#rotate(), Math.min(30_000, left / 2))
  }

  /** A new token: sent on the open socket as `auth`, or kept for the next connection. */
  #useToken(token) {
    const socket = this.#socket
    if (this.transport === 'sse' || !socket || !this.#authFrames) {
      this.#setToken(token)
      this.#scheduleRotation()
      return Promise.resolve(true)
    }
    return new Promise((resolve) => {
      this.#pendingAuth = { token, resolve }
      this.#send({ type: 'auth', token })
    })
  }

  /** The server's answer to an `auth` frame: an `auth` frame, or an error with no turn. */
  #authAnswered(error) {
    const pending = this.#pendingAuth
    this.#pendingAuth = undefined
    if (!pending) return
    if (!error) {
      this.#setToken(pending.token)
      this.#scheduleRotation()
      this.emit('auth', { expiresAt: this.#tokenExpiresAt })
      return pending.resolve(true)
    }
    if (error.code === 'bad_request') {
      // This server does not know `auth` frames: the new token is used from the next connection.
      this.#authFrames = false
      this.#setToken(pending.token)
      this.#scheduleRotation()
      return pending.resolve(true)
    }
    this.emit('warning', { code: error.code, message: `the new token was refused: ${error.message}` })
    pending.resolve(false)
  }

  // ---- WebSocket ----

  async #openSocket() {
    if (this.#closed || this.#socket || this.#connecting) return
    this.#connecting = true
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    if (this.#state !== 'offline') this.#setState(this.#reconnectAttempt === 0 && this.#state === 'idle' ? 'connecting' : 'reconnecting')
    let token
    try {
      token = await this.#freshToken()
    } catch (err) {
      this.emit('warning', { code: 'token_refresh_failed', message: String(err?.message ?? err) })
    }
    if (!token) {
      this.#connecting = false
      if (this.#state !== 'signed-out') this.#scheduleReconnect()
      return
    }
    const url = new URL('/ws', this.#url)
    url.protocol = this.#url.protocol === 'https:' ? 'wss:' : 'ws:'
    url.searchParams.set('access_token', token)
    let socket
    try {
      socket = new this.#WebSocket(url.href)
    } catch (err) {
      this.#connecting = false
      this.emit('warning', { code: 'connect_failed', message: String(err?.message ?? err) })
      return this.#scheduleReconnect()
    }
    let opened = false
    // A connection to a host that went away can hang in CONNECTING for minutes: give up sooner.
    clearTimeout(this.#connectTimer)
    const connectTimer = this.#connectTimer = setTimeout(() => {
      this.#detach(socket, CLOSE_CLIENT_RECONNECT)
      this.#connecting = false
      this.#dropped(1006, false)
    }, this.#connectTimeoutMs)
    socket.onopen = () => {
      clearTimeout(connectTimer)
      if (this.#closed) return this.#detach(socket, 1000)
      opened = true
      this.#connecting = false
      this.#socket = socket
      this.#reconnectAttempt = 0
      this.#wsFailures = 0
      this.#setState('online')
      this.#scheduleRotation()
      this.#resumeAll()
      this.#pump()
    }
    socket.onmessage = (message) => {
      if (socket !== this.#socket) return // a socket this client has let go of
      let frame
      try {
        frame = JSON.parse(typeof message.data === 'string' ? message.data : String(message.data))
      } catch {
        return
      }
      this.#armStall()
      this.#onFrame(frame)
    }
    socket.onclose = (event) => {
      clearTimeout(connectTimer)
      if (opened && socket !== this.#socket) return
      this.#connecting = false
      this.#dropped(event.code, opened)
    }
    socket.onerror = () => {} // a close follows
  }

  /** The socket closed (or never opened): put the turns back and try again after a backoff. */
  #dropped(code, opened) {
    this.#socket = undefined
    clearTimeout(this.#stallTimer)
    this.#awaitingStart = undefined
    if (this.#pendingAuth) this.#authAnswered({ code: 'disconnected', message: 'the socket closed' })
    if (this.#closed) return
    this.emit('disconnect', { code, opened })
    for (const turn of this.#turns) if (turn.state === 'sending') turn.setState('queued')
    if (code === 4401) this.#tokenStale = true // the token expired: ask getToken() first
    if (!opened) return this.#failedOpen()
    this.#scheduleReconnect()
  }

  /**
   * A socket that never opened tells a browser nothing (a refused upgrade looks like a network
   * error): one HTTP request says whether the token was refused, the server is unreachable, or
   * only WebSockets are blocked on the way (then 'auto' switches to SSE).
   */
  async #failedOpen() {
    let status
    try {
      status = (await this.#http('GET', '/animals')).status
    } catch {
      status = undefined // unreachable
    }
    if (this.#closed) return
    if (status === 401) this.#tokenStale = true
    else if (status !== undefined && status < 500 && ++this.#wsFailures >= WS_FAILURES_BEFORE_SSE && this.#transport === 'auto') {
      this.#transport = 'sse'
      this.emit('transport', 'sse')
      this.#setState('online')
      for (const turn of this.#turns) this.#runSse(turn)
      return
    }
    this.#scheduleReconnect()
  }

  #scheduleReconnect() {
    if (this.#closed || this.#reconnectTimer || this.#state === 'signed-out') return
    const delay = backoffDelay(this.#reconnectAttempt++, this.#backoff)
    if (this.#state !== 'offline') this.#setState(globalThis.navigator?.onLine === false ? 'offline' : 'reconnecting')
    this.emit('reconnecting', { attempt: this.#reconnectAttempt, delayMs: delay })
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      this.#openSocket()
    }, delay)
  }

  #networkBack() {
    if (this.#closed || this.#socket || this.transport === 'sse') return
    this.#reconnectAttempt = 0
    if (this.#state === 'offline') this.#setState('reconnecting')
    if (this.#reconnectTimer) this.#openSocket()
  }

  /** A streaming turn whose socket went quiet for stallMs is on a dead connection: reconnect. */
  #armStall() {
    clearTimeout(this.#stallTimer)
    if (![...this.#turns].some((turn) => turn.state === 'sending' || turn.state === 'streaming')) return
    this.#stallTimer = setTimeout(() => {
      const socket = this.#socket
      if (!socket) return
      this.#detach(socket, CLOSE_CLIENT_RECONNECT)
      this.#dropped(CLOSE_CLIENT_RECONNECT, true)
    }, this.#stallMs)
  }

  /** Lets go of a socket: its late events are ignored from now on. */
  #detach(socket, code) {
    socket.onopen = socket.onmessage = socket.onclose = null
    try { socket.close(code) } catch { /* already closing */ }
  }

  #send(frame) {
    const socket = this.#socket
    if (!socket || socket.readyState !== 1) return false
    socket.send(JSON.stringify(frame))
    return true
  }

  /** After a (re)connect: every started turn asks for the events after the last one it saw. */
  #resumeAll() {
    for (const turn of this.#turns) {
      if (!turn.turnId) continue
      this.#send({ type: 'resume', turnId: turn.turnId, ...(turn.lastEventId ? { lastEventId: turn.lastEventId } : {}) })
      if (turn.cancelRequested) this.#send({ type: 'cancel', turnId: turn.turnId })
    }
    this.#armStall()
  }

  /** Sends the next queued turn frame, if none is awaiting its answer. */
  #pump() {
    if (this.#awaitingStart || !this.#socket || this.transport === 'sse') return
    const next = [...this.#turns].find((turn) => turn.state === 'queued' && !turn.turnId && !this.#retryTimers.has(turn))
    if (!next) return
    this.#awaitingStart = next
    next.setState('sending')
    this.#send(next.turnFrame())
    this.#armStall()
  }

  #onFrame(frame) {
    if (frame.type === 'auth') return this.#authAnswered()
    const key = frame.turnId
    const turn = (key && (this.#byTurnId.get(key) ?? this.#byClientTurnId.get(key))) ?? (frame.type === 'metadata' ? this.#awaitingStart : undefined)
    if (frame.type === 'error' && frame.id == null) {
      // An error about a frame (no event id): a refused turn, resume or cancel, or the auth frame.
      if (!turn) return this.#authAnswered(GatewayError.from(frame.data))
      return this.#frameRefused(turn, GatewayError.from(frame.data))
    }
    if (!turn) return
    this.#onEvent(turn, frame)
  }

  /** One event of a turn, from either transport. */
  #onEvent(turn, event) {
    // The stream was cut, not the turn: this error repeats the last event's id, so it is not a new event.
    if (event.type === 'error' && policyFor(event.data?.code, event.data?.retryable) === 'resume') {
      return this.#handleError(turn, GatewayError.from(event.data), true)
    }
    if (event.type === 'metadata' && !turn.turnId) {
      this.#byTurnId.set(event.data.turnId, turn)
      if (this.#awaitingStart === turn) {
        this.#awaitingStart = undefined
        queueMicrotask(() => this.#pump())
      }
    }
    if (!turn.accept(event)) return
    if (event.type === 'metadata' && turn.cancelRequested) this.cancel(turn)
    if (event.type === 'error') this.#turnFailed(turn, GatewayError.from(event.data))
  }

  /** A turn, resume or cancel frame was refused before any event. */
  #frameRefused(turn, error) {
    if (this.#awaitingStart === turn) {
      this.#awaitingStart = undefined
      queueMicrotask(() => this.#pump())
    }
    if (error.code === 'not_running') return // a cancel for a turn that had already ended
    // The session is gone (deleted by a parent, or a store that forgot it): start a new one.
    if (error.code === 'not_found' && !turn.turnId && turn.sessionId && /session/i.test(error.message) && turn.allowNewSession) {
      turn.sessionId = undefined
      turn.setState('queued')
      this.emit('session-lost', { turn })
      return this.#pump()
    }
    this.#handleError(turn, error, false)
  }

  /** The turn's stream ended with an `error` event. */
  #turnFailed(turn, error) {
    this.#handleError(turn, error, true)
  }

  #handleError(turn, error, started) {
    const policy = policyFor(error.code, error.retryable)
    if (policy === 'cancelled' || turn.cancelRequested) return turn.finish('cancelled', error)
    if (policy === 'unsaved') return turn.finish('complete', error)
    if ((policy === 'refresh' || policy === 'retry' || policy === 'resume') && turn.attempt < this.#maxRetries) {
      // A refused frame is sent again with the same key; a failed generation is stored as failed
      // under its key, so the new attempt gets a new one; a cut stream is resumed (#dispatch).
      if (started && policy !== 'resume') turn.restart()
      else {
        turn.attempt++
        if (!turn.turnId) turn.setState('queued')
      }
      if (policy === 'refresh') return this.#refreshAndResend()
      const delayMs = backoffDelay(turn.attempt - 1, this.#retryBackoff)
      turn.emit('retry', { attempt: turn.attempt, delayMs, error })
      this.#retryTimers.set(turn, setTimeout(() => {
        this.#retryTimers.delete(turn)
        if (!turn.isFinal) this.#dispatch(turn)
      }, delayMs))
      return
    }
    turn.finish('failed', error)
    if (policy === 'refresh') {
      this.#setState('signed-out')
      this.emit('signed-out', { reason: 'refused' })
    }
  }

  /**
   * token_expired or unauthorized: the next request asks getToken() first. Over WebSocket the
   * socket is replaced (its turns resume, refused frames are sent again on the new one); over SSE
   * the turn's own loop simply goes on.
   */
  #refreshAndResend() {
    this.#tokenStale = true
    const socket = this.#socket
    if (this.transport === 'websocket' && socket) {
      this.#detach(socket, CLOSE_CLIENT_RECONNECT)
      this.#dropped(CLOSE_CLIENT_RECONNECT, true)
    }
  }

  /** Sends a turn again after a retry delay: its turn frame, or a resume for a started one. */
  #dispatch(turn) {
    this.#byClientTurnId.set(turn.clientTurnId, turn)
    if (this.transport === 'sse') return this.#runSse(turn)
    if (!turn.turnId) return this.#pump()
    this.#send({ type: 'resume', turnId: turn.turnId, ...(turn.lastEventId ? { lastEventId: turn.lastEventId } : {}) })
  }

  #forget(turn) {
    this.#turns.delete(turn)
    clearTimeout(this.#retryTimers.get(turn))
    this.#retryTimers.delete(turn)
    this.#sseAborts.get(turn)?.abort()
    this.#sseAborts.delete(turn)
    for (const [key, value] of this.#byClientTurnId) if (value === turn) this.#byClientTurnId.delete(key)
    for (const [key, value] of this.#byTurnId) if (value === turn) this.#byTurnId.delete(key)
    if (this.#awaitingStart === turn) this.#awaitingStart = undefined
    this.#armStall()
    this.#pump()
  }

  // ---- SSE over fetch ----

  async #http(method, path, { body, headers = {}, signal } = {}) {
    const token = await this.#freshToken()
    if (!token) throw new GatewayError('unauthorized', 'No usable token', { status: 401 })
    return this.#fetch(new URL(path, this.#url), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
      signal,
    })
  }

  /**
   * Runs one turn over SSE until it ends: POST /convo_turn (again with the same clientTurnId if it
   * dropped before the metadata), or GET /convo_turn/{turnId}/stream with Last-Event-ID. It stops
   * when the turn waits for a retry (the retry timer runs it again).
   */
  async #runSse(turn) {
    if (this.#sseAborts.has(turn) || turn.isFinal) return
    const abort = new AbortController()
    this.#sseAborts.set(turn, abort)
    const waiting = () => turn.isFinal || abort.signal.aborted || this.#retryTimers.has(turn)
    let drops = 0
    try {
      while (!waiting()) {
        const key = turn.clientTurnId
        let response
        try {
          response = turn.turnId
            ? await this.#http('GET', `/convo_turn/${encodeURIComponent(turn.turnId)}/stream`, {
              headers: { accept: 'text/event-stream', ...(turn.lastEventId ? { 'last-event-id': turn.lastEventId } : {}) },
              signal: abort.signal,
            })
            : await this.#http('POST', '/convo_turn', { body: { ...turn.turnFrame(), type: undefined }, headers: { accept: 'text/event-stream' }, signal: abort.signal })
        } catch (err) {
          if (abort.signal.aborted) return
          if (err instanceof GatewayError) return turn.finish('failed', err) // no usable token
        }
        if (response?.status === 204) return turn.finish('complete') // nothing after our last event
        if (response && !response.ok) {
          this.#handleError(turn, GatewayError.from(await response.json().catch(() => ({})), response.status), false)
          continue
        }
        if (response) {
          this.#setState('online')
          drops = 0
          if (turn.state === 'queued') turn.setState('sending')
          try {
            for await (const event of readSse(response.body)) {
              let data
              try { data = JSON.parse(event.data) } catch { continue }
              this.#onEvent(turn, { type: event.type, id: event.id, turnId: turn.turnId ?? data.turnId, data })
              if (waiting() || turn.clientTurnId !== key) break // ended, or restarted under a new key
            }
          } catch {
            if (abort.signal.aborted) return
          }
          if (waiting() || turn.clientTurnId !== key) continue
        }
        // The stream dropped (or never came): try again, resuming, after a backoff.
        this.#setState(globalThis.navigator?.onLine === false ? 'offline' : 'reconnecting')
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(drops++, this.#backoff)))
      }
    } finally {
      if (this.#sseAborts.get(turn) === abort) this.#sseAborts.delete(turn)
    }
  }
}
