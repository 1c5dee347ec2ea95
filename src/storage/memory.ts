// StoragePort in process memory (STORAGE=memory, for benchmarks): nothing survives a restart.
// Same semantics as DynamoStorage, including keyset pagination with the same signed cursors.
// Objects are copied in and out, so callers can never change stored state by mutation; animals,
// read on every turn, are stored frozen and handed out as they are (nobody can change them).
import { AppError, notFound } from '../core/errors.ts'
import { flagCount, safetyEventsOf } from '../core/flags.ts'
import type { ClientTurnClaim, Deletion, PageQuery, SafetyEventQuery, SessionQuery, StoragePort } from '../core/ports.ts'
import type { Animal, Page, SafetyEvent, Session, Turn } from '../core/types.ts'
import { deepFreeze } from './animal-cache.ts'
import { CursorCodec, invalidCursor } from './cursor.ts'
import { EVENT_ORDER, eventOrder, FLAGGED_ORDER, flaggedOrder, MESSAGES_PER_TURN, turnOrderKey } from './items.ts'
import { checkSessionQuery, compareKeys as compare, MAX_PAGE_SIZE, pageSize, safetyEventsScope, sessionsScope, turnsScope } from './queries.ts'

/** A flagged session's place in the flagged lists (the DynamoDB adapter's marker item). */
interface FlaggedMarker {
  order: string
  sessionId: string
  userId: string
  animalId: string
}

/**
 * A deep copy of stored data: plain objects, arrays and primitives (undefined fields kept), which
 * is all the domain types hold. Several times cheaper than structuredClone, which a turn paid for
 * three times (the animal read, the session and the turn written).
 */
function copy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(copy) as T
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key])
  return out as T
}

/** Defaults of MemoryStoreLimits: a benchmark's steady state fits, and RSS stays flat however long it runs. */
export const MEMORY_STORE_LIMITS = { maxSessions: 10_000, maxBytes: 256 * 2 ** 20 }

export interface MemoryStoreLimits {
  /** Sessions kept; past it the least recently active session goes, with its turns. */
  maxSessions: number
  /** Estimated bytes of sessions and turns kept (see storedBytes); past it, the same eviction. */
  maxBytes: number
}

/**
 * About what a stored session or turn costs in the heap: the texts at two bytes a character
 * (V8 keeps ASCII in one, so this errs high) plus a fixed share for the objects, ids, timestamps
 * and map entries (a session with one short turn measured 1.75 to 1.83 KiB of heap, after a GC,
 * over 20,000 of them).
 */
const SESSION_BYTES = 700
const TURN_BYTES = 1100
const turnBytes = (turn: Turn) => TURN_BYTES + 2 * (turn.userMessage.length + turn.reply.length)

export class MemoryStorage implements StoragePort {
  readonly kind = 'memory'
  readonly #cursors: CursorCodec
  readonly #animals = new Map<string, Animal>()
  readonly #sessions = new Map<string, Session>()
  /** Per session, its turns in order (see turnOrderKey). */
  readonly #turns = new Map<string, Turn[]>()
  readonly #turnsById = new Map<string, Turn>()
  readonly #claims = new Map<string, string>()
  readonly #children = new Map<string, Set<string>>()
  /** Safety events by their `order` (unique: time, turn, flag index). */
  readonly #events = new Map<string, SafetyEvent>()
  readonly #flagged = new Map<string, FlaggedMarker>()
  readonly #limits: MemoryStoreLimits
  /** Estimated bytes per session (with its turns), and their sum. */
  readonly #sessionBytes = new Map<string, number>()
  #bytes = 0

  constructor(options: { cursors?: CursorCodec; limits?: Partial<MemoryStoreLimits> } = {}) {
    this.#cursors = options.cursors ?? new CursorCodec()
    this.#limits = { ...MEMORY_STORE_LIMITS, ...options.limits }
  }

