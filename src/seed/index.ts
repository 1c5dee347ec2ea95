// The animals seeded at start-up: each one's fields (animals.json) with what the offline
// responder knows and says in each language (knowledge/<animalId>.json).
import { readFileSync } from 'node:fs'
import type { Animal } from '../core/types.ts'
import base from './animals.json' with { type: 'json' }

function knowledgeOf(animalId: string): Animal['knowledge'] {
  const file = new URL(`./knowledge/${animalId}.json`, import.meta.url)
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Animal['knowledge']
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** A fresh copy each call: callers may change what they get. */
export function seedAnimals(): Animal[] {
  return (base as Animal[]).map((animal) => {
    const knowledge = knowledgeOf(animal.animalId)
    return knowledge ? { ...animal, knowledge } : { ...animal }
  })
}
