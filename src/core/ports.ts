// The ports the conversation engine needs. Adapters (src/storage, src/llm, src/streaming)
// implement them; plugins pick the adapter from config and decorate Fastify with it.
import type { EventPayloads, EventType, TurnEvent } from './events.ts'
import type { Severity } from './safety/types.ts'
import type { Animal, ChatMessage, Page, SafetyEvent, Sampling, Session, Turn, Usage } from './types.ts'

export interface PageQuery {
  limit: number
  cursor?: string
}

export interface SessionQuery extends PageQuery {
  /** Exactly one of userId / animalId is set, or neither (all sessions, admin/zookeeper). */
  userId?: string
  animalId?: string
  /** Only sessions with at least one safety flag, most recently flagged first. */
  flagged?: boolean
}

export interface SafetyEventQuery extends PageQuery {
  /** Only these users' events (a parent's children); undefined: everyone's. */
  userIds?: string[]
  animalId?: string
  severity?: Severity
}

/** What a delete removed: the turn ids let the caller purge the resume buffers too. */
export interface Deletion {
  /** False when there was nothing to delete (no such session, or a user without sessions). */
  existed: boolean
  /** Every stored turn that was deleted. */
  turnIds: string[]
}

/** Outcome of claiming an idempotency key for a turn. */
export type ClientTurnClaim = { claimed: true } | { claimed: false; turnId: string }

export interface StoragePort {
  /** 'dynamodb' or 'memory': shown by /readyz. */
  readonly kind: string
  /** Resolves when storage answers; throws StorageUnavailableError otherwise. */
  ping(): Promise<void>
  close(): Promise<void>

  /** Animals are read-only (frozen, shared by every caller): copy one to change it, then putAnimal. */
  listAnimals(): Promise<Animal[]>
  /** Read-only, as listAnimals; may be up to a few seconds old when another instance just edited it. */
  getAnimal(animalId: string): Promise<Animal | undefined>
  putAnimal(animal: Animal): Promise<void>
  /** Writes each animal that is not stored yet; leaves edited animals alone. */
  seedAnimals(animals: Animal[]): Promise<void>

  createSession(session: Session): Promise<void>
  getSession(sessionId: string): Promise<Session | undefined>
  /** Most recently active first. */
  listSessions(query: SessionQuery): Promise<Page<Session>>
  /** Deletes the session, all its turns, their claims and safety events. */
  deleteSession(sessionId: string): Promise<Deletion>
  /** Deletes everything stored about a user: every session and turn, every claim and safety event. */
  deleteUserData(userId: string): Promise<Deletion>
  saveSummary(sessionId: string, summary: string, turnCount: number): Promise<void>

  /**
   * Stores a finished turn and updates the session's bookkeeping in the same write path. With
   * `newSession` the turn is that session's first, and the session is stored with it (created;
   * or updated, when a retry of the same first turn stored it already). Without, a missing
   * session (or, with it, one of another user) is a 404.
   */
  saveTurn(turn: Turn, newSession?: Session): Promise<void>
  getTurn(turnId: string): Promise<Turn | undefined>
  /** The session's newest `count` turns, returned oldest first. */
  recentTurns(sessionId: string, count: number): Promise<Turn[]>
  /** Oldest first. */
  listTurns(sessionId: string, query: PageQuery): Promise<Page<Turn>>
  /** Every turn of a session, oldest first, fetched page by page (for exports). */
  iterateTurns(sessionId: string): AsyncIterable<Turn>

  /** One item per flag of every stored flagged turn, newest first. */
  listSafetyEvents(query: SafetyEventQuery): Promise<Page<SafetyEvent>>

  /** Atomically claims (userId, clientTurnId) for turnId; tells the existing turnId when already claimed. */
  claimClientTurn(userId: string, clientTurnId: string, turnId: string): Promise<ClientTurnClaim>
  /**
   * Moves a claim from `staleTurnId` (a turn that will never be stored) to `turnId`, atomically:
   * of concurrent takeovers one wins, the others learn the winner's turnId.
   */
  reclaimClientTurn(userId: string, clientTurnId: string, staleTurnId: string, turnId: string): Promise<ClientTurnClaim>

  linkChild(parentId: string, childId: string): Promise<void>
  unlinkChild(parentId: string, childId: string): Promise<void>
  listChildren(parentId: string): Promise<string[]>
  isLinked(parentId: string, childId: string): Promise<boolean>
}

/**
 * Told about every turn that ended with safety flags (`turn.safety.flags` not empty), once, after
 * the engine tried to store it. Must return at once: metrics and webhooks run on their own.
 */
export interface SafetyObserver {
  turnFlagged(turn: Turn): void
}

