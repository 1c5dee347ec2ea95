// Item shapes of the conversations and sessions tables: key builders and the conversion
// between stored items and domain objects. Domain fields are stored as they are (so a field
// added to Turn or Session later is kept), next to a few storage-only attributes.
import type { Session, Turn } from '../core/types.ts'
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
/** The idempotency claim of one (userId, clientTurnId). */
export const clientTurnKey = (userId: string, clientTurnId: string) => ({ pk: `CLIENT#${part(userId)}#${part(clientTurnId)}`, sk: 'CLAIM' })

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
