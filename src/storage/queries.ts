// Query rules shared by both adapters: page sizes, and what a cursor is bound to, so a cursor
// from one session's turns (or one user's session list) is rejected on any other query.
import { badRequest } from '../core/errors.ts'
import type { SafetyEventQuery, SessionQuery } from '../core/ports.ts'

export const MAX_PAGE_SIZE = 100

/** The route validates 1..100; storage clamps too, so no caller can ask for an unbounded read. */
export const pageSize = (limit: number) => Math.min(Math.max(Math.trunc(limit) || 1, 1), MAX_PAGE_SIZE)

export const turnsScope = (sessionId: string) => `turns:${sessionId}`

export function sessionsScope(query: SessionQuery): string {
  const list = query.flagged ? 'flagged-sessions' : 'sessions'
  if (query.userId !== undefined) return `${list}:user:${query.userId}`
  if (query.animalId !== undefined) return `${list}:animal:${query.animalId}`
  return `${list}:all`
}

/**
 * Bound to the filters, not to the list of users: a parent whose family changes between two
 * pages keeps paging (the position is only a time; who may be seen is decided per request).
 */
export function safetyEventsScope(query: SafetyEventQuery): string {
  const users = query.userIds === undefined ? '*' : query.userIds.length === 1 ? `user:${query.userIds[0]}` : 'users'
  return `safety:${users}:${query.animalId ?? '*'}:${query.severity ?? '*'}`
}

export function checkSessionQuery(query: SessionQuery): void {
  if (query.userId !== undefined && query.animalId !== undefined) throw badRequest('userId and animalId cannot be combined')
}
