// The analytics storage port: one record of counters per animal per day, grown only by atomic
// additions. Adapters: src/storage/analytics-dynamo.ts (one UpdateItem per turn) and
// src/storage/analytics-memory.ts. What the counters mean is decided in counters.ts alone.

/** What one stored turn adds to its animal's day. */
export interface DayIncrement {
  /** Counter name to amount (every amount > 0). */
  counters: Record<string, number>
  /** Elements to add to the day's distinct-visitor sketch (a set union). */
  sketch: number[]
}

export interface DayRecord {
  animalId: string
  /** YYYY-MM-DD (UTC). */
  day: string
  counters: Record<string, number>
  sketch: number[]
}

export interface AnalyticsStore {
  /** Adds to the animal's day atomically: concurrent adds all count, each once. */
  add(animalId: string, day: string, increment: DayIncrement): Promise<void>
  /** The animal's days from `from` to `to` (inclusive), oldest first; days without turns are absent. */
  days(animalId: string, from: string, to: string): Promise<DayRecord[]>
}