  /** What is held now: sessions, turns and estimated bytes. */
  get usage(): { sessions: number; turns: number; bytes: number } {
    return { sessions: this.#sessions.size, turns: this.#turnsById.size, bytes: this.#bytes }
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  async listAnimals(): Promise<Animal[]> {
    return [...this.#animals.values()].sort((a, b) => a.animalId.localeCompare(b.animalId))
  }

  async getAnimal(animalId: string): Promise<Animal | undefined> {
    return this.#animals.get(animalId)
  }

  async putAnimal(animal: Animal): Promise<void> {
    this.#animals.set(animal.animalId, deepFreeze({ ...copy(animal), updatedAt: new Date().toISOString() }))
  }

  async seedAnimals(animals: Animal[]): Promise<void> {
    const updatedAt = new Date().toISOString()
    for (const animal of animals) {
      if (!this.#animals.has(animal.animalId)) this.#animals.set(animal.animalId, deepFreeze({ updatedAt, ...copy(animal) }))
    }
  }

  async createSession(session: Session): Promise<void> {
    if (this.#sessions.has(session.sessionId)) throw new AppError('conflict', `session '${session.sessionId}' already exists`)
    this.#addSession(session)
  }

  /** Stores a copy of a new session, counted against the bounds; returns the stored copy. */
  #addSession(session: Session): Session {
    const stored = copy(session)
    this.#sessions.set(stored.sessionId, stored)
    this.#grow(stored.sessionId, SESSION_BYTES)
    return stored
  }

  async getSession(sessionId: string): Promise<Session | undefined> {
    const session = this.#sessions.get(sessionId)
    return session && copy(session)
  }

  /** Newest activity first; ties broken by sessionId, as the cursor position is (updatedAt, sessionId). */
  async listSessions(query: SessionQuery): Promise<Page<Session>> {
    checkSessionQuery(query)
    if (query.flagged) {
      const markers = [...this.#flagged.values()]
        .filter((m) => (query.userId === undefined || m.userId === query.userId) && (query.animalId === undefined || m.animalId === query.animalId))
      const page = this.#newestPage(markers, FLAGGED_ORDER, query, sessionsScope(query))
      return { items: page.items.flatMap((m) => this.#sessions.get(m.sessionId) ?? []).map(copy), nextCursor: page.nextCursor }
    }
    const scope = sessionsScope(query)
    const after = query.cursor === undefined ? undefined : this.#cursors.decode(scope, query.cursor, ['updatedAt', 'sessionId'])
    const position = (s: Session) => `${s.updatedAt}\u0000${s.sessionId}`
    const matching = [...this.#sessions.values()]
      .filter((s) => (query.userId === undefined || s.userId === query.userId) && (query.animalId === undefined || s.animalId === query.animalId))
      .sort((a, b) => compare(position(b), position(a)))
      .filter((s) => !after || compare(position(s), `${after.updatedAt}\u0000${after.sessionId}`) < 0)
    const limit = pageSize(query.limit)
    const items = matching.slice(0, limit)
    const last = items.at(-1)
    const nextCursor = matching.length > limit && last
      ? this.#cursors.encode(scope, { updatedAt: last.updatedAt, sessionId: last.sessionId })
      : null
    return { items: items.map(copy), nextCursor }
  }

  async deleteSession(sessionId: string): Promise<Deletion> {
    return this.#forget(sessionId)
  }

  /** Drops a session with its turns, their claims and safety events: a delete, or an eviction. */
  #forget(sessionId: string): Deletion {
    this.#bytes -= this.#sessionBytes.get(sessionId) ?? 0
    this.#sessionBytes.delete(sessionId)
    const turns = this.#turns.get(sessionId) ?? []
    for (const turn of turns) {
      this.#turnsById.delete(turn.turnId)
      if (turn.clientTurnId) this.#claims.delete(claimKey(turn.userId, turn.clientTurnId))
      safetyEventsOf(turn).forEach((event, index) => this.#events.delete(eventOrder(event, index)))
    }
    this.#turns.delete(sessionId)
    this.#flagged.delete(sessionId)
    return { existed: this.#sessions.delete(sessionId), turnIds: turns.map((turn) => turn.turnId) }
  }

  async deleteUserData(userId: string): Promise<Deletion> {
    const deletion: Deletion = { existed: false, turnIds: [] }
    for (const session of [...this.#sessions.values()].filter((s) => s.userId === userId)) {
      const deleted = await this.deleteSession(session.sessionId)
      deletion.existed ||= deleted.existed
      deletion.turnIds.push(...deleted.turnIds)
    }
    for (const [order, event] of this.#events) if (event.userId === userId) this.#events.delete(order)
    for (const [sessionId, marker] of this.#flagged) if (marker.userId === userId) this.#flagged.delete(sessionId)
    for (const key of this.#claims.keys()) if ((JSON.parse(key) as string[])[0] === userId) this.#claims.delete(key)
    return deletion
  }

  async saveSummary(sessionId: string, summary: string, turnCount: number): Promise<void> {
    const session = this.#sessions.get(sessionId)
    if (!session) throw notFound(`session '${sessionId}'`)
    session.summary = summary
    session.summaryTurnCount = turnCount
  }

  async saveTurn(turn: Turn, newSession?: Session): Promise<void> {
    if (this.#turnsById.has(turn.turnId)) return
    let session = this.#sessions.get(turn.sessionId)
    if (session && newSession && session.userId !== newSession.userId) session = undefined
    else if (!session && newSession) session = this.#addSession(newSession)
    if (!session) throw notFound(`session '${turn.sessionId}'`)
    const stored = copy(turn)
    const turns = this.#turns.get(turn.sessionId) ?? []
    const at = turns.findIndex((t) => compare(turnOrderKey(t), turnOrderKey(stored)) > 0)
    turns.splice(at === -1 ? turns.length : at, 0, stored)
    this.#turns.set(turn.sessionId, turns)
    this.#turnsById.set(turn.turnId, stored)
    session.messageCount += MESSAGES_PER_TURN
    session.totalTokens += turn.usage.totalTokens
    session.totalLatencyMs += turn.latencyMs
    session.lastModel = turn.model
    session.updatedAt = turn.createdAt
    const flags = flagCount(turn)
    if (flags > 0) {
      session.safetyFlags = (session.safetyFlags ?? 0) + flags
      safetyEventsOf(turn).forEach((event, index) => this.#events.set(eventOrder(event, index), event))
      const { sessionId, userId, animalId, createdAt } = turn
      this.#flagged.set(sessionId, { order: flaggedOrder(createdAt, sessionId), sessionId, userId, animalId })
    }
    // Most recently active last: eviction takes sessions from the front.
    this.#sessions.delete(turn.sessionId)
    this.#sessions.set(turn.sessionId, session)
    this.#grow(turn.sessionId, turnBytes(stored))
  }

  /**
   * Counts `bytes` more for the session, then evicts the least recently active sessions (with
   * their turns and claims) while a limit is passed. The session just written is the most recent
   * one, so it is kept (even alone over maxBytes): a write that succeeded is readable.
   */
  #grow(sessionId: string, bytes: number): void {
    this.#sessionBytes.set(sessionId, (this.#sessionBytes.get(sessionId) ?? 0) + bytes)
    this.#bytes += bytes
    const { maxSessions, maxBytes } = this.#limits
    while (this.#sessions.size > maxSessions || (this.#bytes > maxBytes && this.#sessions.size > 1)) {
      this.#forget(this.#sessions.keys().next().value!)
    }
  }

  async getTurn(turnId: string): Promise<Turn | undefined> {
    const turn = this.#turnsById.get(turnId)
    return turn && copy(turn)
  }

  async recentTurns(sessionId: string, count: number): Promise<Turn[]> {
    if (count <= 0) return []
    return (this.#turns.get(sessionId) ?? []).slice(-count).map(copy)
  }

  async listTurns(sessionId: string, query: PageQuery): Promise<Page<Turn>> {
    const scope = turnsScope(sessionId)
    const after = query.cursor === undefined ? undefined : this.#cursors.decode(scope, query.cursor, ['position']).position
    const remaining = (this.#turns.get(sessionId) ?? []).filter((t) => after === undefined || compare(turnOrderKey(t), after) > 0)
    const limit = pageSize(query.limit)
    const items = remaining.slice(0, limit)
    const last = items.at(-1)
    const nextCursor = remaining.length > limit && last ? this.#cursors.encode(scope, { position: turnOrderKey(last) }) : null
    return { items: items.map(copy), nextCursor }
  }

  async *iterateTurns(sessionId: string): AsyncIterable<Turn> {
    let cursor: string | undefined
    do {
      const page = await this.listTurns(sessionId, { limit: MAX_PAGE_SIZE, cursor })
      yield* page.items
      cursor = page.nextCursor ?? undefined
    } while (cursor)
  }

  async listSafetyEvents(query: SafetyEventQuery): Promise<Page<SafetyEvent>> {
    const { userIds, animalId, severity } = query
    const matching = [...this.#events].map(([order, event]) => ({ order, event })).filter(({ event }) =>
      (userIds === undefined || userIds.includes(event.userId)) &&
      (animalId === undefined || event.animalId === animalId) &&
      (severity === undefined || event.severity === severity))
    const page = this.#newestPage(matching, EVENT_ORDER, query, safetyEventsScope(query))
    return { items: page.items.map(({ event }) => copy(event)), nextCursor: page.nextCursor }
  }

  /** Newest first by `order`, after the cursor's position; the same cursors as DynamoStorage's. */
  #newestPage<T extends { order: string }>(items: T[], prefix: string, query: PageQuery, scope: string): Page<T> {
    const before = query.cursor === undefined ? undefined : this.#cursors.decode(scope, query.cursor, ['order']).order
    if (before !== undefined && !before.startsWith(prefix)) throw invalidCursor()
    const remaining = items
      .filter((item) => before === undefined || compare(item.order, before) < 0)
      .sort((a, b) => compare(b.order, a.order))
    const limit = pageSize(query.limit)
    const page = remaining.slice(0, limit)
    const nextCursor = remaining.length > limit ? this.#cursors.encode(scope, { order: page.at(-1)!.order }) : null
    return { items: page, nextCursor }
  }

  async claimClientTurn(userId: string, clientTurnId: string, turnId: string): Promise<ClientTurnClaim> {
    const key = claimKey(userId, clientTurnId)
    const existing = this.#claims.get(key)
    if (existing !== undefined) return { claimed: false, turnId: existing }
    this.#claims.set(key, turnId)
    return { claimed: true }
  }

  async reclaimClientTurn(userId: string, clientTurnId: string, staleTurnId: string, turnId: string): Promise<ClientTurnClaim> {
    const key = claimKey(userId, clientTurnId)
    if (this.#claims.get(key) !== staleTurnId) return this.claimClientTurn(userId, clientTurnId, turnId)
    this.#claims.set(key, turnId)
    return { claimed: true }
  }

  async linkChild(parentId: string, childId: string): Promise<void> {
    const children = this.#children.get(parentId) ?? new Set<string>()
    children.add(childId)
    this.#children.set(parentId, children)
  }

  async unlinkChild(parentId: string, childId: string): Promise<void> {
    this.#children.get(parentId)?.delete(childId)
  }

  async listChildren(parentId: string): Promise<string[]> {
    return [...(this.#children.get(parentId) ?? [])].sort()
  }

  async isLinked(parentId: string, childId: string): Promise<boolean> {
    return this.#children.get(parentId)?.has(childId) ?? false
  }
}

const claimKey = (userId: string, clientTurnId: string) => JSON.stringify([userId, clientTurnId])
