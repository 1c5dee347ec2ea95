// A finished turn whose live buffer has expired is replayed from storage: its opening and
// its ending, with the same ids the live stream used, so a resuming client sees no duplicates.
// The payload builders here are shared with the engine, so live and replayed events match.
import type { ErrorData } from './errors.ts'
import { createEvent, type EventPayloads, type TurnEvent } from './events.ts'
import type { TurnInfo } from './ports.ts'
import type { Session, Turn } from './types.ts'

export function storedTurnInfo(turn: Turn, animalName: string): TurnInfo {
  return {
    turnId: turn.turnId,
    sessionId: turn.sessionId,
    userId: turn.userId,
    animalId: turn.animalId,
    animalName,
    model: turn.model,
    createdAt: turn.createdAt,
  }
}

export function storedTurnEvents(turn: Turn, animalName: string): TurnEvent[] {
  const info = storedTurnInfo(turn, animalName)
  // Turns stored before endSeq existed: metadata, complete, storage.
  const endSeq = turn.endSeq ?? 2
  const events = [createEvent(turn.turnId, 0, 'metadata', metadataData(info))]
  if (turn.status === 'complete') {
    events.push(createEvent(turn.turnId, endSeq - 1, 'complete', completeData(turn)))
    events.push(createEvent(turn.turnId, endSeq, 'storage', storageData(turn)))
  } else {
    events.push(createEvent(turn.turnId, endSeq, 'error', endedWithoutReply(turn)))
  }
  return events
}

export function metadataData(info: TurnInfo): EventPayloads['metadata'] {
  return {
    sessionId: info.sessionId,
    turnId: info.turnId,
    animalId: info.animalId,
    animalName: info.animalName,
    model: info.model,
    createdAt: info.createdAt,
  }
}

export function completeData(turn: Turn): EventPayloads['complete'] {
  return {
    reply: turn.reply, usage: turn.usage, latencyMs: turn.latencyMs, finishReason: turn.finishReason ?? 'stop', model: turn.model,
    ...(turn.safety ? { safety: turn.safety } : {}),
  }
}

export function storageData(turn: Turn): EventPayloads['storage'] {
  return { stored: true, sessionId: turn.sessionId, turnId: turn.turnId }
}

export const CANCELLED: ErrorData = { code: 'cancelled', message: 'The turn was cancelled', retryable: false }

export const INTERRUPTED: ErrorData = {
  code: 'interrupted', message: 'The server writing this reply stopped; please send the message again', retryable: true,
}

/** The finishReason of a turn another instance stored for its dead one: its clientTurnId may run anew. */
export const INTERRUPTED_REASON = 'interrupted'

function endedWithoutReply(turn: Turn): ErrorData {
  if (turn.status === 'cancelled') return CANCELLED
  if (turn.finishReason === INTERRUPTED_REASON) return INTERRUPTED
  return { code: 'upstream_failed', message: 'The turn failed before it was complete', retryable: true }
}

/**
 * The session a first turn opens, as saveTurn stores it with the turn (which brings the counts).
 * Passing it for a turn whose session is stored already only adds the turn's counts to it.
 */
export function firstTurnSession(turn: Turn): Session {
  return {
    sessionId: turn.sessionId, userId: turn.userId, animalId: turn.animalId, createdAt: turn.createdAt,
    updatedAt: turn.createdAt, messageCount: 0, totalTokens: 0, totalLatencyMs: 0,
  }
}
