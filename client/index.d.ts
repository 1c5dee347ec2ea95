// Type declarations for the gateway client (client/index.js), written by hand: the library is
// plain JavaScript with no build step.

export type ConnectionState = 'idle' | 'connecting' | 'online' | 'reconnecting' | 'offline' | 'signed-out' | 'closed'
export type TurnState = 'queued' | 'sending' | 'streaming' | 'complete' | 'failed' | 'cancelled'
export type ErrorPolicy = 'fail' | 'retry' | 'resume' | 'refresh' | 'cancelled' | 'unsaved'

/** Every error code of the contract, plus the few HTTP-level ones the gateway uses. */
export type ErrorCode =
  | 'bad_request' | 'payload_too_large' | 'unauthorized' | 'token_expired' | 'forbidden' | 'not_found'
  | 'rate_limited' | 'too_many_turns' | 'cancelled' | 'upstream_failed' | 'upstream_rate_limited'
  | 'storage_failed' | 'storage_unavailable' | 'shutting_down' | 'interrupted' | 'turn_unavailable' | 'hub_unavailable' | 'internal'

export type Unsubscribe = () => void

export declare class Emitter<Events extends Record<string, unknown>> {
  on<K extends keyof Events & string>(type: K, listener: (value: Events[K]) => void): Unsubscribe
  once<K extends keyof Events & string>(type: K, listener: (value: Events[K]) => void): Unsubscribe
  emit<K extends keyof Events & string>(type: K, value: Events[K]): void
}

/** An event of a turn, as either transport delivers it. */
export interface TurnEvent {
  type: 'metadata' | 'typing' | 'message' | 'complete' | 'storage' | 'replace' | 'error' | (string & {})
  /** `<turnId>:<seq>` */
  id: string
  turnId: string
  data: Record<string, unknown>
}

export interface TurnMetadata {
  sessionId: string
  turnId: string
  animalId: string
  animalName: string
  model: string
  createdAt: string
}

export interface SafetyFlag { category: string; severity: 'low' | 'medium' | 'high'; source: 'input' | 'output' | 'provider' }
export interface Safety { action: 'allow' | 'redirect' | 'support'; flags: SafetyFlag[] }

export interface TurnComplete {
  reply: string
  usage: { promptTokens: number; completionTokens: number; totalTokens: number; estimated?: boolean }
  latencyMs: number
  finishReason?: string
  safety?: Safety
  [key: string]: unknown
}

export interface TurnInput {
  animalId: string
  message: string
  sessionId?: string
  /** Idempotency key; generated when omitted. A resend with the same key gets the same turn. */
  clientTurnId?: string
}

export interface TurnEvents {
  [key: string]: unknown
  state: TurnState
  metadata: TurnMetadata
  typing: boolean
  /** A new chunk of the reply. */
  delta: string
  /** The turn's whole text, whenever it changes (delta, replace, a retry clearing it). */
  text: string
  replace: { reply: string; reason?: string }
  complete: TurnComplete
  /** The turn will be sent again after `delayMs` (a passing error). */
  retry: { attempt: number; delayMs: number; error: GatewayError }
  /** The turn ended with this error (state 'failed'). */
  error: GatewayError
  /** The turn ended: complete, failed or cancelled. */
  end: Turn
  /** Each event taken, once. */
  event: TurnEvent
}

export declare class Turn extends Emitter<TurnEvents> {
  constructor(input: TurnInput, owner: { cancel(turn: Turn): void })
  readonly animalId: string
  readonly message: string
  sessionId: string | undefined
  clientTurnId: string
  state: TurnState
  turnId: string | undefined
  /** The reply so far (or the safe text a `replace` put in its place). */
  text: string
  lastEventId: string | undefined
  metadata: TurnMetadata | undefined
  result: TurnComplete | undefined
  safety: Safety | undefined
  /** true once stored; false when the reply was shown but could not be stored. */
  saved: boolean | undefined
  error: GatewayError | undefined
  attempt: number
  replaced: boolean
  allowNewSession?: boolean
  readonly isFinal: boolean
  /** Resolves with the turn once it has ended, whichever way (never rejects). */
  readonly done: Promise<Turn>
  cancel(): void
  accept(event: TurnEvent): boolean
  setState(state: TurnState): void
}

