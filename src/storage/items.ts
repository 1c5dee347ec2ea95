// Item shapes of the conversations and sessions tables: key builders and the conversion
// between stored items and domain objects. Domain fields are stored as they are (so a field
// added to Turn or Session later is kept), next to a few storage-only attributes.
import { safetyEventsOf } from '../core/flags.ts'
import type { SafetyEvent, Session, Turn } from '../core/types.ts'
import { ACTIVITY_BUCKET, TTL_ATTRIBUTE } from './tables.ts'

// Key parts are URI-encoded so a '#' inside an id cannot make two keys collide.
const part = (value: string) => encodeURIComponent(value)

/** Messages a stored turn adds to Session.messageCount: the child's message and the reply. */
export const MESSAGES_PER_TURN = 2

/** Sorts a session's turns by start time; the turnId breaks ties. Shared with MemoryStorage. */
export const turnOrderKey = (turn: Pick<Turn, 'createdAt' | 'turnId'>) => `${turn.createdAt}#${turn.turnId}`

export const sessionPartition = (sessionId: string) => `SESSION#${part(sessionId)}`
export const turnSortKey = (turn: Pick<Turn, 'createdAt' | 'turnId'>) => `TURN#${turnOrderKey(turn)}`
export const TURN_SORT_PREFIX = 'TURN#'

/** A pointer from turnId to the turn's key, so getTurn is two strongly consistent reads. */
export const turnPointerKey = (turnId: string) => ({ pk: `TURN#${part(turnId)}`, sk: 'POINTER' })
/** The idempotency claim of one (userId, clientTurnId); a user's claims share a partition, so erasing a user finds them all. */
export const clientTurnKey = (userId: string, clientTurnId: string) => ({ pk: clientPartition(userId), sk: `CLAIM#${part(clientTurnId)}` })
export const clientPartition = (userId: string) => `CLIENT#${part(userId)}`

export type ItemKey = { pk: string; sk: string }

/** Epoch seconds `days` from now: the TTL attribute value. */
export function expiresAt(retentionDays: number, now = Date.now()): number {
  return Math.floor(now / 1000) + retentionDays * 86_400
}

export function turnItem(turn: Turn, ttl: number): Record<string, unknown> {
  return { ...turn, pk: sessionPartition(turn.sessionId), sk: turnSortKey(turn), kind: 'turn', [TTL_ATTRIBUTE]: ttl }
}

export function turnPointerItem(turn: Turn, ttl: number): Record<string, unknown> {
  return { ...turnPointerKey(turn.turnId), kind: 'turnPointer', turnId: turn.turnId, turnKey: { pk: sessionPartition(turn.sessionId), sk: turnSortKey(turn) }, [TTL_ATTRIBUTE]: ttl }
}

export function sessionItem(session: Session, ttl: number): Record<string, unknown> {
  return { ...session, activityBucket: ACTIVITY_BUCKET, [TTL_ATTRIBUTE]: ttl }
}

// The safety table: one partition per user holding their events and flagged-session markers.

export const safetyPartition = (userId: string) => `USER#${part(userId)}`
/** `order` prefixes: the GSIs of the safety table hold both kinds, sorted by kind, then time. */
export const EVENT_ORDER = 'EVENT#'
export const FLAGGED_ORDER = 'SESSION#'
/** The `bucket` of flagged-session markers (events use their severity). */
export const FLAGGED_BUCKET = 'flagged'

/** A flag's position: time, turn, index of the flag in the turn; unique, newest sorts last. */
export const eventOrder = (event: Pick<SafetyEvent, 'createdAt' | 'turnId'>, index: number) =>
  `${EVENT_ORDER}${event.createdAt}#${part(event.turnId)}#${String(index).padStart(2, '0')}`
export const flaggedOrder = (flaggedAt: string, sessionId: string) => `${FLAGGED_ORDER}${flaggedAt}#${part(sessionId)}`
const flaggedKey = (userId: string, sessionId: string): ItemKey => ({ pk: safetyPartition(userId), sk: `${FLAGGED_ORDER}${part(sessionId)}` })

/** One item per flag of the turn. */
export function safetyEventItems(turn: Turn, ttl: number): Record<string, unknown>[] {
  return safetyEventsOf(turn).map((event, index) => {
    const order = eventOrder(event, index)
    return { ...event, pk: safetyPartition(event.userId), sk: order, order, bucket: event.severity, kind: 'safetyEvent', [TTL_ATTRIBUTE]: ttl }
  })
}

/** The session's marker in the flagged lists, moved to this turn's time. */
export function flaggedSessionItem(turn: Turn, ttl: number): Record<string, unknown> {
  const { userId, sessionId, animalId, createdAt } = turn
  return { ...flaggedKey(userId, sessionId), order: flaggedOrder(createdAt, sessionId), bucket: FLAGGED_BUCKET, kind: 'flaggedSession', userId, sessionId, animalId, flaggedAt: createdAt, [TTL_ATTRIBUTE]: ttl }
}

export function toSafetyEvent(item: Record<string, unknown>): SafetyEvent {
  const { turnId, sessionId, userId, animalId, category, severity, source, action, createdAt } = item as unknown as SafetyEvent
  return { turnId, sessionId, userId, animalId, category, severity, source, action, createdAt }
}

/** The keys of a turn's items in the safety table (its events; the session marker is the session's). */
export function safetyFootprint(turn: Turn): ItemKey[] {
  return safetyEventsOf(turn).map((event, index) => ({ pk: safetyPartition(event.userId), sk: eventOrder(event, index) }))
}

export const flaggedSessionKey = (session: Pick<Session, 'userId' | 'sessionId'>) => flaggedKey(session.userId, session.sessionId)

export function toTurn(item: Record<string, unknown>): Turn {
  const { pk: _pk, sk: _sk, kind: _kind, [TTL_ATTRIBUTE]: _ttl, ...turn } = item
  return turn as unknown as Turn
}

export function toSession(item: Record<string, unknown>): Session {
  const { activityBucket: _bucket, [TTL_ATTRIBUTE]: _ttl, ...session } = item
  return session as unknown as Session
}

/** The keys of everything a stored turn brought along: itself, its pointer, its claim. */
export function turnFootprint(turn: Pick<Turn, 'sessionId' | 'turnId' | 'createdAt' | 'userId' | 'clientTurnId'>): ItemKey[] {
  const keys: ItemKey[] = [{ pk: sessionPartition(turn.sessionId), sk: turnSortKey(turn) }, turnPointerKey(turn.turnId)]
  if (turn.clientTurnId) keys.push(clientTurnKey(turn.userId, turn.clientTurnId))
  return keys
}
