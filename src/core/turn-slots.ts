// The per-user concurrent-turn cap (MAX_CONCURRENT_TURNS_PER_USER): one slot per running turn.
// Taking a slot checks and takes in one step, so turns started at the same moment can never
// together exceed the cap (no check-then-await race). In memory here (one instance); shared by
// every instance through Redis in src/limits/redis-turn-slots.ts.

export interface TurnSlots {
  /** Takes a slot for `turnId` unless `userId` already holds `limit`; false when refused. */
  acquire(userId: string, turnId: string, limit: number): Promise<boolean>
  /** Gives the turn's slot back; a slot not held is ignored. */
  release(userId: string, turnId: string): void
  close(): Promise<void>
}

export class MemoryTurnSlots implements TurnSlots {
  /** The turnIds holding a slot, per user. */
  readonly #held = new Map<string, Set<string>>()

  // Synchronous up to its result: nothing runs between the count and the take.
  async acquire(userId: string, turnId: string, limit: number): Promise<boolean> {
    const turns = this.#held.get(userId) ?? new Set<string>()
    if (turns.size >= limit && !turns.has(turnId)) return false
    turns.add(turnId)
    this.#held.set(userId, turns)
    return true
  }

  release(userId: string, turnId: string): void {
    const turns = this.#held.get(userId)
    if (!turns?.delete(turnId)) return
    if (turns.size === 0) this.#held.delete(userId)
  }

  async close(): Promise<void> {}
}
