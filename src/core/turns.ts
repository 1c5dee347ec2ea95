// The use cases of a turn, the same for every transport: start one, follow one (after an access
// check, from a last-event-id), cancel one. Routes, the WebSocket session and any later transport
// (the OpenAI-compatible facade) call these and only translate: requests in, events out through
// an encoder (src/streaming/encoders.ts), errors out through errorData(). Every refusal is an
// AppError with a code from ERROR_CODES, thrown before any event is sent.
import type { AccessControl } from './access.ts'
import type { ConversationEngine, TurnInput } from './engine.ts'
import { AppError, badRequest, notFound } from './errors.ts'
import { seqAfter } from './events.ts'
import type { EventListener, Subscription } from './ports.ts'
import type { Caller } from './types.ts'

/** A turn a transport may stream: what it will get, and the call that starts delivery. */
export interface TurnStream {
  readonly turnId: string
  /** Events after this seq are delivered (-1: from the start). */
  readonly afterSeq: number
  /**
   * Replays the events after afterSeq to `listener`, synchronously where they are in memory, then
   * delivers live ones, each exactly once. Throws an AppError when the turn is gone meanwhile.
   */
  attach(listener: EventListener): Promise<Subscription>
}

export interface StartedTurnStream extends TurnStream {
  readonly sessionId: string
}

export class TurnService {
  readonly #engine: ConversationEngine
  readonly #access: AccessControl

  constructor(engine: ConversationEngine, access: AccessControl) {
    this.#engine = engine
    this.#access = access
  }

  /**
   * Starts a turn for the caller (or finds the one its clientTurnId started). Throws bad_request,
   * not_found (animal, session), too_many_turns, shutting_down, storage_unavailable, ...
   */
  async start(caller: Caller, input: TurnInput): Promise<StartedTurnStream> {
    const { turnId, sessionId } = await this.#engine.startTurn(caller, input)
    const gone = () => new AppError('turn_unavailable', 'This turn could not be found; send the message again with a new clientTurnId')
    return { turnId, sessionId, ...this.#stream(turnId, -1, gone) }
  }

  /**
   * A turn the caller may read, from after `lastEventId` (undefined or '': from the start).
   * Throws not_found (unknown, or not the caller's to read) and bad_request (an id of another turn).
   */
  async follow(caller: Caller, turnId: string, lastEventId?: string): Promise<TurnStream> {
    await this.#access.turn(caller, turnId, 'read')
    let afterSeq: number
    try {
      afterSeq = seqAfter(turnId, lastEventId)
    } catch (err) {
      throw badRequest(`Last-Event-ID: ${(err as Error).message}`)
    }
    return { turnId, ...this.#stream(turnId, afterSeq, () => notFound(`turn '${turnId}'`)) }
  }

  /**
   * Asks a running turn to stop (perhaps on another instance): its stream then ends with an
   * `error` event, code cancelled. Throws not_found, forbidden (not the owner or an admin),
   * not_running (already ended).
   */
  async cancel(caller: Caller, turnId: string): Promise<void> {
    await this.#access.turn(caller, turnId, 'cancel')
    if (!(await this.#engine.cancel(turnId))) throw new AppError('not_running', `turn '${turnId}' is not running`)
  }

  #stream(turnId: string, afterSeq: number, gone: () => AppError): { afterSeq: number; attach: TurnStream['attach'] } {
    return {
      afterSeq,
      attach: async (listener) => {
        const subscription = await this.#engine.attach(turnId, afterSeq, listener)
        if (!subscription) throw gone()
        return subscription
      },
    }
  }
}
