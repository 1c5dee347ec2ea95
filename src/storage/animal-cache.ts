// Animals are read on every turn and change only when an admin edits one (PUT /animals): the
// stores hand out one frozen copy per version instead of a fresh read and copy per turn, and the
// system prompt built from it is kept with it (src/core/prompt.ts caches by object).
import type { Animal } from '../core/types.ts'

/** Freezes an animal and everything in it: a shared read-only value that no caller can change. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

/**
 * The animals this instance read lately, for `ttlMs`: an edit made here is seen at once (put()
 * replaces the entry); one made by another instance sharing the table within `ttlMs`. Unknown
 * ids are not remembered, so a new animal is found on its first turn.
 */
export class AnimalCache {
  readonly #ttlMs: number
  readonly #entries = new Map<string, { animal: Animal; expiresAt: number }>()

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs
  }

  async get(animalId: string, read: () => Promise<Animal | undefined>): Promise<Animal | undefined> {
    const entry = this.#entries.get(animalId)
    if (entry && entry.expiresAt > Date.now()) return entry.animal
    const animal = await read()
    if (!animal) {
      this.#entries.delete(animalId)
      return undefined
    }
    this.#entries.set(animalId, { animal: deepFreeze(animal), expiresAt: Date.now() + this.#ttlMs })
    return animal
  }

  /** Forgets an animal this instance just wrote, so its next read sees the write. */
  forget(animalId: string): void {
    this.#entries.delete(animalId)
  }
}