export interface TokenRequest {
  reason: 'connect' | 'rotate' | 'refused'
  /** The token in use now, if any. */
  current: string | undefined
}

export interface GatewayClientOptions {
  /** The gateway's base URL (http or https); the page's origin in a browser. */
  url?: string | URL
  /**
   * Returns the token to use. `reason` says why it is asked: 'connect' (the first connection: the
   * stored token will do), 'rotate' (the current one expires soon: a new one, please) or 'refused'
   * (the server refused the current one, or it ran out: a new one, please).
   */
  getToken(context: TokenRequest): string | undefined | null | Promise<string | undefined | null>
  /** 'auto' (default): WebSocket, SSE when WebSockets cannot get through. */
  transport?: 'auto' | 'websocket' | 'sse'
  /** Reconnect backoff: full jitter over [0, min(maxMs, baseMs * 2^attempt)). Defaults 500 / 15000. */
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number }
  /** Delay before a turn is sent again after a passing error, full jitter too. Defaults 1000 / 15000. */
  retryBackoff?: { baseMs?: number; maxMs?: number; random?: () => number }
  /** Retries of one turn after a passing error (default 3). */
  maxRetries?: number
  /** A socket with a running turn and no frame for this long is replaced (default 45000). */
  stallMs?: number
  /** A WebSocket not open after this long is given up and tried again (default 10000). */
  connectTimeoutMs?: number
  /** Rotate the token this long before it expires, at most half its remaining life (default 60000). */
  refreshBeforeMs?: number
  /** WebSocket constructor (default globalThis.WebSocket; the `ws` package works too). */
  WebSocket?: unknown
  /** fetch (default globalThis.fetch). */
  fetch?: typeof fetch
}

export interface GatewayClientEvents {
  [key: string]: unknown
  state: ConnectionState
  /** A connection closed (or failed to open) with this close code. */
  disconnect: { code: number; opened: boolean }
  /** The next connection attempt comes after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number }
  /** A new token is in use. */
  token: { expiresAt: number | undefined }
  /** The server accepted a new token on the open socket (`auth` frame). */
  auth: { expiresAt: number | undefined }
  /** No usable token: getToken() gave none, an expired one, or the server refused it. */
  'signed-out': { reason: 'missing' | 'expired' | 'refused' }
  /** 'auto' fell back to SSE. */
  transport: 'sse'
  /** A turn's session was gone; it was sent again in a new session. */
  'session-lost': { turn: Turn }
  warning: { code: string; message: string }
}

export declare class GatewayClient extends Emitter<GatewayClientEvents> {
  constructor(options: GatewayClientOptions)
  readonly state: ConnectionState
  readonly transport: 'websocket' | 'sse'
  readonly pending: Turn[]
  connect(): void
  startTurn(input: TurnInput): Turn
  submit(turn: Turn): Turn
  cancel(turn: Turn): void
  /** Asks getToken() for a new token now; true when one was put to use. */
  rotateToken(): Promise<boolean>
  close(): void
}

export declare class Conversation {
  constructor(client: GatewayClient, options: { animalId: string; sessionId?: string })
  readonly animalId: string
  sessionId: string | undefined
  turns: Turn[]
  send(message: string): Turn
  /** Cancels running turns and forgets the session. */
  reset(): void
}

export declare class GatewayError extends Error {
  constructor(code: string, message: string, options?: { retryable?: boolean; status?: number })
  readonly code: ErrorCode | (string & {})
  readonly retryable: boolean
  readonly status: number | undefined
  static from(data: unknown, status?: number): GatewayError
}

export declare const ERROR_POLICY: Readonly<Record<ErrorCode, ErrorPolicy>>
export declare function policyFor(code: string, retryable?: boolean): ErrorPolicy
export declare function backoffDelay(attempt: number, options?: { baseMs?: number; maxMs?: number; random?: () => number }): number
export declare function decodeToken(token: string): Record<string, unknown> | undefined
export declare function expiresAt(token: string): number | undefined
export declare function randomId(): string
export declare function readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<{ type: string; id: string | undefined; data: string }>
