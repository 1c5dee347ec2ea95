// The conversation engine: one turn from request to stored reply, free of any framework.
// startTurn validates and opens the turn's event log, then generation runs on its own: a client
// that disconnects does not stop it; only cancel() (or shutdown) does.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { contextTurns } from './context.ts'
import { AppError, badRequest, ContentFilterError, errorData, notFound, shuttingDown, type ErrorData } from './errors.ts'
import type { Log } from './log.ts'
import type { EventListener, LlmProvider, StoragePort, Subscription, TurnHub, TurnInfo, TurnWriter } from './ports.ts'
import { buildMessages } from './prompt.ts'
import { SafetyLayer, type InputDecision } from './safety/layer.ts'
import { scrubPersonalDetails } from './safety/scrub.ts'
import { SEVERITIES, type SafetyFlag } from './safety/types.ts'
import { CANCELLED, completeData, firstTurnSession, INTERRUPTED_REASON, metadataData, storageData, storedTurnEvents, storedTurnInfo } from './stored-turn.ts'
import { TurnPurged } from './turn-hub.ts'
import type { TurnEndObserver, TurnEnding } from './turn-observer.ts'
import { MemoryTurnSlots, type TurnSlots } from './turn-slots.ts'
import type { Animal, Caller, Sampling, Session, Turn, TurnStatus } from './types.ts'

export const MAX_MESSAGE_LENGTH = 2000

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
  /** Where the per-user cap's slots are counted (default: in memory, this instance only). */
  turnSlots?: TurnSlots
  /** The safety layer every turn passes (default: local checks only, no help text). */
  safety?: SafetyLayer
  /**
   * Told about every turn the safety layer flagged, once the turn is stored (or its storing
   * failed): `turn.safety` holds the flags, `turn.userMessage` the scrubbed message.
   */
  onSafetyFlags?: (turn: Turn) => void
}

/** The `model` of a turn the safety layer answered itself (support or redirect). */
export const SAFETY_MODEL = 'safety'

const SHUTTING_DOWN: ErrorData = errorData(shuttingDown())

/** Why a turn's abort controller fired: a client's cancel, or the server shutting down. */
class ShutdownAbort extends Error {}

export class ConversationEngine {
  readonly #storage: StoragePort
  readonly #llm: LlmProvider
  readonly #hub: TurnHub
  readonly #log: Log
  readonly #contextMessages: number
  readonly #maxPerUser: number
  readonly #slots: TurnSlots
  readonly #safety: SafetyLayer
  readonly #onSafetyFlags: ((turn: Turn) => void) | undefined
  readonly #running = new Map<string, { done: Promise<void>; abort: AbortController }>()
  /** startTurn calls in progress per (user, clientTurnId): duplicates on this instance wait for the first. */
  readonly #starting = new Map<string, Promise<StartedTurn>>()
  readonly #endObservers: TurnEndObserver[] = []
  #draining = false

  constructor(options: EngineOptions) {
    this.#storage = options.storage
    this.#llm = options.llm
    this.#hub = options.hub
    this.#log = options.log
    this.#contextMessages = options.contextMessages
    this.#maxPerUser = options.maxConcurrentTurnsPerUser
    this.#slots = options.turnSlots ?? new MemoryTurnSlots()
    this.#safety = options.safety ?? new SafetyLayer({ moderationTimeoutMs: 0, log: options.log })
    this.#onSafetyFlags = options.onSafetyFlags
  }

  /**
   * Validates the request, resolves or creates the session and starts generation. Errors a
   * client caused (unknown animal or session, bad message) are thrown here, before any event.
   * A retried clientTurnId returns the turn it started the first time, and asks the model nothing.
   */
  /** Calls `observer` after every turn has ended (stored or not), off the stream's path. */
  observeTurnEnds(observer: TurnEndObserver): void {
    this.#endObservers.push(observer)
  }

  async startTurn(caller: Caller, input: TurnInput): Promise<StartedTurn> {
    if (!input.clientTurnId) return this.#beginTurn(caller, input)
    const key = JSON.stringify([caller.sub, input.clientTurnId])
    const started = this.#starting.get(key) ?? this.#beginTurn(caller, input).finally(() => this.#starting.delete(key))
    this.#starting.set(key, started)
    return started
  }

