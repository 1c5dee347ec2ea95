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
 * Bound to the filters, not to which users: a parent whose family changes between two pages
 * keeps paging. The position is only a time, and who may be seen is decided on every request.
 */
export function safetyEventsScope(query: SafetyEventQuery): string {
  return `safety:${query.userIds === undefined ? 'all' : 'users'}:${query.animalId ?? '*'}:${query.severity ?? '*'}`
}

export function checkSessionQuery(query: SessionQuery): void {
  if (query.userId !== undefined && query.animalId !== undefined) throw badRequest('userId and animalId cannot be combined')
}

/** Plain code-unit order: DynamoDB's byte order for the ASCII ids and timestamps in our keys (localeCompare is not). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
