// The conversation engine: one turn from request to stored reply, free of any framework.
// startTurn validates and opens the turn's event log, then generation runs on its own: a client
// that disconnects does not stop it; only cancel() (or shutdown) does.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { contextTurns } from './context.ts'
import { AppError, badRequest, errorData, notFound, type ErrorData } from './errors.ts'
import type { Log } from './log.ts'
import type { EventListener, LlmProvider, StoragePort, Subscription, TurnHub, TurnInfo, TurnWriter } from './ports.ts'
import { buildMessages } from './prompt.ts'
import { CANCELLED, completeData, metadataData, storageData, storedTurnEvents, storedTurnInfo } from './stored-turn.ts'
import type { TurnEndObserver, TurnEnding } from './turn-observer.ts'
import type { Animal, Caller, Sampling, Session, Turn, TurnStatus } from './types.ts'

export const MAX_MESSAGE_LENGTH = 2000
const MAX_UNSTORED = 10_000

export interface TurnInput {
  animalId: string
  message: string
  sessionId?: string
  clientTurnId?: string
  /** Temperature and token budget for this reply (the OpenAI-compatible facade passes the client's). */
  sampling?: Sampling
}

export interface StartedTurn {
  turnId: string
  sessionId: string
}

export interface EngineOptions {
  storage: StoragePort
  llm: LlmProvider
  hub: TurnHub
  log: Log
  /** How many earlier messages go to the model as context. */
  contextMessages: number
  maxConcurrentTurnsPerUser: number
}

const SHUTTING_DOWN: ErrorData = { code: 'shutting_down', message: 'The server is restarting; please send the message again', retryable: true }

/** Why a turn's abort controller fired: a client's cancel, or the server shutting down. */
class ShutdownAbort extends Error {}

export class ConversationEngine {
  readonly #storage: StoragePort
  readonly #llm: LlmProvider
  readonly #hub: TurnHub
  readonly #log: Log
  readonly #contextMessages: number
  readonly #maxPerUser: number
  readonly #running = new Map<string, { done: Promise<void>; abort: AbortController }>()
  readonly #runningPerUser = new Map<string, number>()
  /** startTurn calls in progress per (user, clientTurnId): duplicates on this instance wait for the first. */
  readonly #starting = new Map<string, Promise<StartedTurn>>()
  /** Turns with a clientTurnId that ended without being stored: a retry with that key runs afresh. */
  readonly #unstored = new Set<string>()
  readonly #endObservers: TurnEndObserver[] = []
  #draining = false

  constructor(options: EngineOptions) {
    this.#storage = options.storage
    this.#llm = options.llm
    this.#hub = options.hub
    this.#log = options.log
    this.#contextMessages = options.contextMessages
    this.#maxPerUser = options.maxConcurrentTurnsPerUser
  }

  /** Calls `observer` after every turn has ended (stored or not), off the stream's path. */
  observeTurnEnds(observer: TurnEndObserver): void {
    this.#endObservers.push(observer)
  }

  /**
   * Validates the request, resolves or creates the session and starts generation. Errors a
   * client caused (unknown animal or session, bad message) are thrown here, before any event.
   * A retried clientTurnId returns the turn it started the first time, and asks the model nothing.
   */
  async startTurn(caller: Caller, input: TurnInput): Promise<StartedTurn> {
    if (!input.clientTurnId) return this.#beginTurn(caller, input)
    const key = JSON.stringify([caller.sub, input.clientTurnId])
    const started = this.#starting.get(key) ?? this.#beginTurn(caller, input).finally(() => this.#starting.delete(key))
    this.#starting.set(key, started)
    return started
  }

