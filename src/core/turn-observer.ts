// The engine's one outward port for what happens after a turn: analytics and telemetry observe
// turns through it, never from inside the stream. Observers run after the turn's last event
// has been emitted (on a later tick), so they cannot slow a reply; their errors are logged.
import type { Animal, Turn } from './types.ts'

/** Moments of a turn, in epoch milliseconds (fractional). */
export interface TurnTiming {
  /** The request reached the engine. */
  startedAt: number
  /** The model was asked; absent when it never was. */
  modelStartedAt?: number
  /** Its first chunk of text arrived; absent when none did. */
  firstChunkAt?: number
  /** Its stream ended (finished, failed or aborted); absent when it was never asked. */
  modelEndedAt?: number
  /** The turn was stored (or its storing failed). */
  endedAt: number
}

/** What the engine knows about a turn when it ends, besides the turn itself. */
export interface TurnEnding {
  animal: Animal
  /** This turn created its session: it is the session's first turn. */
  newSession: boolean
  /** False when the turn could not be saved: then it is in neither history nor analytics. */
  stored: boolean
  timing: TurnTiming
}

export type TurnEndObserver = (turn: Readonly<Turn>, ending: TurnEnding) => void