  async #beginTurn(caller: Caller, input: TurnInput): Promise<StartedTurn> {
    const startedAt = performance.now()
    if (this.#draining) throw shuttingDown()
    const message = normalizeMessage(input.message)
    // Every read the prompt needs, at once: each is a storage round trip before the model is asked.
    // The context is read before the session's owner is checked, and dropped if the check fails.
    const [animal, session, history] = await Promise.all([
      this.#storage.getAnimal(input.animalId),
      input.sessionId ? this.#storage.getSession(input.sessionId) : undefined,
      input.sessionId ? contextTurns(this.#storage, input.sessionId, this.#contextMessages) : [],
    ])
    if (!animal) throw notFound(`animal '${input.animalId}'`, 'animalId')
    // A session that is not stored may only be named by a retry of its first turn (see below).
    const existing = input.sessionId && (session || !input.clientTurnId) ? ownSession(caller, input.sessionId, session, animal) : undefined
    // Before anything is stored or asked: the message is classified and its personal details scrubbed.
    const decision = await this.#safety.checkInput(message, animal.name)

    const turnId = randomUUID()
    let replaced: TurnInfo | undefined
    if (input.clientTurnId) {
      const claim = await this.#claim(caller.sub, input.clientTurnId, turnId)
      if ('earlier' in claim) return claim.earlier
      replaced = claim.replaced
    }
    const sessionId = existing?.sessionId ?? this.#retriedSession(caller, input, animal, replaced) ?? randomUUID()
    // The slot is taken in the same step as the count; every path below gives it back or tracks the turn.
    if (!(await this.#slots.acquire(caller.sub, turnId, this.#maxPerUser))) {
      throw new AppError('too_many_turns', `At most ${this.#maxPerUser} turns may run at once; wait for one to finish`)
    }

    const createdAt = new Date().toISOString()
    const info: TurnInfo = { turnId, sessionId, userId: caller.sub, animalId: animal.animalId, animalName: animal.name, model: this.#llm.model, createdAt }
    const abort = new AbortController()
    const turn: Turn = {
      turnId, sessionId, userId: caller.sub, animalId: animal.animalId, clientTurnId: input.clientTurnId,
      userMessage: decision.scrubbed, reply: '', status: 'failed', createdAt, latencyMs: 0, model: this.#llm.model,
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    }
    // The log opens before any further await, so a concurrent retry of the same clientTurnId finds it.
    let writer: TurnWriter
    try {
      writer = this.#hub.open(info, abort, { ...turn })
    } catch (err) {
      this.#slots.release(caller.sub, turnId)
      throw err
    }
    try {
      // A new session is stored with its first turn (saveTurn): a first turn that fails before
      // it is stored leaves no empty session behind.
      const ending: PendingEnding = { animal, newSession: !existing, timing: { startedAt: epochMs(startedAt), endedAt: 0 } }
      const generation = decision.reply === undefined
        ? this.#generate(writer, info, turn, animal, history, abort.signal, startedAt, decision, input.sampling, ending)
        : this.#answerFixed(writer, info, turn, decision, decision.reply, startedAt, ending)
      this.#track(caller.sub, turnId, abort, generation)
    } catch (err) {
      this.#slots.release(caller.sub, turnId)
      writer.markUnstored()
      writer.emit('error', errorData(err))
      throw err
    }
    return { turnId, sessionId }
  }

  /** Who a turn belongs to, from the live log or from storage; undefined when unknown. */
  async describeTurn(turnId: string): Promise<TurnInfo | undefined> {
    const live = await this.#hub.info(turnId).catch((err: unknown) => this.#storedOr(turnId, err))
    if (live) return live
    const stored = await this.#storage.getTurn(turnId)
    if (stored) return storedTurnInfo(stored, await this.#animalName(stored.animalId))
    if (this.#hub.restoring) throw new AppError('turn_unavailable', 'Turns are being restored after an outage; retry in a moment')
    return undefined
  }

  /** Replays a turn's events after `afterSeq`, then follows it live. Undefined when unknown. */
  async attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined> {
    const live = await this.#hub.attach(turnId, afterSeq, listener).catch((err: unknown) => this.#storedOr(turnId, err))
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

  /** The shared hub failed (Redis is down): a stored turn is still served from storage, else the hub's error stands. */
  async #storedOr(turnId: string, err: unknown): Promise<undefined> {
    if (await this.#storage.getTurn(turnId)) return undefined
    throw err
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

  /** A support or redirect: the safety layer's fixed reply, the model not asked. */
  async #answerFixed(
    writer: TurnWriter, info: TurnInfo, turn: Turn, decision: InputDecision, reply: string, startedAt: number, ending: PendingEnding,
  ): Promise<void> {
    writer.emit('metadata', metadataData(info))
    writer.emit('typing', { state: 'start' })
    writer.emit('message', { delta: reply, index: 0 })
    Object.assign(turn, { reply, model: SAFETY_MODEL, finishReason: 'safety', status: 'complete' satisfies TurnStatus })
    turn.safety = { action: decision.action, flags: decision.flags }
    turn.firstTokenMs = turn.latencyMs = Math.round(performance.now() - startedAt)
    await this.#finish(writer, turn, ending)
  }

  async #generate(
    writer: TurnWriter, info: TurnInfo, turn: Turn, animal: Animal, history: Turn[], signal: AbortSignal, startedAt: number, decision: InputDecision,
    sampling: Sampling | undefined, ending: PendingEnding,
  ): Promise<void> {
    writer.emit('metadata', metadataData(info))
    writer.emit('typing', { state: 'start' })
    const guard = this.#safety.outputGuard()
    // Aborted at once when the guard blocks the reply, so the model stops generating.
    const stopUpstream = new AbortController()
    const upstreamSignal = AbortSignal.any([signal, stopUpstream.signal])
    let index = 0
    let blocked: { flag: SafetyFlag; shown: boolean } | undefined
    const { timing } = ending
    const release = (text: string) => {
      if (!text) return
      if (index === 0) {
        turn.firstTokenMs = Math.round(performance.now() - startedAt)
        timing.firstChunkAt = epochMs()
      }
      writer.emit('message', { delta: text, index: index++ })
    }
    try {
      const messages = buildMessages(animal, contextFor(history), turn.userMessage, this.#contextMessages)
      const request = { animal, messages, question: turn.userMessage, signal: upstreamSignal, sampling, safetyIdentifier: this.#safety.identify(turn.userId) }
      timing.modelStartedAt = epochMs()
      stream: for await (const chunk of this.#llm.stream(request)) {
        if (chunk.type === 'deltas') {
          for (const text of chunk.texts) {
            const step = guard.push(text)
            release(step.release)
            if (step.block) {
              blocked = { flag: { ...step.block, source: 'output' }, shown: guard.releasedText !== '' }
              break stream
            }
          }
        } else {
          Object.assign(turn, { usage: chunk.usage, finishReason: chunk.finishReason, model: chunk.model, status: 'complete' satisfies TurnStatus })
        }
      }
      timing.modelEndedAt = epochMs()
      if (blocked) stopUpstream.abort()
      else if (turn.status !== 'complete') throw new Error('the model stream ended without an end chunk')
      else if (turn.finishReason === 'content_filter') blocked = { flag: providerFlag(decision), shown: guard.releasedText !== '' }
      else {
        const end = guard.finish()
        release(end.release)
        const late = end.block ?? (await this.#safety.secondOpinion(guard.releasedText))
        if (late) blocked = { flag: { ...late, source: 'output' }, shown: guard.releasedText !== '' }
      }
    } catch (err) {
      timing.modelEndedAt ??= epochMs()
      if (!(err instanceof ContentFilterError) || signal.aborted) return this.#endEarly(writer, turn, guard.releasedText, startedAt, signal, err, ending)
      blocked = { flag: providerFlag(decision), shown: guard.releasedText !== '' }
    }
    const flags = [...decision.flags]
    if (blocked) {
      // The blocked text goes nowhere: not stored, not replayed; the child gets the safe reply.
      const safe = this.#safety.safeReply(decision.language)
      if (blocked.shown) {
        writer.retractText()
        writer.emit('replace', { reply: safe, reason: blocked.flag.category })
      } else {
        release(safe)
      }
      flags.push(blocked.flag)
      Object.assign(turn, { reply: safe, finishReason: 'content_filter', status: 'complete' satisfies TurnStatus })
    } else {
      turn.reply = guard.releasedText
      if (decision.privacyReminder) {
        const reminder = `${turn.reply ? '\n\n' : ''}${this.#safety.privacyReminder(decision.language)}`
        release(reminder)
        turn.reply += reminder
      }
    }
    if (flags.length > 0) turn.safety = { action: blocked ? 'redirect' : decision.action, flags }
    turn.latencyMs = Math.round(performance.now() - startedAt)
    await this.#finish(writer, turn, ending)
  }

  /** `typing stop`, `complete`, then the turn is stored and `storage` says so. */
  async #finish(writer: TurnWriter, turn: Turn, ending: PendingEnding): Promise<void> {
    writer.emit('typing', { state: 'stop' })
    writer.emit('complete', completeData(turn))
    turn.endSeq = writer.nextSeq
    let stored = false
    try {
      await this.#storage.saveTurn(turn, ending.newSession ? firstTurnSession(turn) : undefined)
      stored = true
      writer.emit('storage', storageData(turn))
    } catch (err) {
      this.#log.error({ err, turnId: turn.turnId }, 'reply generated but not stored')
      writer.markUnstored()
      writer.emit('error', { code: 'storage_failed', message: 'The reply could not be saved; please try again', retryable: true })
    } finally {
      this.#reportSafety(turn)
    }
    this.#ended(turn, { ...ending, stored })
  }

  /** Tells the turn-end observers, on a later tick: the turn's last event goes out first. */
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

  #reportSafety(turn: Turn): void {
    if (!turn.safety || !this.#onSafetyFlags) return
    try {
      this.#onSafetyFlags(turn)
    } catch (err) {
      this.#log.error({ err, turnId: turn.turnId }, 'safety observer failed')
    }
  }

  /** Cancel, shutdown or failure: store what was said (so nothing is lost), then end the stream. */
  async #endEarly(
    writer: TurnWriter, turn: Turn, reply: string, startedAt: number, signal: AbortSignal, err: unknown, ending: PendingEnding,
  ): Promise<void> {
    const shutdown = signal.aborted && signal.reason instanceof ShutdownAbort
    // Its conversation was erased while it ran: nothing of it may be stored again.
    const purged = signal.aborted && signal.reason instanceof TurnPurged
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
      if (!purged) {
        await this.#storage.saveTurn(turn, ending.newSession ? firstTurnSession(turn) : undefined)
        stored = true
      }
    } catch (storeErr) {
      this.#log.error({ err: storeErr, turnId: turn.turnId }, 'partial turn not stored')
    } finally {
      if (!stored) writer.markUnstored()
      this.#reportSafety(turn)
    }
    writer.emit('error', errorEvent)
    this.#ended(turn, { ...ending, stored })
  }

  /** The turn holds its slot (taken in #beginTurn) until its generation has ended. */
  #track(userId: string, turnId: string, abort: AbortController, generation: Promise<void>): void {
    const done = generation
      .catch((err) => this.#log.error({ err, turnId }, 'turn generation crashed'))
      .finally(() => {
        this.#running.delete(turnId)
        this.#slots.release(userId, turnId)
      })
    this.#running.set(turnId, { done, abort })
  }

  /**
   * Claims clientTurnId for the new turn `turnId`; undefined when it got the key. An earlier turn
   * with the key that is running or stored (whatever its status) is the answer instead. One that
   * will never be stored (its storing failed, or it never started) hands the key over, so a
   * retry after storage_failed runs the turn again rather than replaying the failure forever.
   */
  async #claim(userId: string, clientTurnId: string, turnId: string): Promise<{ earlier: StartedTurn } | { replaced?: TurnInfo }> {
    const claim = await this.#storage.claimClientTurn(userId, clientTurnId, turnId)
    if (claim.claimed) return {}
    const earlier = await this.#liveOrStored(claim.turnId)
    if (earlier) return { earlier }
    // What the turn to be replaced was about, while its log is buffered (#retriedSession). Read
    // before the takeover: after it, no await may come before the new turn's log opens.
    const replaced = await this.#hub.info(claim.turnId)
    const takeover = await this.#storage.reclaimClientTurn(userId, clientTurnId, claim.turnId, turnId)
    if (takeover.claimed) return { replaced }
    // Another instance took the key over a moment ago and has not opened its turn yet.
    const winner = await this.#liveOrStored(takeover.turnId)
    if (!winner) throw new AppError('turn_unavailable', 'This clientTurnId is in use by a turn that is just starting; retry in a moment')
    return { earlier: winner }
  }

  /**
   * The session of a retry that did not find its session stored: the session of the turn it
   * replaces (same clientTurnId, never stored), named or not. When that turn was a session's
   * first, the session was never stored either, and the retry goes on in it rather than starting
   * yet another. A session that is not stored is otherwise unknown (404); undefined: a new one.
   */
  #retriedSession(caller: Caller, input: TurnInput, animal: Animal, replaced: TurnInfo | undefined): string | undefined {
    const same = replaced !== undefined && replaced.userId === caller.sub && replaced.animalId === animal.animalId &&
      (input.sessionId === undefined || input.sessionId === replaced.sessionId)
    if (input.sessionId !== undefined && !same) throw notFound(`session '${input.sessionId}'`, 'sessionId')
    return same ? replaced.sessionId : undefined
  }

  /**
   * The earlier turn of a clientTurnId, unless it will never be stored as it ran: its storing
   * failed, or its instance died (then another stored what it had, as interrupted), on any instance.
   */
  async #liveOrStored(turnId: string): Promise<StartedTurn | undefined> {
    if (await this.#hub.unstored(turnId)) return undefined
    const live = await this.#hub.info(turnId)
    if (live) return { turnId, sessionId: live.sessionId }
    const stored = await this.#storage.getTurn(turnId)
    if (!stored || stored.finishReason === INTERRUPTED_REASON) return undefined
    return { turnId, sessionId: stored.sessionId }
  }

  async #animalName(animalId: string): Promise<string> {
    return (await this.#storage.getAnimal(animalId))?.name ?? animalId
  }
}

/** What a turn's observers will be told, before it is known whether the turn was stored. */
type PendingEnding = Omit<TurnEnding, 'stored'>

/** A performance.now() reading (default: now) as epoch milliseconds. */
function epochMs(now = performance.now()): number {
  return performance.timeOrigin + now
}

/**
 * The earlier turns the model sees: only those it answered (not a support or redirect), with
 * their messages scrubbed again (turns stored before scrubbing existed may hold details).
 */
function contextFor(history: Turn[]): Turn[] {
  return history
    .filter((turn) => turn.model !== SAFETY_MODEL)
    .map((turn) => ({ ...turn, userMessage: scrubPersonalDetails(turn.userMessage).text }))
}

/**
 * A provider's content filter does not say why. The flag takes the strongest category the
 * input check found, or `prompt_injection` (the message led the model to what its provider
 * refuses) when it found none.
 */
function providerFlag(decision: InputDecision): SafetyFlag {
  const [strongest] = [...decision.flags].sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity))
  return strongest ? { ...strongest, source: 'provider' } : { category: 'prompt_injection', severity: 'medium', source: 'provider' }
}

/**
 * `message`: 1..2000 characters after trimming, counted as code points (as JSON Schema's
 * maxLength does): an emoji is one character, not its two UTF-16 units.
 */
export function normalizeMessage(message: string): string {
  const trimmed = message.trim()
  if (trimmed.length === 0) throw badRequest('message must not be blank', 'message')
  if (codePoints(trimmed) > MAX_MESSAGE_LENGTH) throw badRequest(`message must be at most ${MAX_MESSAGE_LENGTH} characters`, 'message')
  return trimmed
}

function codePoints(text: string): number {
  let count = 0
  for (const _ of text) count++
  return count
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