  async #beginTurn(caller: Caller, input: TurnInput): Promise<StartedTurn> {
    const startedAt = performance.now()
    if (this.#draining) throw new AppError('shutting_down', SHUTTING_DOWN.message)
    const message = normalizeMessage(input.message)
    // Every read the prompt needs, at once: each is a storage round trip before the model is asked.
    // The context is read before the session's owner is checked, and dropped if the check fails.
    const [animal, session, history] = await Promise.all([
      this.#storage.getAnimal(input.animalId),
      input.sessionId ? this.#storage.getSession(input.sessionId) : undefined,
      input.sessionId ? contextTurns(this.#storage, input.sessionId, this.#contextMessages) : [],
    ])
    if (!animal) throw notFound(`animal '${input.animalId}'`, 'animalId')
    const existing = input.sessionId ? ownSession(caller, input.sessionId, session, animal) : undefined

    const turnId = randomUUID()
    if (input.clientTurnId) {
      const earlier = await this.#claim(caller.sub, input.clientTurnId, turnId)
      if (earlier) return earlier
    }
    if ((this.#runningPerUser.get(caller.sub) ?? 0) >= this.#maxPerUser) {
      throw new AppError('too_many_turns', `At most ${this.#maxPerUser} turns may run at once; wait for one to finish`)
    }

    const createdAt = new Date().toISOString()
    const sessionId = existing?.sessionId ?? randomUUID()
    const info: TurnInfo = { turnId, sessionId, userId: caller.sub, animalId: animal.animalId, animalName: animal.name, model: this.#llm.model, createdAt }
    const abort = new AbortController()
    // The log opens before any further await, so a concurrent retry of the same clientTurnId finds it.
    const writer = this.#hub.open(info, abort)
    try {
      if (!existing) await this.#storage.createSession(newSession(info))
      const turn: Turn = {
        turnId, sessionId, userId: caller.sub, animalId: animal.animalId, clientTurnId: input.clientTurnId,
        userMessage: message, reply: '', status: 'failed', createdAt, latencyMs: 0, model: this.#llm.model,
        usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      }
      const ending: Omit<TurnEnding, 'stored'> = { animal, newSession: !existing, timing: { startedAt: epochMs(startedAt), endedAt: 0 } }
      this.#track(caller.sub, turnId, abort, this.#generate(writer, info, turn, animal, history, abort.signal, startedAt, input.sampling, ending))
    } catch (err) {
      writer.emit('error', errorData(err))
      this.#markUnstored(turnId, input.clientTurnId)
      throw err
    }
    return { turnId, sessionId }
  }

  /** Who a turn belongs to, from the live log or from storage; undefined when unknown. */
  async describeTurn(turnId: string): Promise<TurnInfo | undefined> {
    const live = await this.#hub.info(turnId)
    if (live) return live
    const stored = await this.#storage.getTurn(turnId)
    return stored && storedTurnInfo(stored, await this.#animalName(stored.animalId))
  }

  /** Replays a turn's events after `afterSeq`, then follows it live. Undefined when unknown. */
  async attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined> {
    const live = await this.#hub.attach(turnId, afterSeq, listener)
    if (live) return live
    const stored = await this.#storage.getTurn(turnId)
    if (!stored) return undefined
    for (const event of storedTurnEvents(stored, await this.#animalName(stored.animalId))) {
      if (event.seq > afterSeq) listener(event)
    }
    return { close() {}, done: true }
  }

  async cancel(turnId: string): Promise<boolean> {
    return this.#hub.cancel(turnId)
  }

  /**
   * Lets running turns finish for up to `graceMs`, then aborts the rest, which are stored as
   * failed with what they had. Resolves when every turn is stored (or its storing failed).
   * New turns are refused from now on.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true
    const all = () => Promise.allSettled([...this.#running.values()].map((r) => r.done))
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), graceMs) })
    const outcome = await Promise.race([all(), deadline])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      for (const { abort } of this.#running.values()) abort.abort(new ShutdownAbort('server shutting down'))
      await all()
    }
  }

  async #generate(
    writer: TurnWriter, info: TurnInfo, turn: Turn, animal: Animal, history: Turn[], signal: AbortSignal, startedAt: number,
    sampling: Sampling | undefined, ending: Omit<TurnEnding, 'stored'>,
  ): Promise<void> {
    writer.emit('metadata', metadataData(info))
    writer.emit('typing', { state: 'start' })
    let reply = ''
    let index = 0
    const { timing } = ending
    try {
      const messages = buildMessages(animal, history, turn.userMessage, this.#contextMessages)
      timing.modelStartedAt = epochMs()
      for await (const chunk of this.#llm.stream({ animal, messages, question: turn.userMessage, signal, sampling })) {
        if (chunk.type === 'deltas') {
          if (index === 0) {
            turn.firstTokenMs = Math.round(performance.now() - startedAt)
            timing.firstChunkAt = epochMs()
          }
          for (const text of chunk.texts) {
            reply += text
            writer.emit('message', { delta: text, index: index++ })
          }
        } else {
          Object.assign(turn, { usage: chunk.usage, finishReason: chunk.finishReason, model: chunk.model, status: 'complete' satisfies TurnStatus })
        }
      }
      if (turn.status !== 'complete') throw new Error('the model stream ended without an end chunk')
    } catch (err) {
      timing.modelEndedAt ??= epochMs()
      return this.#endEarly(writer, turn, reply, startedAt, signal, err, ending)
    }
    timing.modelEndedAt = epochMs()
    turn.reply = reply
    turn.latencyMs = Math.round(performance.now() - startedAt)
    writer.emit('typing', { state: 'stop' })
    writer.emit('complete', completeData(turn))
    turn.endSeq = writer.nextSeq
    let stored = false
    try {
      await this.#storage.saveTurn(turn)
      stored = true
      writer.emit('storage', storageData(turn))
    } catch (err) {
      this.#log.error({ err, turnId: turn.turnId }, 'reply generated but not stored')
      this.#markUnstored(turn.turnId, turn.clientTurnId)
      writer.emit('error', { code: 'storage_failed', message: 'The reply could not be saved; please try again', retryable: true })
    }
    this.#ended(turn, { ...ending, stored })
  }

  /** Cancel, shutdown or failure: store what was said (so nothing is lost), then end the stream. */
  async #endEarly(
    writer: TurnWriter, turn: Turn, reply: string, startedAt: number, signal: AbortSignal, err: unknown, ending: Omit<TurnEnding, 'stored'>,
  ): Promise<void> {
    const shutdown = signal.aborted && signal.reason instanceof ShutdownAbort
    turn.status = signal.aborted && !shutdown ? 'cancelled' : 'failed'
    turn.reply = reply
    turn.latencyMs = Math.round(performance.now() - startedAt)
    turn.finishReason = turn.status
    writer.emit('typing', { state: 'stop' })
    turn.endSeq = writer.nextSeq
    const errorEvent: ErrorData = turn.status === 'cancelled' ? CANCELLED : shutdown ? SHUTTING_DOWN : errorData(err)
    if (!signal.aborted) this.#log.warn({ err, turnId: turn.turnId }, 'turn failed')
    let stored = false
    try {
      await this.#storage.saveTurn(turn)
      stored = true
    } catch (storeErr) {
      this.#log.error({ err: storeErr, turnId: turn.turnId }, 'partial turn not stored')
      this.#markUnstored(turn.turnId, turn.clientTurnId)
    }
    writer.emit('error', errorEvent)
    this.#ended(turn, { ...ending, stored })
  }

  /** Tells the observers, on a later tick: the turn's last event goes out first. */
  #ended(turn: Turn, ending: TurnEnding): void {
    if (this.#endObservers.length === 0) return
    ending.timing.endedAt = epochMs()
    setImmediate(() => {
      for (const observer of this.#endObservers) {
        try {
          observer(turn, ending)
        } catch (err) {
          this.#log.error({ err, turnId: turn.turnId }, 'a turn observer failed')
        }
      }
    })
  }

  #track(userId: string, turnId: string, abort: AbortController, generation: Promise<void>): void {
    this.#runningPerUser.set(userId, (this.#runningPerUser.get(userId) ?? 0) + 1)
    const done = generation
      .catch((err) => this.#log.error({ err, turnId }, 'turn generation crashed'))
      .finally(() => {
        this.#running.delete(turnId)
        const left = (this.#runningPerUser.get(userId) ?? 1) - 1
        if (left > 0) this.#runningPerUser.set(userId, left)
        else this.#runningPerUser.delete(userId)
      })
    this.#running.set(turnId, { done, abort })
  }

  /**
   * Claims clientTurnId for the new turn `turnId`; undefined when it got the key. An earlier turn
   * with the key that is running or stored (whatever its status) is the answer instead. One that
   * will never be stored (its storing failed, or it never started) hands the key over, so a
   * retry after storage_failed runs the turn again rather than replaying the failure forever.
   */
  async #claim(userId: string, clientTurnId: string, turnId: string): Promise<StartedTurn | undefined> {
    const claim = await this.#storage.claimClientTurn(userId, clientTurnId, turnId)
    if (claim.claimed) return undefined
    const earlier = await this.#liveOrStored(claim.turnId)
    if (earlier) return earlier
    const takeover = await this.#storage.reclaimClientTurn(userId, clientTurnId, claim.turnId, turnId)
    if (takeover.claimed) {
      this.#unstored.delete(claim.turnId)
      return undefined
    }
    // Another instance took the key over a moment ago and has not opened its turn yet.
    const winner = await this.#liveOrStored(takeover.turnId)
    if (!winner) throw new AppError('turn_unavailable', 'This clientTurnId is in use by a turn that is just starting; retry in a moment')
    return winner
  }

  async #liveOrStored(turnId: string): Promise<StartedTurn | undefined> {
    if (this.#unstored.has(turnId)) return undefined
    const info = await this.describeTurn(turnId)
    return info && { turnId, sessionId: info.sessionId }
  }

  #markUnstored(turnId: string, clientTurnId: string | undefined): void {
    if (!clientTurnId) return
    this.#unstored.add(turnId)
    // Only keys never retried stay here; bound them (the oldest go first).
    if (this.#unstored.size > MAX_UNSTORED) this.#unstored.delete(this.#unstored.values().next().value!)
  }

  async #animalName(animalId: string): Promise<string> {
    return (await this.#storage.getAnimal(animalId))?.name ?? animalId
  }
}

/** A performance.now() reading (default: now) as epoch milliseconds. */
function epochMs(now = performance.now()): number {
  return performance.timeOrigin + now
}

/** `message`: 1..2000 characters after trimming. */
export function normalizeMessage(message: string): string {
  const trimmed = message.trim()
  if (trimmed.length === 0) throw badRequest('message must not be blank', 'message')
  if (trimmed.length > MAX_MESSAGE_LENGTH) throw badRequest(`message must be at most ${MAX_MESSAGE_LENGTH} characters`, 'message')
  return trimmed
}

/**
 * The caller's own session with this animal. A caller may only continue their own session;
 * anything else looks like it does not exist.
 */
function ownSession(caller: Caller, sessionId: string, session: Session | undefined, animal: Animal): Session {
  if (!session || session.userId !== caller.sub) throw notFound(`session '${sessionId}'`, 'sessionId')
  if (session.animalId !== animal.animalId) {
    throw badRequest(`animalId: session '${sessionId}' is a conversation with '${session.animalId}'`, 'animalId')
  }
  return session
}

function newSession(info: TurnInfo): Session {
  return {
    sessionId: info.sessionId, userId: info.userId, animalId: info.animalId, createdAt: info.createdAt,
    updatedAt: info.createdAt, messageCount: 0, totalTokens: 0, totalLatencyMs: 0,
  }
}
