// The storage side of turns whose instance died (the Redis hub adopts them): replay a stored
// turn, or store the partial reply of one that was never stored as `failed` (interrupted).
import { createEvent, type TurnEvent } from './events.ts'
import type { Log } from './log.ts'
import type { StoragePort, TurnArchive } from './ports.ts'
import { firstTurnSession, INTERRUPTED, INTERRUPTED_REASON, storedTurnEvents } from './stored-turn.ts'
import type { Turn } from './types.ts'

export class StorageTurnArchive implements TurnArchive {
  readonly #storage: StoragePort
  readonly #log: Log

  constructor(storage: StoragePort, log: Log) {
    this.#storage = storage
    this.#log = log
  }

  async storedEvents(turnId: string): Promise<TurnEvent[] | undefined> {
    const turn = await this.#storage.getTurn(turnId)
    if (!turn) return undefined
    const animal = await this.#storage.getAnimal(turn.animalId)
    return storedTurnEvents(turn, animal?.name ?? turn.animalId)
  }

  async endOrphan(draft: Turn, partialReply: string, nextSeq: number): Promise<{ events: TurnEvent[]; storedBefore: boolean }> {
    let stored: TurnEvent[] | undefined
    try {
      stored = await this.storedEvents(draft.turnId)
    } catch (err) {
      // Storage is down: the followers still get their end; storing below fails the same way.
      this.#log.warn({ err, turnId: draft.turnId }, 'could not tell whether an interrupted turn was stored')
    }
    // Stored a moment before its instance died: served as stored, never stored twice.
    if (stored) return { events: stored.filter((event) => event.seq >= nextSeq), storedBefore: true }
    const turn: Turn = {
      ...draft, reply: partialReply, status: 'failed', finishReason: INTERRUPTED_REASON, endSeq: nextSeq,
      latencyMs: Math.max(0, Date.now() - Date.parse(draft.createdAt)),
    }
    try {
      // Its session may not be stored yet (a first turn): it is stored with the turn, or just counted.
      await this.#storage.saveTurn(turn, firstTurnSession(turn))
    } catch (err) {
      this.#log.error({ err, turnId: turn.turnId }, 'partial reply of an interrupted turn not stored')
    }
    return { events: [createEvent(turn.turnId, nextSeq, 'error', INTERRUPTED)], storedBefore: false }
  }
}