export interface LlmRequest {
  animal: Animal
  /** System prompt, context and the new user message, ready to send. */
  messages: ChatMessage[]
  /** The new user message alone (the offline responder matches facts against it). */
  question: string
  signal: AbortSignal
  /** The client's temperature and token budget for this reply, when it gave any. */
  sampling?: Sampling
  /** A hash of the visitor's id for the provider's abuse monitoring (`safety_identifier`), never the id. */
  safetyIdentifier?: string
}

export type LlmChunk =
  /**
   * The reply's next pieces, in order: everything one read from the model brought (often one
   * piece; a burst brings many, and passing them on together saves a promise hop each).
   */
  | { type: 'deltas'; texts: readonly string[] }
  | { type: 'end'; usage: Usage; finishReason: string; model: string }

export interface SummaryResult {
  summary: string
  model: string
  usage: Usage
}

export interface LlmProvider {
  /** The model name announced in `metadata` before generation starts. */
  readonly model: string
  /**
   * Streams `deltas`, then exactly one `end` (finishReason `content_filter` when the provider's
   * filter cut the reply). Throws UpstreamError on failure, ContentFilterError when the provider
   * refused the request; honours signal.
   */
  stream(request: LlmRequest): AsyncIterable<LlmChunk>
  summarize(animal: Animal, turns: Turn[], signal: AbortSignal): Promise<SummaryResult>
}

/** What every attach and access check needs to know about a turn. */
export interface TurnInfo {
  turnId: string
  sessionId: string
  userId: string
  animalId: string
  animalName: string
  model: string
  createdAt: string
}

export type EventListener = (event: TurnEvent) => void

export interface Subscription {
  /** Stops delivery to this listener; the turn goes on. */
  close(): void
  /** True when the turn had already ended and attach delivered all that was left: nothing more will come. */
  readonly done: boolean
}

/** The engine's pen on one turn's log: each event is written once, with the next seq. */
export interface TurnWriter {
  emit<K extends EventType>(type: K, data: EventPayloads[K]): TurnEvent
  /**
   * Empties the text of every `message` event so far (ids and order stay): the safety layer
   * withdrew text already shown, and a resume from any id must never show it again.
   */
  retractText(): void
  /**
   * The turn will not be stored (it failed before, or its storing failed): a retry with its
   * clientTurnId runs it anew, on any instance. Called before the final event.
   */
  markUnstored(): void
  /** Sequence number the next event will get. */
  readonly nextSeq: number
}

/** Which turns a purge removes: these ids, and every turn of the user or session (running ones too). */
export interface PurgeTarget {
  turnIds: readonly string[]
  userId?: string
  sessionId?: string
}

/**
 * The turn event logs (the hub): in memory (src/core/turn-hub.ts) or mirrored to Redis Streams
 * (src/streaming/redis-hub.ts); test/hub-contract.test.ts holds both to this contract.
 */
export interface TurnHub {
  /**
   * Starts the log of a new turn; cancel() aborts `abort`. `draft` is the turn as it would be
   * stored if it failed now: another instance stores it so (with the text so far) when this one dies.
   */
  open(info: TurnInfo, abort: AbortController, draft?: Turn): TurnWriter
  /** The turn's info while its log is buffered, undefined otherwise. */
  info(turnId: string): Promise<TurnInfo | undefined>
  /**
   * Replays events with seq > afterSeq, then live ones, each exactly once and in order.
   * Undefined when the turn is not buffered.
   */
  attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined>
  /** Aborts a running turn. False when it is not running (unknown, already ended, or its instance died). */
  cancel(turnId: string): Promise<boolean>
  /**
   * True when the buffered turn will never be stored as it ran (markUnstored, or its instance
   * died and it was ended for it): a retry with its clientTurnId runs anew.
   */
  unstored(turnId: string): Promise<boolean>
  /**
   * True for a short while after the shared turn state was lost (a Redis restart): a turn unknown
   * now may be a running one that its instance has not written back yet.
   */
  readonly restoring: boolean
  /**
   * Forgets the matching turns' logs on every instance, aborting those still running, so
   * nothing deleted can be replayed by a resume. Listeners already attached get the turn's end.
   */
  purge(target: PurgeTarget): Promise<void>
  close(): Promise<void>
}

/**
 * What the Redis hub asks storage when it ends a turn for an instance that died, or replays a
 * turn whose stream lost events (src/core/turn-archive.ts).
 */
export interface TurnArchive {
  /** The stored turn's events as a resume from storage gets them (opening and ending); undefined when not stored. */
  storedEvents(turnId: string): Promise<TurnEvent[] | undefined>
  /**
   * Ends an orphaned turn whose log reached `nextSeq`: a turn stored already keeps its stored
   * ending; otherwise the partial reply is stored as failed (interrupted). Returns the final
   * events still to append (seq >= nextSeq), and whether the turn was stored before (then a
   * retry of its clientTurnId gets it, as from any turn stored as it ran).
   */
  endOrphan(draft: Turn, partialReply: string, nextSeq: number): Promise<{ events: TurnEvent[]; storedBefore: boolean }>
}
